/**
 * Golden scenarios of the multiprocessor: each states what Linux 6.18 does and why (the function
 * of arch/x86/mm/tlb.c, mm/rmap.c or mm/memory.c it comes from), and checks that vmsim counts
 * exactly that — IPIs sent and received, the /proc/interrupts "TLB shootdowns", full and
 * single-page flushes, lazy CPUs skipped — on both backends, with the invariant auditor after.
 */
import { describe, expect, it } from 'vitest';
import { Machine, VmmError } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';

const PG = 4096;

/** A process with a 64-page region, all written (one PT holds it), and threads on CPUs 1..n-1; counters reset after. */
function fourCpus(backend: 'js' | 'native', cpus = 4, options: ConstructorParameters<typeof Machine>[0] = {}) {
  const m = new Machine({ backend, memory: '64MiB', cpus, ...options });
  const p = m.createAddressSpace();
  const a = p.mmap({ length: 64 * PG, prot: 'rw' });
  m.cpu(0).run(p);
  for (let k = 0; k < 64; k++) p.write(a + k * PG, [k]);
  const threads = Array.from({ length: cpus - 1 }, () => p.createThread());
  threads.forEach((t, i) => {
    m.cpu(i + 1).run(t);
    t.read(a, 8); // each CPU holds translations of the region
  });
  m.resetStats();
  return { m, p, a, threads };
}

describe.each(BACKENDS)('TLB shootdowns as Linux does them (%s)', (backend) => {
  it('four threads on four CPUs, munmap of 10 pages: 3 IPIs and 10 INVLPGs on each CPU (flush_tlb_mm_range under the ceiling of 33)', () => {
    const { m, p, a } = fourCpus(backend);
    p.munmap(a + 8 * PG, 10 * PG);
    // The initiator (CPU 0, the main thread's) sends one IPI to each CPU of mm_cpumask that runs the
    // mm (should_flush_tlb); every one is exactly one generation behind and the request is the newest,
    // so flush_tlb_func does the partial flush: one INVLPG per page at the 4 KiB stride.
    expect(m.cpu(0).stats()).toMatchObject({ ipisSent: 3, ipisReceived: 0, tlbShootdowns: 0, flushes: { full: 0, single: 10 } });
    for (const i of [1, 2, 3]) expect(m.cpu(i).stats()).toMatchObject({ ipisSent: 0, ipisReceived: 1, tlbShootdowns: 1, flushes: { full: 0, single: 10 } });
    const sd = m.stats().shootdowns;
    expect(sd).toMatchObject({ ipisSent: 3, ipisReceived: 3, tlbShootdowns: 3, flushes: { full: 0, single: 40 } });
    expect(sd.vmstat).toEqual({ nr_tlb_remote_flush: 1, nr_tlb_remote_flush_received: 3, nr_tlb_local_flush_all: 0, nr_tlb_local_flush_one: 10 });
    auditMachine(m);
  });

  it('munmap of 40 pages: a full flush on each CPU (more pages than tlb_single_page_flush_ceiling)', () => {
    const { m, p, a } = fourCpus(backend);
    p.munmap(a + 8 * PG, 40 * PG);
    for (const i of [0, 1, 2, 3]) expect(m.cpu(i).stats().flushes).toEqual({ full: 1, single: 0 });
    expect(m.stats().shootdowns).toMatchObject({ ipisSent: 3, tlbShootdowns: 3 });
    auditMachine(m);
  });

  it("a munmap that frees a page table flushes from the table's 2 MiB base (pte_free_tlb adds the PMD-aligned address to the range)", () => {
    const { m, p } = fourCpus(backend);
    // Ten pages alone in their 2 MiB, 100 pages above its base: their PT goes with them.
    const x = p.mmap({ length: 10 * PG, prot: 'rw', addr: 2 ** 40 + 100 * PG, fixed: true });
    for (let k = 0; k < 10; k++) p.write(x + k * PG, [k]);
    m.resetStats();
    p.munmap(x, 10 * PG);
    // The range is [base, x + 10 pages): 110 pages over the ceiling, a full flush on every CPU.
    for (const i of [0, 1, 2, 3]) expect(m.cpu(i).stats().flushes).toEqual({ full: 1, single: 0 });
    auditMachine(m);
  });

  it('a lazy CPU is skipped for a munmap that frees no page table (should_flush_tlb: is_lazy)', () => {
    const { m, p, a } = fourCpus(backend);
    m.cpu(2).idle();
    m.resetStats();
    p.munmap(a + 8 * PG, 10 * PG);
    expect(m.cpu(2).stats()).toMatchObject({ ipisReceived: 0, lazySkipped: 1 });
    expect(m.cpu(0).stats().ipisSent).toBe(2);
    auditMachine(m);
  });

  it('the ceiling is a machine option (the debugfs knob): 10 pages over a ceiling of 8 are a full flush', () => {
    const { m, p, a } = fourCpus(backend, 4, { shootdown: { ceiling: 8 } });
    p.munmap(a + 8 * PG, 10 * PG);
    for (const i of [0, 1, 2, 3]) expect(m.cpu(i).stats().flushes).toEqual({ full: 1, single: 0 });
    auditMachine(m);
  });

  it('a lazy CPU gets no IPI for an mprotect, but gets one when munmap frees a page table (native_flush_tlb_multi: freed_tables)', () => {
    const { m, p, a, threads } = fourCpus(backend);
    // A page table the region does not share: 2 pages alone in their own 2 MiB.
    const lone = p.mmap({ length: 2 * PG, prot: 'rw', addr: 2 ** 40, fixed: true });
    p.write(lone, [1]);
    m.cpu(3).idle(); // CPU 3 runs the idle task and keeps the mm loaded, lazily (enter_lazy_tlb)
    m.resetStats();
    p.mprotect(a, 4 * PG, 'r');
    expect(m.cpu(3).stats()).toMatchObject({ ipisReceived: 0, lazySkipped: 1 });
    expect(m.cpu(0).stats().ipisSent).toBe(2);
    m.resetStats();
    p.munmap(lone, 2 * PG); // its PT is freed: every CPU in mm_cpumask gets the IPI
    expect(m.cpu(3).stats()).toMatchObject({ ipisReceived: 1, tlbShootdowns: 1, lazySkipped: 0 });
    expect(m.cpu(0).stats().ipisSent).toBe(3);
    // flush_tlb_func on a lazy CPU switches it to init_mm rather than flush.
    expect(m.cpu(3).loaded).toBe(m.initMm);
    auditMachine(m);
    // Back to the process: a CR3 load with a flush of its ASID, which is behind (choose_new_asid).
    m.resetStats();
    m.cpu(3).run(threads[2]!);
    expect(m.cpu(3).stats().switchFlushes).toBe(1);
    auditMachine(m);
  });

  it('a lazy CPU that missed a flush catches up when it runs the mm again (switch_mm_irqs_off: was_lazy, tlb_gen behind)', () => {
    const { m, p, a, threads } = fourCpus(backend);
    m.cpu(2).idle();
    p.mprotect(a, PG, 'r');
    m.resetStats();
    m.cpu(2).run(threads[1]!);
    expect(m.cpu(2).stats()).toMatchObject({ switchFlushes: 1, ipisReceived: 0 });
    // A thread switch within the process on a CPU that is not lazy needs nothing.
    const t = p.createThread();
    m.cpu(2).run(t);
    expect(m.cpu(2).stats().switchFlushes).toBe(1);
    auditMachine(m);
  });

  it('seven processes on one CPU with six ASIDs: every switch of a round robin flushes (choose_new_asid, TLB_NR_DYN_ASIDS = 6)', () => {
    const flushes = (n: number) => {
      const m = new Machine({ backend, memory: '64MiB' });
      const ps = Array.from({ length: n }, () => m.createAddressSpace());
      for (let round = 0; round < 3; round++) for (const p of ps) m.cpu(0).run(p);
      const f = m.cpu(0).stats();
      auditMachine(m);
      return f;
    };
    // init_mm holds ASID 0 from boot; six processes take ASIDs 1..5 and then 0: one flush each, then none.
    expect(flushes(6).switchFlushes).toBe(6);
    // Seven: the round robin always evicts the ASID the next process needs (next_asid wraps): every switch flushes.
    expect(flushes(7).switchFlushes).toBe(21);
    // A CR3 load that flushes is one of the core's flushes (plus the one at boot).
    expect(flushes(7).tlb.flushes).toBe(22);
  });

  it("with asids: 'static' a space keeps its PCID on every CPU and a switch never flushes while it is up to date", () => {
    const m = new Machine({ backend, memory: '64MiB', asids: 'static' });
    const ps = Array.from({ length: 7 }, () => m.createAddressSpace());
    for (let round = 0; round < 3; round++) for (const p of ps) m.cpu(0).run(p);
    expect(m.cpu(0).stats().switchFlushes).toBe(0);
    expect(ps.map((p) => p.pcid)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    auditMachine(m);
  });

  it('reclaim unmaps a batch and flushes it once (set_tlb_ubc_flush_pending, try_to_unmap_flush), not once per page', () => {
    const m = new Machine({ backend, memory: '64MiB', cpus: 2, swap: { size: '4MiB' } });
    const p = m.createAddressSpace({ residentLimit: 64 });
    const t = p.createThread();
    m.cpu(0).run(p);
    m.cpu(1).run(t);
    const a = p.mmap({ length: 32 * PG, prot: 'rw' });
    for (let k = 0; k < 32; k++) p.write(a + k * PG, [k]);
    m.resetStats();
    // MADV_PAGEOUT reclaims the 32 pages as one batch (reclaim_pages → shrink_folio_list with TTU_BATCH_FLUSH).
    p.madvise(a, 32 * PG, 'MADV_PAGEOUT');
    expect(p.reclaimStats().VmSwap).toBe(32);
    const sd = m.stats().shootdowns;
    // CPU 1 is in the mm's cpumask, so each page's flush is deferred (should_defer_flush) and the
    // batch goes out as one arch_tlbbatch_flush: one IPI, one full flush on each CPU.
    expect(sd).toMatchObject({ batchFlushes: 1, ipisSent: 1, tlbShootdowns: 1, flushes: { full: 2, single: 0 } });
    expect(sd.vmstat.nr_tlb_remote_flush).toBe(1);
    expect(t.read(a + 5 * PG, 1)[0]).toBe(5); // swapped back in
    auditMachine(m);
    // On one CPU nothing is deferred: ptep_clear_flush flushes each page (flush_tlb_page), locally.
    const one = new Machine({ backend, memory: '64MiB', swap: { size: '4MiB' } });
    const q = one.createAddressSpace({ residentLimit: 64 });
    const b = q.mmap({ length: 32 * PG, prot: 'rw' });
    for (let k = 0; k < 32; k++) q.write(b + k * PG, [k]);
    one.resetStats();
    q.madvise(b, 32 * PG, 'MADV_PAGEOUT');
    expect(one.stats().shootdowns).toMatchObject({ batchFlushes: 0, ipisSent: 0, flushes: { single: 32, full: 0 } });
    expect(one.stats().shootdowns.vmstat.nr_tlb_local_flush_one).toBe(32);
    auditMachine(one);
  });

  it('a COW break flushes the page on the CPUs running the process (wp_page_copy: ptep_clear_flush)', () => {
    const m = new Machine({ backend, memory: '64MiB', cpus: 2 });
    const p = m.createAddressSpace();
    const a = p.mmap({ length: 4 * PG, prot: 'rw' });
    p.write(a, [1]);
    const t = p.createThread();
    m.cpu(0).run(p);
    m.cpu(1).run(t);
    t.read(a, 1);
    const child = p.fork(); // dup_mmap ends with flush_tlb_mm of the parent: freed_tables, so even lazy CPUs get it
    expect(m.stats().shootdowns.ipisSent).toBe(1);
    m.resetStats();
    p.write(a, [2]); // copy-on-write in the parent, on CPU 0
    expect(m.cpu(1).stats()).toMatchObject({ ipisReceived: 1, flushes: { single: 1, full: 0 } });
    expect(t.read(a, 1)[0]).toBe(2);
    expect(child.read(a, 1)[0]).toBe(1);
    auditMachine(m);
  });

  it("KVM's paravirtual flush: no IPI to an idle vCPU, the host flushes it at its next entry (kvm_flush_tlb_multi)", () => {
    const { m, p, a, threads } = fourCpus(backend, 4, { shootdown: { paravirt: true } });
    const lone = p.mmap({ length: 2 * PG, prot: 'rw', addr: 2 ** 40, fixed: true });
    p.write(lone, [1]);
    m.cpu(3).idle();
    m.resetStats();
    p.munmap(lone, 2 * PG); // freed tables: native Linux would interrupt the lazy CPU
    expect(m.cpu(3).stats()).toMatchObject({ ipisReceived: 0, paravirtSkipped: 1 });
    expect(m.cpu(0).stats().ipisSent).toBe(2);
    m.cpu(3).run(threads[2]!);
    expect(m.cpu(3).stats().hostFlushes).toBe(1);
    expect(p.read(a, 1)[0]).toBe(0);
    auditMachine(m);
  });

  it("mechanism 'none' (what-if): remote CPUs are flushed with no IPI at all", () => {
    const { m, p, a } = fourCpus(backend, 4, { shootdown: { mechanism: 'none' } });
    p.munmap(a + 8 * PG, 10 * PG);
    const sd = m.stats().shootdowns;
    expect(sd).toMatchObject({ ipisSent: 0, ipisReceived: 0, tlbShootdowns: 0, flushes: { single: 40 } });
    expect(sd.cycles.handler).toBe(0);
    auditMachine(m);
  });

  it("INVLPGB: a process active on more than 3 CPUs gets a global ASID (consider_global_asid), then flushes by broadcast without IPIs", () => {
    const { m, p, a } = fourCpus(backend, 4, { shootdown: { mechanism: 'invlpgb' } });
    // The first remote flush is still IPIs; consider_global_asid then gives the mm a global ASID.
    p.mprotect(a, PG, 'r');
    expect(m.stats().shootdowns.ipisSent).toBe(3);
    expect(p.mm.globalAsid).toBe(6);
    // The next flush is a broadcast; CPUs still on their dynamic ASID get the IPI once more (finish_asid_transition) and move to the global one.
    m.resetStats();
    p.mprotect(a, PG, 'rw');
    expect(m.stats().shootdowns).toMatchObject({ invlpgb: 1, tlbsync: 1, ipisSent: 3 });
    for (const i of [0, 1, 2, 3]) expect(m.cpu(i).pcidOf(p)).toBe(7);
    // From now on: INVLPGB alone.
    m.resetStats();
    p.munmap(a + 8 * PG, 10 * PG);
    expect(m.stats().shootdowns).toMatchObject({ invlpgb: 2, tlbsync: 1, ipisSent: 0 });
    auditMachine(m);
  });
});

describe.each(BACKENDS)('threads and scheduling (%s)', (backend) => {
  it('one task runs on one CPU at a time: EBUSY, and run() of the task a CPU runs is a no-op', () => {
    const m = new Machine({ backend, memory: '16MiB', cpus: 2 });
    const p = m.createAddressSpace();
    const t = p.createThread();
    m.cpu(0).run(t);
    expect(() => m.cpu(1).run(t)).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    m.cpu(0).run(t);
    expect(m.cpu(0).current).toBe(t);
    expect(t.tid).not.toBe(p.tid);
    expect(t.space).toBe(p);
    expect(() => m.cpu(2)).toThrow(VmmError);
    expect(m.cpus).toBe(2);
  });

  it('an access by a task that runs nowhere schedules it on CPU 0 first (the single-CPU behaviour)', () => {
    const m = new Machine({ backend, memory: '16MiB', cpus: 2 });
    const p = m.createAddressSpace();
    const t = p.createThread();
    const a = p.mmap({ length: PG, prot: 'rw' });
    t.write(a, [5]);
    expect(m.cpu(0).current).toBe(t);
    expect(p.read(a, 1)[0]).toBe(5); // the main thread now takes CPU 0; the thread runs nowhere
    expect(m.cpu(0).current).toBe(p);
    expect(m.cpu(1).current).toBeUndefined();
  });

  it("a thread's exit while it runs idles its CPU (lazily on the mm); an exited thread refuses every use with ESRCH", () => {
    const m = new Machine({ backend, memory: '16MiB', cpus: 2 });
    const p = m.createAddressSpace();
    const a = p.mmap({ length: PG, prot: 'rw' });
    const t = p.createThread();
    m.cpu(1).run(t);
    t.write(a, [1]);
    t.exit();
    expect(m.cpu(1).current).toBeUndefined();
    expect(m.cpu(1).lazy).toBe(true);
    expect(t.hasExited).toBe(true);
    expect(() => t.read(a, 1)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(() => m.cpu(0).run(t)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(() => t.exit()).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    auditMachine(m);
  });

  it("a process's destroy while its threads run: the CPUs go idle and then to init_mm (exit_mmap's flush with freed tables), the threads exit, nothing leaks", () => {
    const m = new Machine({ backend, memory: '16MiB', cpus: 3 });
    const free0 = m.physical.freeFrames;
    const p = m.createAddressSpace();
    const a = p.mmap({ length: 4 * PG, prot: 'rw' });
    const ts = [p.createThread(), p.createThread()];
    m.cpu(0).run(p);
    m.cpu(1).run(ts[0]!);
    m.cpu(2).run(ts[1]!);
    for (const t of ts) t.write(a, [1]);
    p.destroy();
    for (const i of [0, 1, 2]) {
      expect(m.cpu(i).current).toBeUndefined();
      expect(m.cpu(i).loaded).toBe(m.initMm);
    }
    for (const t of ts) expect(t.hasExited).toBe(true);
    expect(() => ts[0]!.read(a, 1)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(m.physical.freeFrames).toBe(free0);
    auditMachine(m);
  });

  it('each CPU can have the TLB hierarchy of a real CPU for the machine API too', () => {
    const m = new Machine({ backend, memory: '64MiB', cpus: 2, cpu: 'skylake' });
    const p = m.createAddressSpace();
    const a = p.mmap({ length: 4 * PG, prot: 'rw' });
    for (let k = 0; k < 4; k++) p.write(a + k * PG, [k]);
    for (let r = 0; r < 3; r++) for (let k = 0; k < 4; k++) expect(p.read(a + k * PG, 1)[0]).toBe(k);
    const st = m.cpu(0).stats();
    expect(st.levels.map((l) => l.name)).toEqual(['l1i', 'l1i-2m', 'l1d', 'l1d-2m', 'l1d-1g', 'stlb', 'stlb-1g', 'pwc-pml4e', 'pwc-pdpte', 'pwc-pde']);
    const l1d = st.levels.find((l) => l.name === 'l1d')!;
    expect(l1d.hits).toBeGreaterThanOrEqual(12);
    expect(st.tlb.hits).toBeGreaterThanOrEqual(12);
    expect(m.cpu(0).tlb.validEntries()).toBe(0); // the single TLB is not used
    auditMachine(m);
  });
});
