/**
 * Swap readahead around a faulting slot, as Linux's swap_cluster_readahead does: the slots
 * of an aligned window around it are read with it. The window adapts as Linux's
 * swapin_nr_pages does (mm/swap_state.c): from how many pages read ahead were used since the
 * last window (swapin_readahead_hits: faults that found a read-ahead page in the swap cache),
 * rounded up to a power of two, at most 2^page-cluster, shrinking by at most half a step;
 * with no hits, 2 pages when the fault is next to the previous one, else 1 (no readahead).
 * page-cluster 0 never reads ahead. The state is machine-wide, as the kernel's is (one per
 * swap area here: vmsim has one). Only slots in use are read; the header slot 0 never is.
 * (On SSDs Linux reads ahead by virtual address instead, swap_vma_readahead, with the same
 * window rule per VMA; vmsim reads the slot cluster, which is what page-cluster documents.)
 */

/**
 * Linux's __swapin_nr_pages: the next window size in pages from the hits since the last
 * window, the previous fault's slot (prevOffset), this fault's slot, the most (2^page-cluster)
 * and the previous window (prevWin).
 */
export function swapinWindowPages(prevOffset: number, offset: number, hits: number, maxPages: number, prevWin: number): number {
  let pages = hits + 2;
  if (pages === 2) {
    // No hits to judge by: read ahead only for a fault next to the previous one.
    if (offset !== prevOffset + 1 && offset !== prevOffset - 1) pages = 1;
  } else {
    let roundup = 4;
    while (roundup < pages) roundup *= 2;
    pages = roundup;
  }
  if (pages > maxPages) pages = maxPages;
  // Do not shrink too fast: at least half the previous window.
  const half = Math.floor(prevWin / 2);
  return pages < half ? half : pages;
}

/** The aligned window [first, last] of `windowPages` (a power of two) slots around `slot`, within slots 1 .. slots-1. */
export function readaheadWindow(slot: number, windowPages: number, slots: number): [first: number, last: number] {
  const start = slot - (slot % windowPages);
  return [Math.max(1, start), Math.min(slots - 1, start + windowPages - 1)];
}

/** The machine's readahead state (swapin_nr_pages' statics and swapin_readahead_hits). */
export class SwapReadahead {
  private hits = 0;
  private prevOffset = 0;
  private lastPages = 0;
  /** Window sizes chosen so far, most recent last (the last 64; for tests and results). */
  readonly history: number[] = [];

  constructor(
    readonly pageCluster: number,
    private readonly slots: number,
  ) {}

  /** A fault found a page that readahead brought in (swapin_readahead_hits++). */
  hit(): void {
    this.hits++;
  }

  /** swapin_nr_pages for a fault that missed the swap cache at `slot`: the slots [first, last] to read with it. */
  window(slot: number): [first: number, last: number] {
    const max = 2 ** this.pageCluster;
    if (max <= 1) return [slot, slot];
    const hits = this.hits;
    this.hits = 0;
    const pages = swapinWindowPages(this.prevOffset, slot, hits, max, this.lastPages);
    if (hits === 0) this.prevOffset = slot;
    this.lastPages = pages;
    if (this.history.push(pages) > 64) this.history.shift();
    return pages <= 1 ? [slot, slot] : readaheadWindow(slot, pages, this.slots);
  }
}
