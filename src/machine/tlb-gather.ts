/**
 * Linux's mmu_gather as far as the TLB goes (include/asm-generic/tlb.h): page-table operations
 * record the span of what they cleared or changed, the levels involved and whether page tables
 * were freed; tlb_finish_mmu then asks for one flush of that span (tlb_flush →
 * flush_tlb_mm_range) at the stride of the smallest level cleared (tlb_get_unmap_shift), or
 * none when nothing was cleared.
 */
import { FlushLevel } from '../core/constants.js';

/** The TLB part of an mmu_gather. */
export class TlbGather {
  /** Start and end of the span to flush (end 0: nothing to flush). */
  start = Infinity;
  end = 0;
  /** FlushLevel bits: cleared_ptes, cleared_pmds, cleared_puds, cleared_p4ds. */
  levels = 0;
  /** freed_tables: a page table was freed (lazy CPUs must be flushed too). */
  freedTables = false;

  /** Adds what one core operation reported (its span, levels and tables freed). */
  add(start: number, end: number, levels: number, tablesFreed: boolean): void {
    if (levels === 0) return;
    if (start < this.start) this.start = start;
    if (end > this.end) this.end = end;
    this.levels |= levels;
    if (tablesFreed) this.freedTables = true;
  }

  /** Nothing was cleared: no flush. */
  get empty(): boolean {
    return this.levels === 0;
  }

  /** tlb_get_unmap_shift: the stride of the flush, the smallest level cleared. */
  get strideShift(): number {
    const l = this.levels;
    return l & FlushLevel.PTE ? 12 : l & FlushLevel.PMD ? 21 : l & FlushLevel.PUD ? 30 : l & FlushLevel.P4D ? 39 : 12;
  }
}
