/**
 * The snapshot API's edges: what cannot be captured is refused naming where it is and changes
 * nothing; a released snapshot refuses to restore; Machine.from takes only snapshots;
 * processes() lists the live processes in creation order with their pids, in a restored machine
 * too; a restored machine is independent (writes on either side are not seen by the other);
 * a raw space's fault callback and onOomKill go with an in-memory snapshot.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Machine } from '../../src/system/machine.js';
import { Snapshot } from '../../src/snapshot/snapshot.js';
import { SnapshotError } from '../../src/snapshot/snapshot-error.js';
import { VmmError } from '../../src/errors.js';
import { BACKENDS } from '../backends.js';
import { thrown } from '../support/thrown.js';
import { tempDir } from '../support/temp-dir.js';
import type { ReclaimPolicy } from '../../src/reclaim/policy.js';

describe.each(BACKENDS)('snapshot API (%s)', (backend) => {
  it('processes() lists live processes in creation order with their pids, restored ones too', () => {
    using m = new Machine({ backend, memory: '8MiB' });
    const a = m.createAddressSpace();
    const b = m.createAddressSpace();
    const c = a.fork();
    m.createAddressSpace({ faults: 'raw' }); // not a process
    b.destroy();
    expect(m.processes()).toEqual([a, c]);
    expect(new Set([a.pid, b.pid, c.pid]).size).toBe(3);
    using s = m.snapshot();
    using r = s.restore();
    expect(r.processes().map((p) => p.pid)).toEqual([a.pid, c.pid]);
    // pids go on from where the original was: the next process of each gets the same one.
    expect(r.createAddressSpace().pid).toBe(m.createAddressSpace().pid);
  });

  it('the original and its restores are independent', () => {
    using m = new Machine({ backend, memory: '8MiB', cpus: 2 });
    const p = m.createAddressSpace();
    const a = p.mmap({ length: 8 * 4096, prot: 'rw' });
    p.write(a, [1]);
    using s = m.snapshot();
    using r1 = s.restore();
    using r2 = Machine.from(s);
    p.write(a, [2]);
    r1.processes()[0]!.write(a, [3]);
    expect([...p.read(a, 1)]).toEqual([2]);
    expect([...r1.processes()[0]!.read(a, 1)]).toEqual([3]);
    expect([...r2.processes()[0]!.read(a, 1)]).toEqual([1]);
    // Physical memory too: a frame written on one side only.
    const pa = p.translate(a)!.physical;
    r2.physical.write(pa + 8, [9]);
    expect([...m.physical.read(pa + 8, 1)]).toEqual([0]);
    m.dispose();
    expect([...r2.processes()[0]!.read(a + 8, 1)]).toEqual([9]);
  });

  it('a restored machine\'s CommitLimit counts its own swap, under vm.overcommit_memory 2', () => {
    using m = new Machine({ backend, memory: '8MiB', swap: { size: '4MiB' }, overcommit: { mode: 2 } });
    m.createAddressSpace().mmap({ length: 16 * 4096, prot: 'rw' });
    using s = m.snapshot();
    using r = s.restore();
    expect(r.commitInfo()).toEqual(m.commitInfo());
    // Half the RAM plus the swap (less its header page, as swapon counts it).
    expect(r.commitInfo().CommitLimit).toBe((8 * 1024) / 2 + 4 * 1024 - 4);
  });

  it('refuses what it cannot capture, naming it, and changes nothing', () => {
    const dir = tempDir('snapapi');
    using m = new Machine({ backend, memory: '8MiB' });
    const plugin = { name: 'mine', kind: 'ad-bits', insert() {}, remove() {}, select: () => [] } as unknown as ReclaimPolicy;
    const p = m.createAddressSpace({ residentLimit: 4, policy: plugin });
    p.write(p.mmap({ length: 4096, prot: 'rw' }), [1]);
    const before = m.stats();
    const e = thrown(() => m.snapshot());
    expect(e).toBeInstanceOf(SnapshotError);
    expect((e as SnapshotError).code).toBe('EINVAL');
    expect((e as Error).message).toMatch(/plug-in/);
    expect(m.stats()).toEqual(before);
    using f = new Machine({ backend, memory: '8MiB', swap: { size: '1MiB', file: join(dir, 'swap') } });
    expect((thrown(() => f.snapshot()) as Error).message).toMatch(/swap device is the file/);
    const d = new Machine({ backend, memory: '8MiB' });
    d.dispose();
    expect((thrown(() => d.snapshot()) as VmmError).code).toBe('EINVAL');
  });

  it('a released snapshot refuses to restore; Machine.from takes only snapshots', () => {
    using m = new Machine({ backend, memory: '8MiB' });
    const s = m.snapshot();
    expect(s).toBeInstanceOf(Snapshot);
    expect(s.backend).toBe(m.backend);
    expect(s.memoryBytes).toBe(8 * 2 ** 20);
    s.release();
    s.release();
    expect((thrown(() => s.restore()) as Error).message).toMatch(/released/);
    expect((thrown(() => Machine.from({} as never)) as VmmError).code).toBe('EINVAL');
  });

  it('an in-memory snapshot keeps the callbacks: a restored raw space calls the same onFault', () => {
    using m = new Machine({ backend, memory: '8MiB' });
    const seen: number[] = [];
    const raw = m.createAddressSpace({ faults: 'raw', onFault: (f) => void seen.push(f.address) });
    expect(() => raw.read(0x1000, 1)).toThrow();
    using s = m.snapshot();
    using r = s.restore();
    const rraw = r.addressSpaces().find((x) => !r.processes().includes(x as never))!;
    expect(() => rraw.read(0x2000, 1)).toThrow();
    expect(seen).toEqual([0x1000, 0x2000]);
  });
});
