/** Each test states what Linux does for the same calls (no ASLR) and checks vmsim does the same. */
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../backends.js';
import { Machine, SegmentationFault } from '../../src/index.js';

const PAGE = 4096;
const MMAP_BASE = 0x7ffff7fff000; // TASK_SIZE - 128 MiB: Linux's mmap_base with RLIMIT_STACK 8 MiB
const code = (c: string) => expect.objectContaining({ code: c });
const segv = (cause: string, access?: string) => expect.objectContaining({ name: 'SegmentationFault', cause, ...(access ? { access } : {}) });

describe.each(BACKENDS)('VMM with Linux semantics (%s)', (backend) => {
  const mk = () => {
    const m = new Machine({ memory: '64MiB', backend });
    return { m, s: m.createAddressSpace() };
  };
  const mine = (s: ReturnType<Machine['createAddressSpace']>) => s.regions().filter((r) => r.kind !== 'stack');

  it('places anonymous mappings top-down below mmap_base and merges adjacent ones', () => {
    const { s } = mk();
    const a = s.mmap({ length: PAGE, prot: 'rw' });
    expect(a).toBe(MMAP_BASE - PAGE);
    const b = s.mmap({ length: 3 * PAGE, prot: 'rw' });
    expect(b).toBe(a - 3 * PAGE);
    expect(mine(s)).toEqual([{ start: b, end: a + PAGE, prot: 'rw-', kind: 'mmap', shared: false, backing: { type: 'anonymous' } }]);
    const c = s.mmap({ length: PAGE, prot: 'r' }); // different protection: a separate VMA
    expect(mine(s).map((r) => r.prot)).toEqual(['r--', 'rw-']);
    expect(c).toBe(b - PAGE);
  });

  it('uses a free hint, and falls back to top-down when the hint is taken', () => {
    const { s } = mk();
    expect(s.mmap({ addr: 0x10000000, length: PAGE, prot: 'r' })).toBe(0x10000000);
    expect(s.mmap({ addr: 0x10000000, length: PAGE, prot: 'r' })).toBe(MMAP_BASE - PAGE);
    expect(s.mmap({ addr: 0x20000123, length: 10, prot: 'r' })).toBe(0x20000000);
  });

  it('splits on partial munmap and on mprotect, and merges back', () => {
    const { s } = mk();
    const a = s.mmap({ length: 3 * PAGE, prot: 'rw' });
    s.mprotect(a + PAGE, PAGE, 'r');
    expect(mine(s).map((r) => [r.start - a, r.end - a, r.prot])).toEqual([
      [0, PAGE, 'rw-'],
      [PAGE, 2 * PAGE, 'r--'],
      [2 * PAGE, 3 * PAGE, 'rw-'],
    ]);
    s.mprotect(a + PAGE, PAGE, 'wr');
    expect(mine(s).length).toBe(1);
    s.munmap(a + PAGE, PAGE);
    expect(mine(s).map((r) => [r.start - a, r.end - a])).toEqual([
      [0, PAGE],
      [2 * PAGE, 3 * PAGE],
    ]);
    s.munmap(a, 10 * PAGE); // holes are fine
    expect(mine(s)).toEqual([]);
  });

  it('returns Linux errno values and changes nothing on failure', () => {
    const { s } = mk();
    const a = s.mmap({ length: 2 * PAGE, prot: 'rw' });
    const before = s.maps();
    expect(() => s.mmap({ length: 0, prot: 'r' })).toThrow(code('EINVAL'));
    expect(() => s.mmap({ addr: 0x10000001, length: PAGE, prot: 'r', fixed: true })).toThrow(code('EINVAL'));
    expect(() => s.mmap({ addr: 0x7ffffffff000, length: 2 * PAGE, prot: 'r', fixed: true })).toThrow(code('ENOMEM'));
    expect(() => s.mmap({ addr: 0x1000, length: PAGE, prot: 'r', fixed: true })).toThrow(code('EPERM'));
    expect(() => s.mmap({ addr: a, length: PAGE, prot: 'r', noReplace: true })).toThrow(code('EEXIST'));
    expect(() => s.mmap({ length: PAGE, prot: 'rwz' })).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/prot/) }));
    expect(() => s.mmap({ length: 2 ** 48, prot: 'r' })).toThrow(code('ENOMEM'));
    expect(() => s.mmap({ length: PAGE, prot: 'r', bogus: 1 } as never)).toThrow(expect.objectContaining({ message: expect.stringMatching(/bogus/) }));
    expect(() => s.mprotect(a - 2 * PAGE, 4 * PAGE, 'r')).toThrow(code('ENOMEM')); // starts in a hole: nothing changes
    expect(() => s.mprotect(a + 1, PAGE, 'r')).toThrow(code('EINVAL'));
    expect(() => s.munmap(a + 1, PAGE)).toThrow(code('EINVAL'));
    expect(() => s.munmap(a, 0)).toThrow(code('EINVAL'));
    expect(() => s.munmap(2 ** 47, PAGE)).toThrow(code('EINVAL'));
    expect(s.maps()).toBe(before);
    s.mprotect(a, 0, 'r'); // len 0 is a no-op success
    expect(s.maps()).toBe(before);
  });

  it('MAP_FIXED replaces what was there (fresh zero pages)', () => {
    const { s } = mk();
    const a = s.mmap({ length: 2 * PAGE, prot: 'rw' });
    s.write(a, [42]);
    expect(s.mmap({ addr: a, length: PAGE, prot: 'rw', fixed: true, name: 'new' })).toBe(a);
    expect([...s.read(a, 1)]).toEqual([0]);
    expect(mine(s).map((r) => r.name)).toEqual(['new', undefined]);
  });

  it('demand paging: a read maps the zero page, a write gets a frame; both are minor faults', () => {
    const { m, s } = mk();
    const a = s.mmap({ length: 4 * PAGE, prot: 'rw' });
    const free0 = m.physical.freeFrames;
    expect([...s.read(a, 4)]).toEqual([0, 0, 0, 0]);
    const afterRead = m.physical.freeFrames;
    expect(free0 - afterRead).toBe(3); // PDPT, PD and PT; the data is the shared zero page
    s.write(a, [1]);
    expect(afterRead - m.physical.freeFrames).toBe(1);
    expect(s.stats().faults).toMatchObject({ minor: 2, cow: 0 });
    s.write(a + PAGE, [1]); // straight write fault: one minor fault
    expect(s.stats().faults.minor).toBe(3);
    expect(s.stats().residentPages).toBe(2);
  });

  it('MAP_POPULATE maps every page at once, each counted as the minor fault the kernel takes for it (GUP faults count in min_flt)', () => {
    const { s } = mk();
    const a = s.mmap({ length: 8 * PAGE, prot: 'rw', populate: true });
    expect(s.stats().residentPages).toBe(8);
    expect(s.stats().faults.minor).toBe(8);
    s.write(a + 7 * PAGE, [1]);
    expect(s.stats().faults.minor).toBe(8);
  });

  it('MAP_POPULATE of private read-only memory maps the zero page: reads fault no more, and RSS leaves the zero page out', () => {
    const { s } = mk();
    const a = s.mmap({ length: 4 * PAGE, prot: 'r', populate: true });
    expect(s.stats().faults.minor).toBe(4);
    expect(s.stats().residentPages).toBe(0);
    expect(s.read(a + 3 * PAGE, 1)[0]).toBe(0);
    expect(s.stats().faults.minor).toBe(4);
    expect(s.translate(a)!.software.cow).toBe(true);
  });

  it('MAP_POPULATE of a shared mapping maps the object pages, visible to a second mapper', () => {
    const { m, s } = mk();
    const shm = m.createSharedMemory('pop', 8 * PAGE);
    const free0 = m.physical.freeFrames;
    const a = s.mmap({ length: 8 * PAGE, prot: 'rw', shared: true, object: shm, populate: true });
    expect(s.stats()).toMatchObject({ residentPages: 8, sharedPages: 8 });
    expect(shm.residentPages).toBe(8);
    expect(free0 - m.physical.freeFrames).toBe(8 + 3); // the object's pages and three page tables
    s.write(a + 5 * PAGE, [3]);
    expect(s.stats().faults.minor).toBe(8); // one read fault a page (GUP does not write shared memory), the write none
    const q = m.createAddressSpace();
    const b = q.mmap({ length: 8 * PAGE, prot: 'r', shared: true, object: shm });
    expect([...q.read(b + 5 * PAGE, 1)]).toEqual([3]);
  });

  it('reports SIGSEGV causes: MAPERR where nothing is mapped, ACCERR where the region forbids it', () => {
    const { s } = mk();
    const ro = s.mmap({ length: PAGE, prot: 'r' });
    const none = s.mmap({ length: PAGE, prot: 'none' });
    const rw = s.mmap({ length: PAGE, prot: 'rw' });
    expect(() => s.read(0x12345000, 1)).toThrow(segv('SEGV_MAPERR', 'read'));
    expect(() => s.write(ro, [1])).toThrow(segv('SEGV_ACCERR', 'write'));
    expect(() => s.read(none, 1)).toThrow(segv('SEGV_ACCERR', 'read'));
    expect(() => s.access(rw, 'execute')).toThrow(segv('SEGV_ACCERR', 'execute'));
    expect(() => s.read(-(2 ** 47), 1)).toThrow(segv('SEGV_MAPERR'));
    let e: unknown;
    try {
      s.write(ro + 8, [1]);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(SegmentationFault);
    expect((e as SegmentationFault).address).toBe(ro + 8);
    expect(s.stats().faults.segv).toBe(6);
    expect([...s.read(ro, 1)]).toEqual([0]); // the failed write had no effect
  });

  it('fork: COW isolates private pages, counts copies and in-place reuse', () => {
    const { m, s: parent } = mk();
    const a = parent.mmap({ length: 2 * PAGE, prot: 'rw' });
    parent.write(a, [1]);
    parent.write(a + PAGE, [2]);
    const child = parent.fork();
    expect([...child.read(a, 1)]).toEqual([1]);
    child.write(a, [10]); // frame shared by two: copied
    expect([...parent.read(a, 1)]).toEqual([1]);
    expect([...child.read(a, 1)]).toEqual([10]);
    expect(child.stats().faults).toMatchObject({ cow: 1, cowCopied: 1, cowReused: 0 });
    parent.write(a, [5]); // the child has its own copy now: the parent's frame has one owner, reused
    expect(parent.stats().faults).toMatchObject({ cow: 1, cowCopied: 0, cowReused: 1 });
    child.destroy();
    parent.write(a + PAGE, [7]); // child gone: reused in place
    expect(parent.stats().faults).toMatchObject({ cow: 2, cowReused: 2 });
    expect([...parent.read(a + PAGE, 1)]).toEqual([7]);
    expect(m.stats().faults.cow).toBe(3);
  });

  it('hugePages (THP): a fault maps a whole 2 MiB page where an aligned block fits; COW splits it; edges fall back to 4 KiB', () => {
    const { m, s } = mk();
    const HUGE = 2 ** 21;
    const a = s.mmap({ addr: 0x4000_0000, length: 2 * HUGE + PAGE, prot: 'rw', fixed: true, hugePages: true });
    expect(s.regions().find((r) => r.start === a)).toMatchObject({ hugePages: true, prot: 'rw-' });
    const used = m.physical.usedFrames;
    s.write(a + 5 * PAGE, [1]); // one fault maps the whole block
    expect(s.translate(a + 5 * PAGE)!.pageSize).toBe(HUGE);
    expect(s.stats()).toMatchObject({ residentPages: 512, faults: expect.objectContaining({ minor: 1 }) });
    expect(m.physical.usedFrames - used).toBeGreaterThanOrEqual(512);
    s.read(a + 100 * PAGE, 1); // same huge page: no fault
    expect(s.stats().faults.minor).toBe(1);
    s.write(a + 2 * HUGE, [3]); // the last page: no aligned block fits in the region, a 4 KiB page
    expect(s.translate(a + 2 * HUGE)!.pageSize).toBe(PAGE);
    const child = s.fork();
    child.write(a + 5 * PAGE, [9]); // COW on a huge page: split, then one 4 KiB copy
    expect([...s.read(a + 5 * PAGE, 1)]).toEqual([1]);
    expect([...child.read(a + 5 * PAGE, 1)]).toEqual([9]);
    expect(child.translate(a + 5 * PAGE)!.pageSize).toBe(PAGE);
    expect(child.stats().faults).toMatchObject({ cow: 1, cowCopied: 1 });
    expect(() => s.mmap({ length: PAGE, prot: 'rw', hugePages: 'yes' as never })).toThrow(/hugePages must be a boolean/);
    // Regions with and without huge pages do not merge.
    const b = s.mmap({ addr: a + 2 * HUGE + PAGE, length: PAGE, prot: 'rw', fixed: true });
    expect(s.regions().filter((r) => r.start === a || r.start === b)).toHaveLength(2);
  });

  it('fork keeps shared mappings shared', () => {
    const { s: parent } = mk();
    const a = parent.mmap({ length: PAGE, prot: 'rw', shared: true });
    parent.write(a, [1]);
    const child = parent.fork();
    child.write(a, [2]);
    expect([...parent.read(a, 1)]).toEqual([2]);
    parent.write(a, [3]);
    expect([...child.read(a, 1)]).toEqual([3]);
    expect(parent.stats().sharedPages).toBe(1);
  });

  it('shared memory objects are visible across spaces and freed with the last mapping and the name', () => {
    const { m } = mk();
    const free0 = m.physical.freeFrames;
    const shm = m.createSharedMemory('buf', 2 * PAGE);
    const p = m.createAddressSpace();
    const q = m.createAddressSpace();
    const pa = p.mmap({ length: 2 * PAGE, prot: 'rw', shared: true, object: shm });
    const qa = q.mmap({ addr: 0x40000000, length: PAGE, prot: 'r', shared: true, object: shm, offset: PAGE });
    p.write(pa + PAGE + 3, [99]);
    expect([...q.read(qa + 3, 1)]).toEqual([99]);
    expect(p.maps()).toMatch(/rw-s 00000000 00:01 \d+ +\/dev\/shm\/buf\n/);
    expect(() => m.createSharedMemory('buf', PAGE)).toThrow(code('EEXIST'));
    p.destroy();
    shm.unlink();
    expect([...q.read(qa + 3, 1)]).toEqual([99]);
    expect(q.maps()).toMatch(/\/dev\/shm\/buf \(deleted\)/);
    q.destroy();
    expect(m.physical.freeFrames).toBe(free0);
  });

  it('brk and sbrk grow and shrink the heap; growing into a mapping fails and changes nothing', () => {
    const { s } = mk();
    const base = s.brk();
    expect(s.sbrk(3 * PAGE)).toBe(base);
    expect(s.brk()).toBe(base + 3 * PAGE);
    s.write(base + 2 * PAGE, [1]);
    expect(s.regions().find((r) => r.kind === 'heap')).toMatchObject({ start: base, end: base + 3 * PAGE, prot: 'rw-' });
    s.brk(base + PAGE + 1); // shrink: pages above the rounded break go
    expect(s.regions().find((r) => r.kind === 'heap')!.end).toBe(base + 2 * PAGE);
    expect(s.stats().residentPages).toBe(0);
    s.mmap({ addr: base + 4 * PAGE, length: PAGE, prot: 'r', fixed: true });
    const maps = s.maps();
    expect(() => s.sbrk(4 * PAGE)).toThrow(code('ENOMEM'));
    expect(s.brk()).toBe(base + PAGE + 1);
    expect(s.maps()).toBe(maps);
    expect(() => s.brk(base - PAGE)).toThrow(code('ENOMEM'));
  });

  it('the stack grows down on a fault below it, up to its limit', () => {
    const m = new Machine({ memory: '64MiB', backend });
    const s = m.createAddressSpace({ stackLimit: 1 << 20 });
    const stack = s.regions().find((r) => r.kind === 'stack')!;
    expect(stack.end).toBe(0x7ffffffff000);
    s.write(stack.start - 10 * PAGE, [1]);
    expect(s.regions().find((r) => r.kind === 'stack')!.start).toBe(stack.start - 10 * PAGE);
    expect(() => s.write(stack.end - (1 << 20) - PAGE, [1])).toThrow(segv('SEGV_MAPERR'));
  });

  it('prints /proc/PID/maps like Linux', () => {
    const { s } = mk();
    s.mmap({ length: PAGE, prot: 'rx', name: 'jit' });
    s.sbrk(PAGE);
    expect(s.maps()).toBe(
      '555555559000-55555555a000 rw-p 00000000 00:00 0                          [heap]\n' +
        '7ffff7ffe000-7ffff7fff000 r-xp 00000000 00:00 0                          [anon:jit]\n' +
        '7ffffffdf000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n',
    );
  });

  it('createRegion/destroyRegion/findRegion/allocVirtual/freeVirtual', () => {
    const { s } = mk();
    const r = s.createRegion({ start: 0x400000, length: 3 * PAGE, prot: 'rx', kind: 'code', name: '/bin/demo' });
    expect(r).toMatchObject({ start: 0x400000, end: 0x403000, prot: 'r-x', kind: 'code', name: '/bin/demo' });
    expect(s.findRegion(0x401234)).toMatchObject({ start: 0x400000 });
    expect(() => s.createRegion({ start: 0x402000, length: PAGE, prot: 'r', kind: 'data' })).toThrow(code('EEXIST'));
    expect(() => s.createRegion({ start: 0x500000, length: PAGE, prot: 'r', kind: 'kernel' })).toThrow(code('EINVAL'));
    expect(() => s.createRegion({ start: 0x500000, length: 0, prot: 'r', kind: 'data' })).toThrow(code('EINVAL'));
    s.destroyRegion(0x401000);
    expect(s.findRegion(0x401234)).toBeUndefined();
    expect(() => s.destroyRegion(0x401000)).toThrow(code('ENOENT'));
    const v = s.allocVirtual(10000, 'rw');
    expect(s.findRegion(v)!.end - v).toBe(3 * PAGE);
    expect(() => s.freeVirtual(v + PAGE)).toThrow(code('EINVAL'));
    s.freeVirtual(v);
    expect(s.findRegion(v)).toBeUndefined();
  });

  it('destroying a parent before its child frees exactly the unshared frames', () => {
    const { m } = mk();
    const free0 = m.physical.freeFrames;
    const p = m.createAddressSpace();
    const a = p.mmap({ length: 16 * PAGE, prot: 'rw', populate: true });
    for (let i = 0; i < 16; i++) p.write(a + i * PAGE, [i]);
    const c = p.fork();
    p.destroy();
    for (let i = 0; i < 16; i++) expect([...c.read(a + i * PAGE, 1)]).toEqual([i]);
    c.write(a, [100]); // sole owner now: reused, not copied
    expect(c.stats().faults).toMatchObject({ cowReused: 1, cowCopied: 0 });
    c.destroy();
    expect(m.physical.freeFrames).toBe(free0);
  });
});
