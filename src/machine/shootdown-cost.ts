/**
 * The cycle cost model of TLB shootdowns, so that studies can compare flush policies in cycles.
 * vmsim counts events exactly (IPIs, INVLPGs, full flushes, INVLPGB/TLBSYNC); this turns them
 * into cycles with per-event costs. Where each default comes from is in docs/multiprocessor.md
 * ("Cost model"); every one can be overridden with `new Machine({ shootdown: { cost } })`.
 */

/** Cycles per event. */
export interface ShootdownCost {
  /** Initiator: setting up a remote flush and sending the first IPI (smp_call_function_many_cond). */
  ipiSend: number;
  /** Initiator: each further target CPU (one more ICR write and one more acknowledgement to wait for). */
  ipiPerTarget: number;
  /** Target: taking the interrupt and returning from it (entry, flush_tlb_func's bookkeeping, exit). */
  ipiHandler: number;
  /** One INVLPG (a partial flush's page, on the initiator or a target). */
  invlpg: number;
  /** One full flush of the current PCID (a CR3 reload), not counting the misses it causes later. */
  flushFull: number;
  /** One INVLPGB instruction (up to invlpgbCountMax pages of one PCID, on every CPU at once). */
  invlpgb: number;
  /** TLBSYNC: waiting until every INVLPGB this CPU issued is done everywhere. */
  tlbsync: number;
}

/** The defaults (docs/multiprocessor.md gives the source or the assumption behind each). */
export const DEFAULT_SHOOTDOWN_COST: Readonly<ShootdownCost> = Object.freeze({
  ipiSend: 1000,
  ipiPerTarget: 200,
  ipiHandler: 1500,
  invlpg: 250,
  flushFull: 300,
  invlpgb: 200,
  tlbsync: 500,
});

/** Cycles one flush takes on the CPU that runs it: a partial flush of `pages` INVLPGs, or one full flush. */
export function flushCycles(cost: ShootdownCost, full: boolean, pages: number): number {
  return full ? cost.flushFull : pages * cost.invlpg;
}
