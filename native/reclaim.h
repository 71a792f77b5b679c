// Bulk page operations for reclaim: read and clear the Accessed/Dirty bits of a list of
// pages, replace present leaves by swap entries (non-present entries the VMM encodes), read
// and write raw 4 KiB-level entries, and map a page back in. No policy: the VMM decides.
// Semantics: src/core/core.ts (reclaim section); reference: src/core/ref/reclaim.ts.
#pragma once
#include <cstddef>
#include <cstdint>

#include "frames.h"
#include "page_table.h"
#include "ram.h"

namespace vmsim {

// Bits of pageBits' output per page.
constexpr uint8_t PB_ACCESSED = 1, PB_DIRTY = 2, PB_PRESENT = 4, PB_LARGE = 8, PB_SWAP = 16, PB_SHARED = 32, PB_WRITABLE = 64;

class Reclaim {
 public:
  Reclaim(PageTables& pt, Frames& frames, Ram& ram) : pt_(pt), frames_(frames), ram_(ram) {}
  // True when every las[i] is a 4 KiB-aligned user-half address.
  static bool listOk(const double* las, size_t n);
  void pageBits(uint64_t root, const double* las, size_t n, uint8_t* out, double* frames);
  int64_t clearAccessed(uint64_t root, const double* las, size_t n);
  int64_t swapOut(uint64_t root, const double* las, size_t n, const uint32_t* lo, const uint32_t* hi);
  int readEntry(uint64_t root, uint64_t la, uint64_t* entry);
  int64_t writeEntries(uint64_t root, const double* las, size_t n, const uint32_t* lo, const uint32_t* hi);
  int64_t swapIn(uint64_t root, uint64_t la, double pfn, uint64_t attrs, const uint8_t* bytes);
  // Frames frames[0..n) to dst + i*4096, except all-zero ones (zero[i] = 1). EINVAL (nothing written) for a frame not allocated.
  int copyFramesOut(const double* frames, size_t n, uint8_t* dst, uint8_t* zero);

 private:
  // The 4 KiB-level slot for la: nullptr when no table holds it; *large set when a large leaf maps it.
  uint64_t* slot4k(uint64_t root, uint64_t la, bool create, bool* large);
  PageTables& pt_;
  Frames& frames_;
  Ram& ram_;
};

}  // namespace vmsim
