/**
 * The process's memory calls as vmsim models them, on both backends: bad inputs are Linux's
 * errno with nothing changed (regions, frames, counters); mremap keeps contents, swap entries,
 * COW sharing and the resident count; exec and vfork; resource limits and overcommit; ASLR;
 * MADV_FREE until reclaim, MADV_WILLNEED, MADV_COLLAPSE. The machine auditor runs after each.
 * (What the kernel itself does, step for step, is in linux-programs.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { Machine, MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, VmmError, type AddressSpace } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';
import { exhaustFrames } from '../support/exhaust-frames.js';
import { runLinuxProbe } from '../support/linux-probe.js';

const PG = 4096;
const HUGE = 2 ** 21;

/**
 * Where Linux x86-64 (randomize_va_space 2, RLIMIT_STACK 8 MiB) puts a new image's pieces:
 * the stack's top 22 bits of pages below STACK_TOP (randomize_stack_top); mmap_base 28 bits of
 * pages below TASK_SIZE less the gap (RLIMIT_STACK + stack_guard_gap + the stack's largest
 * shift: mmap_base()); a PIE 28 bits of pages above ELF_ET_DYN_BASE; the heap within 1 GiB
 * above the program (arch_randomize_brk).
 */
const TASK = 2 ** 47 - PG;
const ASLR = {
  stack: [TASK - (2 ** 22 - 1) * PG, TASK],
  mmapBase: [TASK - (8 * 2 ** 20 + 2 ** 20 + (2 ** 22 - 1) * PG) - (2 ** 28 - 1) * PG, TASK - (8 * 2 ** 20 + 2 ** 20 + (2 ** 22 - 1) * PG)],
  pie: [0x555555554000, 0x555555554000 + (2 ** 28 - 1) * PG],
  brk: 2 ** 30,
} as const;
const within = (v: number, [lo, hi]: readonly [number, number]) => expect(v >= lo && v <= hi, `${v.toString(16)} in [${lo.toString(16)}, ${hi.toString(16)}]`).toBe(true);
const err = (code: string, re?: RegExp) => expect.objectContaining({ code, ...(re ? { message: expect.stringMatching(re) } : {}) });

/** Everything a refused call must leave as it was. */
function snapshot(m: Machine, s: AddressSpace): string {
  return JSON.stringify([s.maps(), s.stats(), m.physical.usedFrames, m.commitInfo(), s.getrlimit('RLIMIT_MEMLOCK')]);
}

describe.each(BACKENDS)('process memory calls (%s)', (backend) => {
  it('bad inputs of every new call: Linux’s errno, nothing changed', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 4 * PG, prot: 'rw' });
    s.write(a, [1]);
    const before = snapshot(m, s);
    const cases: Array<[() => unknown, string, RegExp?]> = [
      [() => s.madvise(a + 1, PG, 'MADV_DONTNEED'), 'EINVAL', /page-aligned/],
      [() => s.madvise(a, PG, 12345), 'EINVAL', /advice/],
      [() => s.madvise(a, PG, 'MADV_SOMETHING' as never), 'EINVAL', /advice/],
      [() => s.madvise(a, -1, 'MADV_DONTNEED'), 'EINVAL', /length/],
      [() => s.madvise(a, 2n ** 64n - 4096n, 'MADV_DONTNEED'), 'EINVAL', /wraps/],
      [() => s.mlock(a, 1.5), 'EINVAL', /length/],
      [() => s.mlock(2n ** 64n - 4096n, 8192), 'EINVAL', /wraps/],
      [() => s.mlock2(a, PG, 2), 'EINVAL', /MLOCK_ONFAULT/],
      [() => s.mlock2(a, PG, '1' as never), 'EINVAL', /flags/],
      [() => s.mlockall(0), 'EINVAL', /flags/],
      [() => s.mlockall(MCL_ONFAULT), 'EINVAL', /flags/],
      [() => s.mlockall(8), 'EINVAL', /flags/],
      [() => s.mremap(a + 1, PG, PG), 'EINVAL', /page-aligned/],
      [() => s.mremap(a, PG, 0), 'EINVAL', /new length/],
      [() => s.mremap(a, PG, PG, { flags: 8 }), 'EINVAL', /unknown flags/],
      [() => s.mremap(a, PG, PG, { fixed: true, newAddr: 0x1000_0000 }), 'EINVAL', /MAYMOVE/],
      [() => s.mremap(a, PG, 2 * PG, { mayMove: true, dontUnmap: true, newAddr: 0x1000_0000 }), 'EINVAL', /resize/],
      [() => s.mremap(a, PG, PG, { mayMove: true, fixed: true, newAddr: 0x1000_0001 }), 'EINVAL', /page-aligned/],
      [() => s.mremap(a, 2 * PG, 2 * PG, { mayMove: true, fixed: true, newAddr: a + PG }), 'EINVAL', /overlap/],
      [() => s.mremap(a, PG, PG, { mayMove: true, fixed: true, newAddr: 2 ** 47 }), 'EINVAL', /outside user space/],
      [() => s.mremap(0x1000_0000, PG, 2 * PG), 'EFAULT', /not mapped/],
      [() => s.mremap(a, 8 * PG, 10 * PG, { mayMove: true }), 'EFAULT', /past the end/],
      [() => s.mremap(a, PG, PG, { mayMove: 1 as never }), 'EINVAL', /boolean/],
      [() => s.mremap(a, PG, PG, { bogus: true } as never), 'EINVAL', /unknown option/],
      [() => s.mincore(a + 1, PG), 'EINVAL', /page-aligned/],
      [() => s.mincore(0x1000_0000, PG), 'ENOMEM', /not mapped/],
      [() => s.mincore(2 ** 47 - PG, 2 * PG), 'ENOMEM', /outside user space/],
      [() => s.setrlimit('RLIMIT_NPROC' as never, 1, 1), 'EINVAL', /resource/],
      [() => s.setrlimit('RLIMIT_MEMLOCK', 2 * PG, PG), 'EINVAL', /above the hard limit/],
      [() => s.setrlimit('RLIMIT_MEMLOCK', 0, 2 ** 40), 'EPERM', /CAP_SYS_RESOURCE/],
      [() => s.setrlimit('RLIMIT_AS', -1, Infinity), 'EINVAL', /soft/],
      [() => s.setrlimit('RLIMIT_AS', 1.5, Infinity), 'EINVAL', /soft/],
      [() => s.getrlimit('RLIMIT_CPU' as never), 'EINVAL', /resource/],
      [() => s.mmap({ length: PG, prot: 'rw', shared: true, growsDown: true }), 'EINVAL', /growsDown/],
      [() => s.mmap({ length: PG, prot: 'rw', locked: 'yes' as never }), 'EINVAL', /locked/],
      [() => s.exec({ stack: 1 as never }), 'EINVAL', /options.stack/],
      [() => s.exec({ heap: true } as never), 'EINVAL', /heap/],
      [() => m.setOvercommit({ mode: 3 as never }), 'EINVAL', /overcommit_memory/],
      [() => m.setOvercommit({ ratio: -1 }), 'EINVAL', /overcommit_ratio/],
      [() => m.setOvercommit({ kbytes: 0.5 }), 'EINVAL', /overcommit_kbytes/],
      [() => m.setOvercommit({ mode: 2, other: 1 } as never), 'EINVAL', /unknown option/],
    ];
    for (const [f, code, re] of cases) {
      expect(f, String(f)).toThrow(err(code, re));
      expect(snapshot(m, s), String(f)).toBe(before);
    }
    expect(() => new Machine({ memory: '16MiB', backend, aslr: { seed: -1 } })).toThrow(err('EINVAL', /aslr/));
    expect(() => new Machine({ memory: '16MiB', backend, aslr: true as never })).toThrow(err('EINVAL', /aslr/));
    expect(() => new Machine({ memory: '16MiB', backend, overcommit: { mode: 5 as never } })).toThrow(err('EINVAL', /overcommit/));
    auditMachine(m);
    m.dispose();
  });

  it('mremap moves entries, not bytes: contents, swap entries, COW sharing and the resident count go with them', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB' } });
    const s = m.createAddressSpace({ residentLimit: 8 });
    const a = s.mmap({ length: 12 * PG, prot: 'rw' });
    for (let i = 0; i < 12; i++) s.write(a + i * PG, [i + 1]);
    s.madvise(a, 4 * PG, 'MADV_PAGEOUT'); // pages 0-3 in swap
    const child = s.fork(); // the rest COW-shared with a child
    const rss = s.stats().residentPages;
    const swapped = s.reclaimStats().VmSwap;
    const frames = m.physical.usedFrames;
    const to = s.mremap(a, 12 * PG, 12 * PG, { mayMove: true, fixed: true, newAddr: 0x40_0000_0000 });
    expect(to).not.toBe(a);
    expect(s.stats().residentPages).toBe(rss);
    expect(s.reclaimStats().VmSwap).toBe(swapped);
    expect(m.physical.usedFrames - frames).toBeLessThanOrEqual(2); // page tables at the new place, no page copied
    expect(s.translate(a)).toBeUndefined();
    expect(s.translate(to + 6 * PG)!.software.cow).toBe(true); // still shared with the child
    for (let i = 0; i < 12; i++) expect(s.read(to + i * PG, 1)[0]).toBe(i + 1);
    for (let i = 0; i < 12; i++) expect(child.read(a + i * PG, 1)[0]).toBe(i + 1);
    s.write(to + 6 * PG, [99]);
    expect(child.read(a + 6 * PG, 1)[0]).toBe(7);
    auditMachine(m);
    m.dispose();
  });

  it('exec replaces the image and keeps the process: its counters, limits, oom_score_adj and place among the spaces', () => {
    const m = new Machine({ memory: '32MiB', backend });
    const s = m.createAddressSpace();
    s.oomScoreAdj = 300;
    s.setrlimit('RLIMIT_MEMLOCK', 4 * PG, 4 * PG);
    const a = s.mmap({ length: 8 * PG, prot: 'rw' });
    for (let i = 0; i < 8; i++) s.write(a + i * PG, [1]);
    s.brk(s.brk() + 4 * PG);
    s.mlock(a, 2 * PG);
    s.mlockall(MCL_FUTURE);
    const shm = m.createSharedMemory('e', PG);
    s.mmap({ length: PG, prot: 'rw', shared: true, object: shm });
    const child = s.fork();
    const faults = s.stats().faults.minor;
    const free0 = m.physical.freeFrames;
    s.exec();
    expect(m.addressSpaces()).toContain(s);
    expect(s.regions().map((r) => r.kind)).toEqual(['stack']);
    expect(s.stats()).toMatchObject({ residentPages: 0, lockedPages: 0, regions: 1 });
    expect(s.stats().faults.minor).toBe(faults);
    expect(s.oomScoreAdj).toBe(300);
    expect(s.getrlimit('RLIMIT_MEMLOCK')).toEqual({ soft: 4 * PG, hard: 4 * PG });
    expect(m.physical.freeFrames).toBeGreaterThan(free0); // its private copies and tables went; the child keeps its own
    expect(shm.attachments).toBe(1); // the child's
    // MCL_FUTURE ended with the old image: a new mapping is not locked.
    s.mmap({ length: PG, prot: 'rw' });
    expect(s.stats().lockedPages).toBe(0);
    expect(s.brk()).toBe(s.regions()[0]!.start < 2 ** 46 ? s.brk() : s.brk());
    for (let i = 0; i < 8; i++) expect(child.read(a + i * PG, 1)[0]).toBe(1);
    auditMachine(m);
    m.dispose();
  });

  it('vfork: the child borrows the parent’s memory, the parent waits (EBUSY) until the child execs or exits', () => {
    const m = new Machine({ memory: '32MiB', backend, features: { pcid: false } });
    const p = m.createAddressSpace();
    const a = p.mmap({ length: 2 * PG, prot: 'rw' });
    p.write(a, [5]);
    const c = p.vfork();
    expect(m.addressSpaces()).not.toContain(c);
    expect(c.read(a, 1)[0]).toBe(5);
    c.write(a, [6]); // the parent's memory
    const b = c.mmap({ length: PG, prot: 'rw' }); // the parent's regions too
    expect(() => p.read(a, 1)).toThrow(err('EBUSY', /vfork/));
    expect(() => p.mmap({ length: PG, prot: 'r' })).toThrow(err('EBUSY'));
    c.exec();
    expect(m.addressSpaces()).toContain(c);
    expect(p.read(a, 1)[0]).toBe(6);
    expect(p.findRegion(b)).toBeDefined();
    expect(c.findRegion(a)).toBeUndefined();
    c.mmap({ addr: a, length: PG, prot: 'rw', fixed: true });
    c.write(a, [9]);
    expect(p.read(a, 1)[0]).toBe(6);
    auditMachine(m);
    // A vfork child that exits: nothing of the parent's goes.
    const d = p.vfork();
    d.write(a, [7]);
    d.destroy();
    expect(d.destroyed).toBe(true);
    expect(p.read(a, 1)[0]).toBe(7);
    auditMachine(m);
    m.dispose();
  });

  it('vfork on several CPUs: the child runs where the parent ran, on the same mm (no CR3 load); exec gives it its own and ends its threads', () => {
    const m = new Machine({ memory: '32MiB', backend, cpus: 2 });
    const p = m.createAddressSpace();
    const a = p.mmap({ length: PG, prot: 'rw' });
    m.cpu(1).run(p);
    p.write(a, [1]);
    const t = p.createThread();
    m.cpu(0).run(t);
    const c = p.vfork();
    expect(m.cpu(1).current).toBe(c); // the parent sleeps; its CPU runs the child
    expect(p.runningOn).toBeUndefined();
    expect(m.cpu(1).pcidOf(c)).toBe(m.cpu(1).pcidOf(p)); // one TLB context
    c.write(a, [2]);
    expect(t.read(a, 1)[0]).toBe(2); // the parent's thread sees the child's write: the same memory
    const th = c.createThread();
    c.exec();
    expect(th.hasExited).toBe(true); // de_thread
    expect(c.root).not.toBe(p.root);
    expect(m.cpu(1).current).toBe(c);
    expect(c.findRegion(a)).toBeUndefined();
    expect(p.read(a, 1)[0]).toBe(2); // the parent runs again
    auditMachine(m);
    m.dispose();
  });

  it('resource limits: RLIMIT_AS and RLIMIT_DATA refuse growth with ENOMEM, RLIMIT_STACK bounds the stack, RLIMIT_MEMLOCK locks', () => {
    const m = new Machine({ memory: '32MiB', backend });
    const s = m.createAddressSpace();
    const total = s.stats().virtualSize;
    s.setrlimit('RLIMIT_AS', total + 4 * PG, Infinity);
    const a = s.mmap({ length: 4 * PG, prot: 'r' });
    expect(() => s.mmap({ length: PG, prot: 'r' })).toThrow(err('ENOMEM', /RLIMIT_AS/));
    expect(() => s.mremap(a, 4 * PG, 5 * PG, { mayMove: true })).toThrow(err('ENOMEM', /RLIMIT_AS/));
    s.mmap({ addr: a, length: 4 * PG, prot: 'rw', fixed: true }); // replacing counts what it unmaps
    s.setrlimit('RLIMIT_AS', Infinity, Infinity);
    s.setrlimit('RLIMIT_DATA', 8 * PG, Infinity);
    expect(() => s.mmap({ length: 8 * PG, prot: 'rw' })).toThrow(err('ENOMEM', /RLIMIT_DATA/));
    s.mmap({ length: 8 * PG, prot: 'r' }); // not data: read-only
    expect(() => s.brk(s.brk() + 16 * PG)).toThrow(err('ENOMEM', /RLIMIT_DATA/));
    s.setrlimit('RLIMIT_STACK', 256 * 1024, Infinity);
    const top = s.regions().find((r) => r.kind === 'stack')!.end;
    s.write(top - 200 * 1024, [1]); // grows within the limit
    expect(() => s.write(top - 300 * 1024, [1])).toThrow(expect.objectContaining({ cause: 'SEGV_MAPERR' }));
    s.setrlimit('RLIMIT_MEMLOCK', 0, s.getrlimit('RLIMIT_MEMLOCK').hard);
    expect(() => s.mlock(a, PG)).toThrow(err('EPERM'));
    expect(() => s.mmap({ length: PG, prot: 'rw', locked: true })).toThrow(err('EPERM'));
    auditMachine(m);
    m.dispose();
  });

  it('overcommit: Committed_AS follows charges and uncharges; mode 2 refuses past CommitLimit, mode 1 never, mode 0 a single request past RAM + swap', () => {
    const m = new Machine({ memory: '64MiB', backend });
    const c0 = m.commitInfo();
    expect(c0.CommitLimit).toBe(32 * 1024); // RAM 64 MiB x 50%, no swap (kB)
    const s = m.createAddressSpace();
    const base = m.commitInfo().Committed_AS; // the stack's 128 KiB
    const a = s.mmap({ length: 16 * PG, prot: 'rw' });
    expect(m.commitInfo().Committed_AS - base).toBe(64);
    s.mmap({ length: 16 * PG, prot: 'r' }); // not charged
    s.mmap({ length: 16 * PG, prot: 'rw', noReserve: true }); // MAP_NORESERVE
    const sh = s.mmap({ length: 16 * PG, prot: 'r', shared: true }); // the object's size
    expect(m.commitInfo().Committed_AS - base).toBe(128);
    s.munmap(a, 16 * PG);
    s.munmap(sh, 16 * PG);
    expect(m.commitInfo().Committed_AS - base).toBe(0);
    expect(() => s.mmap({ length: 2 ** 30, prot: 'rw' })).toThrow(err('ENOMEM', /overcommit_memory 0/));
    m.setOvercommit({ mode: 1 });
    s.munmap(s.mmap({ length: 2 ** 30, prot: 'rw' }), 2 ** 30);
    m.setOvercommit({ mode: 2, ratio: 50 });
    expect(() => s.mmap({ length: 40 * 2 ** 20, prot: 'rw' })).toThrow(err('ENOMEM', /overcommit_memory 2/));
    expect(() => s.mmap({ length: 40 * 2 ** 20, prot: 'rw', noReserve: true })).toThrow(err('ENOMEM')); // mode 2 ignores MAP_NORESERVE
    const b = s.mmap({ length: 8 * 2 ** 20, prot: 'rw' });
    expect(() => s.fork()).not.toThrow(); // 8 MiB more is still below the limit
    m.setOvercommit({ kbytes: 4 * 1024 });
    expect(m.commitInfo().CommitLimit).toBe(4 * 1024);
    expect(() => s.fork()).toThrow(err('ENOMEM', /fork/));
    expect(m.overcommit).toEqual({ mode: 2, ratio: 50, kbytes: 4096 });
    s.munmap(b, 8 * 2 ** 20);
    auditMachine(m);
    m.dispose();
  });

  it('ASLR: layouts are random within Linux’s ranges, the same for the same seed, and off by default', () => {
    const layout = (o: object) => {
      const m = new Machine({ memory: '16MiB', backend, ...o });
      const s = m.createAddressSpace();
      const l = { stack: s.regions().find((r) => r.kind === 'stack')!.end, heap: s.brk(), mmap: s.mmap({ length: PG, prot: 'r' }) };
      const f = s.fork();
      expect([f.brk(), f.findRegion(l.stack - 1)?.end]).toEqual([l.heap, l.stack]); // a fork child keeps the layout
      s.exec();
      const e = { stack: s.regions().find((r) => r.kind === 'stack')!.end, heap: s.brk() };
      m.dispose();
      return { ...l, exec: e };
    };
    const off = layout({});
    expect(off).toMatchObject({ stack: 0x7ffffffff000, heap: 0x555555559000 });
    expect(layout({ aslr: false })).toEqual(off);
    const a = layout({ aslr: { seed: 7 } });
    expect(layout({ aslr: { seed: 7 } })).toEqual(a);
    expect(layout({ aslr: { seed: 8 } })).not.toEqual(a);
    for (let seed = 1; seed <= 20; seed++) {
      const l = layout({ aslr: { seed } });
      within(l.stack, ASLR.stack);
      // vmsim's notional program image is 5 pages (the heap starts there without ASLR).
      within(l.heap - 0x5000, [ASLR.pie[0], ASLR.pie[1] + ASLR.brk]);
      within(l.mmap + PG, ASLR.mmapBase); // the first mapping ends at mmap_base
      expect(l.exec.stack).not.toBe(l.stack);
    }
  });


  it('MADV_FREE keeps the pages until reclaim needs memory, then drops the clean ones; without swap they stay', () => {
    for (const swap of [true, false]) {
      const m = new Machine({ memory: '16MiB', backend, ...(swap ? { swap: { size: '1MiB' } } : {}) });
      const s = m.createAddressSpace();
      const a = s.mmap({ length: 4 * PG, prot: 'rw' });
      for (let i = 0; i < 4; i++) s.write(a + i * PG, [i + 1]);
      s.madvise(a, 4 * PG, 'MADV_FREE');
      s.write(a + 3 * PG, [40]); // written again: kept
      expect(s.stats().residentPages).toBe(4);
      for (let i = 0; i < 3; i++) expect(s.read(a + i * PG, 1)[0]).toBe(i + 1); // still there, no pressure yet
      if (swap) {
        // Pressure: kswapd reclaims; the lazily freed clean pages go first, without a write.
        const rs = s.vm.resident!;
        rs.evict(4, undefined, 'kswapd');
        expect(rs.counters.evict_clean).toBeGreaterThanOrEqual(3);
        expect(s.read(a, 1)[0]).toBe(0);
      } else expect(s.read(a, 1)[0]).toBe(1);
      expect(s.read(a + 3 * PG, 1)[0]).toBe(40);
      auditMachine(m);
      m.dispose();
    }
  });

  it('MADV_WILLNEED reads swapped pages into the swap cache: their faults are minor', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', pageCluster: 0 } });
    const s = m.createAddressSpace({ residentLimit: 16 });
    const a = s.mmap({ length: 4 * PG, prot: 'rw' });
    for (let i = 0; i < 4; i++) s.write(a + i * PG, [i + 1]);
    s.madvise(a, 4 * PG, 'MADV_PAGEOUT');
    s.madvise(a, 4 * PG, 'MADV_WILLNEED');
    expect([...s.mincore(a, 4 * PG)]).toEqual([1, 1, 1, 1]); // in the swap cache
    const major = s.stats().faults.major;
    for (let i = 0; i < 4; i++) expect(s.read(a + i * PG, 1)[0]).toBe(i + 1);
    expect(s.stats().faults.major).toBe(major);
    auditMachine(m);
    m.dispose();
  });

  it('MADV_COLLAPSE makes a 2 MiB page of a block’s pages (same bytes); EINVAL where no block fits or nothing is writable, ENOMEM without 2 MiB of RAM', () => {
    const m = new Machine({ memory: '32MiB', backend });
    const s = m.createAddressSpace();
    const raw = s.mmap({ length: 3 * HUGE, prot: 'rw' });
    const h = Math.ceil(raw / HUGE) * HUGE;
    s.write(h + 5 * PG, [5]);
    s.write(h + 300 * PG, [3]);
    s.madvise(h, HUGE, 'MADV_COLLAPSE');
    expect(s.translate(h + 5 * PG)!.pageSize).toBe(HUGE);
    expect([s.read(h + 5 * PG, 1)[0], s.read(h + 300 * PG, 1)[0], s.read(h + 7 * PG, 1)[0]]).toEqual([5, 3, 0]);
    expect(s.stats().residentPages).toBe(512);
    s.madvise(h, HUGE, 'MADV_COLLAPSE'); // already a huge page: done
    s.read(h + HUGE, 1); // only the zero page in the next block
    expect(() => s.madvise(h + HUGE, HUGE, 'MADV_COLLAPSE')).toThrow(err('EINVAL', /1 huge pages/));
    const small = s.mmap({ length: 4 * PG, prot: 'rwx' }); // apart: another protection
    expect(() => s.madvise(small, 4 * PG, 'MADV_COLLAPSE')).toThrow(err('EINVAL', /cannot hold a huge page/));
    s.write(h + HUGE, [1]);
    const held = exhaustFrames(m);
    expect(() => s.madvise(h + HUGE, HUGE, 'MADV_COLLAPSE')).toThrow(err('ENOMEM'));
    for (const f of held) m.physical.freeFrame(f);
    auditMachine(m);
    m.dispose();
  });

  it('mlockall(MCL_CURRENT) locks and faults in every region; VmLck and locks are not inherited by fork', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const s = m.createAddressSpace({ stack: false });
    const a = s.mmap({ length: 4 * PG, prot: 'rw' });
    s.mmap({ length: 2 * PG, prot: 'r' });
    s.mlockall(MCL_CURRENT | MCL_FUTURE);
    expect(s.stats().lockedPages).toBe(6);
    expect(s.stats().faults.minor).toBe(6); // faulted in: write faults, zero pages for the read-only one
    expect(s.stats().residentPages).toBe(4);
    s.mmap({ length: PG, prot: 'rw' });
    expect(s.stats().lockedPages).toBe(7);
    const c = s.fork();
    expect(c.stats().lockedPages).toBe(0);
    expect(c.maps()).not.toMatch(/lo/);
    s.munlockall();
    expect(s.stats().lockedPages).toBe(0);
    expect(s.read(a, 1)[0]).toBe(0);
    auditMachine(m);
    m.dispose();
  });

  it('an OOM kill of a vfork parent takes the borrowing child with it', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const p = m.createAddressSpace();
    const c = p.vfork();
    p.destroy();
    expect(c.destroyed).toBe(true);
    expect(() => c.read(0x1000_0000, 1)).toThrow(VmmError);
    auditMachine(m);
    m.dispose();
  });
});

const kernelAslr = runLinuxProbe<{ randomize_va_space: number; runs: [number, number, number, number][] }>('aslr');

describe('ASLR against this machine’s kernel', () => {
  it.skipIf(!kernelAslr)('places stack, libraries, program and heap in the windows vmsim draws from', () => {
    const k = kernelAslr!;
    for (const [stack, lib, exe, heap] of k.runs) {
      within(stack, ASLR.stack);
      // ld.so and the C library are mapped top-down from mmap_base: the highest ends there or a little below.
      within(lib, [ASLR.mmapBase[0] - 2 ** 26, ASLR.mmapBase[1]]);
      within(exe, ASLR.pie);
      within(heap - exe, [0, ASLR.brk + 2 ** 20]); // the program's own pages, then up to 1 GiB
    }
    if (k.randomize_va_space === 2) expect(new Set(k.runs.map((r) => r[0])).size).toBeGreaterThan(k.runs.length / 2);
  });
});
