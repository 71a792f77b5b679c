/**
 * The counters of TLB shootdowns, per CPU and summed for the machine, named as Linux names them
 * where it has names: /proc/interrupts' "TLB shootdowns" line (inc_irq_stat(TLB) in
 * flush_tlb_func, on the CPU that received the flush) and /proc/vmstat's nr_tlb_* counters
 * (count_vm_tlb_event, kept by kernels built with CONFIG_DEBUG_TLBFLUSH).
 */

/** One CPU's shootdown counters. */
export interface ShootdownCounters {
  /** Flush IPIs this CPU received (TLB shootdowns and kernel-range flushes). */
  ipisReceived: number;
  /** Flush IPIs this CPU sent. */
  ipisSent: number;
  /** /proc/interrupts "TLB shootdowns": flush_tlb_func run on this CPU for another CPU's request (every remote flush IPI, even one that finds nothing to do). */
  tlbShootdowns: number;
  /** Flushes this CPU made for flush requests (its own and others'): full flushes of its current PCID, and single-page INVLPGs. */
  flushes: { full: number; single: number };
  /** Flush requests that skipped this CPU because it was lazy (should_flush_tlb: is_lazy). */
  lazySkipped: number;
  /** Flush requests that skipped this CPU because it was in the mm's cpumask but running another address space (should_flush_tlb). */
  otherMmSkipped: number;
  /** KVM paravirtual flush: IPIs not sent to this vCPU because it was preempted (idle); the host flushed it instead. */
  paravirtSkipped: number;
  /** Whole-TLB flushes the host made at this vCPU's next entry (KVM_VCPU_FLUSH_TLB). */
  hostFlushes: number;
  /** Context switches that flushed (choose_new_asid's need_flush; TLB_FLUSH_ON_TASK_SWITCH). */
  switchFlushes: number;
  /** Cycles of the cost model: as the initiator of shootdowns, and handling other CPUs' flush IPIs. */
  cycles: { initiator: number; handler: number };
}

/** The machine's /proc/vmstat TLB counters (count_vm_tlb_event). */
export interface TlbVmstat {
  /** NR_TLB_REMOTE_FLUSH: remote flushes requested (native_flush_tlb_multi calls, flush_tlb_all). */
  nr_tlb_remote_flush: number;
  /** NR_TLB_REMOTE_FLUSH_RECEIVED: remote flush handlers run. */
  nr_tlb_remote_flush_received: number;
  /** NR_TLB_LOCAL_FLUSH_ALL: full flushes of the initiator's own TLB. */
  nr_tlb_local_flush_all: number;
  /** NR_TLB_LOCAL_FLUSH_ONE: single-page flushes of the initiator's own TLB. */
  nr_tlb_local_flush_one: number;
}

/** Machine-wide shootdown counters: the CPUs' summed, Linux's vmstat counters and the broadcast instructions. */
export interface MachineShootdowns extends ShootdownCounters {
  vmstat: TlbVmstat;
  /** INVLPGB instructions issued (mechanism 'invlpgb'). */
  invlpgb: number;
  /** TLBSYNC instructions issued. */
  tlbsync: number;
  /** Reclaim's batched flushes (arch_tlbbatch_flush). */
  batchFlushes: number;
}

/** Fresh zero counters of one CPU. */
export function newShootdownCounters(): ShootdownCounters {
  return { ipisReceived: 0, ipisSent: 0, tlbShootdowns: 0, flushes: { full: 0, single: 0 }, lazySkipped: 0, otherMmSkipped: 0, paravirtSkipped: 0, hostFlushes: 0, switchFlushes: 0, cycles: { initiator: 0, handler: 0 } };
}

/** Fresh zero vmstat counters. */
export function newTlbVmstat(): TlbVmstat {
  return { nr_tlb_remote_flush: 0, nr_tlb_remote_flush_received: 0, nr_tlb_local_flush_all: 0, nr_tlb_local_flush_one: 0 };
}

/** A copy of `c` (what stats() hands out: later events do not change it). */
export function copyShootdownCounters(c: ShootdownCounters): ShootdownCounters {
  return { ...c, flushes: { ...c.flushes }, cycles: { ...c.cycles } };
}

/** The sum of per-CPU counters. */
export function sumShootdownCounters(all: readonly ShootdownCounters[]): ShootdownCounters {
  const s = newShootdownCounters();
  for (const c of all) {
    s.ipisReceived += c.ipisReceived;
    s.ipisSent += c.ipisSent;
    s.tlbShootdowns += c.tlbShootdowns;
    s.flushes.full += c.flushes.full;
    s.flushes.single += c.flushes.single;
    s.lazySkipped += c.lazySkipped;
    s.otherMmSkipped += c.otherMmSkipped;
    s.paravirtSkipped += c.paravirtSkipped;
    s.hostFlushes += c.hostFlushes;
    s.switchFlushes += c.switchFlushes;
    s.cycles.initiator += c.cycles.initiator;
    s.cycles.handler += c.cycles.handler;
  }
  return s;
}
