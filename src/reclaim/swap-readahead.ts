/**
 * Swap readahead around a faulting slot, as Linux's swap_cluster_readahead does: the window
 * is the 2^page_cluster slots aligned around it (page-cluster = 3: 8 slots). Only slots in
 * use are read; the header slot 0 never is. (Linux also shrinks the window when readahead
 * pages go unused — swapin_nr_pages — and prefers readahead by virtual address on SSDs;
 * vmsim reads the fixed window, which is what page-cluster documents.)
 */

/** The window [first, last] of slots read with `slot` (page_cluster 0 = no readahead). */
export function readaheadWindow(slot: number, pageCluster: number, pages: number): [first: number, last: number] {
  const mask = 2 ** pageCluster - 1;
  const start = slot - (slot % (mask + 1));
  return [Math.max(1, start), Math.min(pages - 1, start + mask)];
}
