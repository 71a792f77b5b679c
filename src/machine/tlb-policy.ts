/**
 * When the OS invalidates single pages and when it flushes: Linux's
 * tlb_single_page_flush_ceiling (33 pages) — above it, one flush is cheaper than many INVLPGs.
 */
export const SINGLE_PAGE_FLUSH_CEILING = 33;
