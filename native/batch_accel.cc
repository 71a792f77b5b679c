// The known-miss fill of the batches (see batch_accel.h).
#include "batch_accel.h"

namespace vmsim {

// access() for a user-mode 4K access already known to miss (FastHits::hit returned -1): the
// walk, then the fill inlined for the common case of a non-global 4K translation in a scanned
// set. Same counters, entries and LRU order as access().
__attribute__((noinline)) bool Cpu::missTouch(uint64_t la, int kind) {
  c_[C_MISSES] += 1;
  if (walk(la, kind, true, false) < 0) return false;
  const uint64_t vpn = la >> 12;
  if (wSizeClass_ != 0 || (wFlags_ & T_GLOBAL) || tlb_.meta[1] != 0) {
    tlb_.fill(c_, la >> (12 + 9 * wSizeClass_), wSizeClass_, (wFlags_ & T_GLOBAL) ? GLOBAL_TAG : tag_, wPbase_, wFlags_);
  } else {
    // No global or large entries exist (hit() checked meta[0] and meta[2], and meta[1] just
    // above), so the victim needs no meta update; its sets are scanned (hit() returns -1 only
    // then), so it needs no hash update, and the touch below gives it its new stamp.
    const uint32_t set = static_cast<uint32_t>(tlb_.setOf(vpn));
    const int32_t e = tlb_.victim(set);
    if (tlb_.flags[e] & T_VALID) c_[C_EVICTIONS] += 1;
    tlb_.key[e] = Tlb::makeKey(vpn, 0, tag_);
    tlb_.pbase[e] = wPbase_;
    tlb_.flags[e] = wFlags_ | T_VALID;
    tlb_.touchInSet(e, set);
  }
  c_[C_READS + kind] += 1;
  return true;
}

}  // namespace vmsim
