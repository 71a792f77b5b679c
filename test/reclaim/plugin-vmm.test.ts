/** User policies through the VMM, a misbehaving one, and the two backends agreeing under pressure. */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/system/machine.js';
import { runReferenceString } from '../../src/replay/reference-run.js';
import { replay } from '../../src/replay/replay.js';
import { packRecord } from '../../src/trace/trace-record.js';
import type { ReclaimPolicy } from '../../src/reclaim/policy.js';
import { VmmError } from '../../src/errors.js';
import { nativeAvailable } from '../../src/core/native-core.js';

/** A user's FIFO: the smallest useful plug-in. */
function myFifo(bug = false): ReclaimPolicy {
  const q: number[] = [];
  return {
    name: 'my-fifo',
    kind: 'ad-bits',
    get size() {
      return q.length;
    },
    insert: (k) => void q.push(k),
    remove: (k) => void q.splice(q.indexOf(k), 1),
    select(count, _bits, out) {
      let n = 0;
      while (n < count && q.length) out[n++] = bug ? 12345 : q.shift()!;
      return n;
    },
  };
}

describe('user policies through the VMM', () => {
  it('a plug-in FIFO gives the built-in FIFO table', () => {
    const refs = '7,0,1,2,0,3,0,4,2,3,0,3,2,1,2,0,1,7,0,1';
    const mine = runReferenceString(refs, { frames: 3, policy: myFifo() });
    const builtin = runReferenceString(refs, { frames: 3, policy: 'fifo' });
    expect(mine.steps).toEqual(builtin.steps);
    expect(mine.policy).toBe('my-fifo');
  });

  it('a plug-in that names a page it was not given is an EINVAL at the fault, and the process is unharmed', () => {
    const m = new Machine({ memory: '16MiB', swap: { size: '1MiB' } });
    const s = m.createAddressSpace({ residentLimit: 2, policy: myFifo(true) });
    const b = s.mmap({ length: 4 * 4096, prot: 'rw' });
    s.write(b, [1]);
    s.write(b + 4096, [2]);
    expect(() => s.write(b + 8192, [3])).toThrow(VmmError);
    expect(() => s.write(b + 8192, [3])).toThrow(/policy 'my-fifo': select chose page 12345, which it was not given/);
    expect([s.read(b, 1)[0], s.read(b + 4096, 1)[0]]).toEqual([1, 2]);
    expect(s.reclaimStats()).toMatchObject({ VmRSS: 2, VmSwap: 0 });
    m.dispose();
  });

  it('one plug-in object cannot serve a fork child', () => {
    const m = new Machine({ memory: '16MiB', swap: { size: '1MiB' } });
    const s = m.createAddressSpace({ residentLimit: 2, policy: myFifo() });
    expect(() => s.fork()).toThrow(/a child needs its own/);
    m.dispose();
  });

  it('createAddressSpace refuses bad limits and policies', () => {
    const m = new Machine({ memory: '16MiB', swap: { size: '1MiB' } });
    expect(() => m.createAddressSpace({ residentLimit: 0 })).toThrow(/residentLimit must be a positive whole number/);
    expect(() => m.createAddressSpace({ residentLimit: -5 })).toThrow(VmmError);
    expect(() => m.createAddressSpace({ residentLimit: 2, policy: 'mru' as never })).toThrow(/unknown policy string "mru"/);
    expect(() => m.createAddressSpace({ policy: 'lru' })).toThrow(/options.policy needs options.residentLimit/);
    expect(() => m.createAddressSpace({ residentLimit: 2, policy: 'opt' })).toThrow(/'opt' needs future/);
    expect(() => m.createAddressSpace({ residentLimit: 2, flushAccessed: 'yes' as never })).toThrow(/flushAccessed must be a boolean/);
    expect(m.addressSpaces()).toHaveLength(0);
    m.dispose();
  });
});

describe.skipIf(!nativeAvailable())('backends agree under pressure', () => {
  it('replay results are identical on native and js for every A/D and every-reference policy', async () => {
    const n = 4000;
    const words = new Uint32Array(n * 2);
    let st = 5;
    for (let i = 0; i < n; i++) {
      st = (Math.imul(st, 1664525) + 1013904223) >>> 0;
      const page = (st >>> 20) % 40;
      packRecord(words, i, 0x10_0000_0000 + page * 4096 + 16, (st >>> 9) & 1, 8);
    }
    for (const policy of ['clock', 'nru', 'aging', 'wsclock', 'linux', 'mglru', 'random', 'lru', 'lfu', '2q', 'arc'] as const) {
      const run = async (backend: 'js' | 'native') => {
        const { timeMs: _t, nsPerAccess: _n, backend: _b, ...rest } = await replay([{ words, count: n }], { backend, frames: 12, policy, swap: { size: '1MiB', zswap: true } });
        return rest;
      };
      expect(await run('native')).toEqual(await run('js'));
    }
  });
});
