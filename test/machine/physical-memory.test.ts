/** PhysicalMemory: the user's frames are the user's, the VMM's are refused; a disposed machine refuses everything; host allocation failures are typed. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Machine, VmmError } from '../../src/index.js';
import { nativeAvailable } from '../../src/core/native-core.js';
import { BACKENDS } from '../backends.js';

const code = (c: string) => expect.objectContaining({ name: 'VmmError', code: c });

describe.each(BACKENDS)('physical memory ownership (%s)', (backend) => {
  it('frames of the VMM (root, page tables, zero page, mapped data) are refused with EPERM; nothing changes', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const p = m.createAddressSpace();
    const a = p.mmap({ length: 8192, prot: 'rw' });
    p.read(a, 1); // a read fault maps the zero page
    p.write(a + 4096, [7]); // a write fault maps a fresh data frame
    const zero = p.translate(a)!.physical;
    const data = p.translate(a + 4096)!.physical;
    let pt = p.root;
    for (let level = 4; level > 1; level--) pt = (new DataView(m.physical.read(pt + (Math.floor(a / 2 ** (12 + 9 * (level - 1))) % 512) * 8, 4).buffer).getUint32(0, true) >>> 12) * 4096;
    for (const pa of [p.root, pt, zero, data]) {
      const before = m.physical.refCount(pa);
      const free = m.physical.freeFrames;
      expect(() => m.physical.freeFrame(pa)).toThrow(code('EPERM'));
      expect(() => m.physical.refFrame(pa)).toThrow(code('EPERM'));
      expect(m.physical.refCount(pa)).toBe(before);
      expect(m.physical.freeFrames).toBe(free);
    }
    expect([...p.read(a + 4096, 1)]).toEqual([7]);
    p.destroy(); // the root was not freed behind its back
    m.dispose();
  });

  it('the user frees exactly the references the user holds, also while the frame is mapped', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const p = m.createAddressSpace({ faults: 'raw' });
    const f = m.physical.allocFrame();
    expect(m.physical.refFrame(f)).toBe(2);
    p.mapPage(0x40_0000, f, { writable: true, user: true });
    expect(m.physical.refCount(f)).toBe(3);
    m.physical.freeFrame(f);
    m.physical.freeFrame(f);
    expect(m.physical.refCount(f)).toBe(1); // the mapping's
    expect(() => m.physical.freeFrame(f)).toThrow(code('EPERM'));
    p.write(0x40_0000, [5]);
    expect([...p.read(0x40_0000, 1)]).toEqual([5]);
    p.unmapPage(0x40_0000);
    expect(() => m.physical.freeFrame(f)).toThrow(code('EINVAL')); // free now
    const run = m.physical.allocFrames(2);
    m.physical.freeFrame(run + 4096);
    m.physical.freeFrame(run);
    expect(() => m.physical.freeFrame(0)).toThrow(code('EINVAL'));
    m.dispose();
  });

  it('after dispose() every physical call is a VmmError', () => {
    const m = new Machine({ memory: '4MiB', backend });
    const f = m.physical.allocFrame();
    m.dispose();
    const calls: Array<() => unknown> = [
      () => m.physical.allocFrame(),
      () => m.physical.allocFrames(1),
      () => m.physical.freeFrame(f),
      () => m.physical.refFrame(f),
      () => m.physical.refCount(f),
      () => m.physical.read(f, 1),
      () => m.physical.write(f, [1]),
      () => m.physical.freeFrames,
      () => m.physical.usedFrames,
      () => m.physical.totalFrames,
    ];
    for (const c of calls) expect(c).toThrow(VmmError);
  });
});

describe.skipIf(!nativeAvailable() || (process.env.LD_PRELOAD ?? '').includes('asan'))('host memory', () => {
  it('a reservation the host refuses is VmmError ENOMEM (native), under a small address-space limit', () => {
    const entry = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
    const script = `import('${entry}').then(({ Machine }) => { try { new Machine({ memory: '1TiB', backend: 'native' }); console.log('ok'); } catch (e) { console.log(e.name, e.code); } })`;
    const r = spawnSync('bash', ['-c', `ulimit -v 8000000; exec "${process.execPath}" -e "${script}"`], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('VmmError ENOMEM');
  });
});
