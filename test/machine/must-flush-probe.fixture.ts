// A file the must-flush test checks: lines 8, 9 and 10 drop a TlbFlush (or a list of them); the rest use theirs.
import { TlbFlush, flushAll } from '../../src/machine/tlb-flush.js';

declare const pt: { unmapEntries(): TlbFlush; many(): TlbFlush[] };

export function probe(): void {
  // Dropped:
  pt.unmapEntries();
  void pt.unmapEntries();
  pt.many();
  // Used:
  pt.unmapEntries().flush();
  flushAll(pt.many());
  const f = pt.unmapEntries();
  f.flush();
}
