/** The auditor itself: it passes on a sound machine and names each kind of broken invariant. */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from './invariants.js';

const PAGE = 4096;

describe.each(BACKENDS)('invariant auditor (%s)', (backend) => {
  const setup = () => {
    const m = new Machine({ memory: '16MiB', backend });
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 4 * PAGE, prot: 'rw' });
    s.write(a, [1]);
    s.read(a + PAGE, 1); // the zero page
    const c = s.fork();
    c.write(a, [2]);
    return { m, s, a };
  };

  it('passes on a machine in a sound state (fork, COW, zero page, THP, shared memory, raw pages)', () => {
    const { m, s } = setup();
    const shm = m.createSharedMemory('x', 2 * PAGE);
    const b = s.mmap({ length: 2 * PAGE, prot: 'rw', shared: true, object: shm });
    s.write(b + PAGE, [3]);
    const h = s.mmap({ length: 4 * 2 ** 21, prot: 'rw', hugePages: true });
    s.read(h + 2 ** 21, 1);
    s.write(h + 2 * 2 ** 21, [1]);
    const raw = m.createAddressSpace({ faults: 'raw' });
    const pa = m.physical.allocFrame();
    raw.mapPage(0x1000, pa, { writable: true, user: true });
    raw.write(0x1000, [1]);
    expect(() => auditMachine(m, [pa / PAGE])).not.toThrow();
  });

  it('names a frame whose reference count is not what holds it', () => {
    // The user's own frame, mapped once: held by the allocation and the entry. A reference
    // nobody accounts for (refFrame with no holder named to the auditor) must be reported.
    const { m } = setup();
    const raw = m.createAddressSpace({ faults: 'raw' });
    const pa = m.physical.allocFrame();
    raw.mapPage(0x1000, pa, { writable: true, user: true });
    expect(() => auditMachine(m, [pa / PAGE])).not.toThrow();
    m.physical.refFrame(pa);
    expect(() => auditMachine(m, [pa / PAGE])).toThrow(/reference count 3, but 2 holder/);
  });

  it('names a TLB entry more permissive than the tables (a PTE changed without invalidation)', () => {
    const { m, s, a } = setup();
    s.write(a + 8, [5]); // cached writable
    const t = s.walk(a);
    const leaf = t[t.length - 1]!;
    const entry = leaf.entry & ~2n; // clear RW behind the TLB's back
    const bytes = new Uint8Array(8);
    for (let i = 0; i < 8; i++) bytes[i] = Number((entry >> BigInt(8 * i)) & 0xffn);
    m.physical.write(leaf.entryAddress, bytes);
    expect(() => auditMachine(m)).toThrow(/translates what the page tables do not/);
  });

  it('names regions that overlap', () => {
    const { m, s } = setup();
    // A node added behind the map's back (its private add checks nothing): the checker must name it.
    const first = [...s.vm.regions][0]!;
    (s.vm.regions as unknown as { add(r: typeof first): void }).add({ ...first, start: first.end - PAGE, end: first.end + PAGE });
    expect(() => auditMachine(m)).toThrow(/overlap/);
  });

  it('names a page mapped outside every region, and a tracked page that is not present', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB' } });
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 4 * PAGE, prot: 'rw' });
    s.write(a, [1]);
    s.write(a + PAGE, [1]);
    expect(() => auditMachine(m)).not.toThrow();
    s.vm.regions.remove(a, a + PAGE); // the region goes behind the VMM's back, its page stays
    expect(() => auditMachine(m)).toThrow(/lies in no region/);
    s.vm.pages.unmap(a + PAGE, 1); // a tracked page unmapped behind the resident set's back
    s.vm.pages.invalidate(a + PAGE, 1);
    s.vm.regions.remove(a + PAGE, a + 4 * PAGE);
    s.vm.pages.unmap(a, 1);
    s.vm.pages.invalidate(a, 1);
    expect(() => auditMachine(m)).toThrow(/tracked page .* is not present/);
  });
});
