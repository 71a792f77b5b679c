#include "ram.h"

#include <sys/mman.h>

namespace vmsim {

// The host's transparent huge page size on x86-64 (a PMD).
static constexpr uint64_t kHostHuge = 2ull << 20;

Ram::Ram(uint64_t bytes) : bytes_(bytes), base_(nullptr), mapBase_(nullptr), mapBytes_(0) {
  // Reserve 2 MiB more and start RAM on a 2 MiB boundary, so that every 2 MiB of frames can be
  // one host huge page when RAM is committed up front (commitAll).
  const uint64_t len = bytes + kHostHuge;
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return;
  mapBase_ = static_cast<uint8_t*>(p);
  mapBytes_ = len;
  const uintptr_t a = (reinterpret_cast<uintptr_t>(p) + kHostHuge - 1) & ~(kHostHuge - 1);
  base_ = reinterpret_cast<uint8_t*>(a);
}

bool Ram::commitAll() {
#ifdef MADV_HUGEPAGE
  // All of RAM is committed now anyway: in 2 MiB host pages where the host's THP allows it
  // ("madvise" or "always"), one host fault and one clear per 2 MiB instead of per 4 KiB, and
  // fewer host TLB misses for the simulator's RAM accesses afterwards. Lazy RAM is not advised
  // so: the first table written in a 2 MiB block would commit the whole block (page tables sit
  // between data frames, which accesses never write), and khugepaged would collapse blocks of
  // one touched page — host memory would follow the simulated footprint, not the bytes written.
  madvise(base_, bytes_, MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_WRITE
  if (madvise(base_, bytes_, MADV_POPULATE_WRITE) == 0) return true;
#endif
  // Older kernels: touch one byte a page (the contents stay zero).
  for (uint64_t off = 0; off < bytes_; off += 4096) reinterpret_cast<volatile uint8_t*>(base_)[off] = 0;
  return true;
}

void Ram::adviseHuge(uint64_t pfn) {
#ifdef MADV_HUGEPAGE
  const uint64_t off = (pfn * 4096) & ~(kHostHuge - 1);
  if (off + kHostHuge <= bytes_) madvise(base_ + off, kHostHuge, MADV_HUGEPAGE);
#else
  (void)pfn;
#endif
}

void Ram::release() {
  if (mapBase_) munmap(mapBase_, mapBytes_);
  mapBase_ = nullptr;
  base_ = nullptr;
}

Ram::~Ram() { release(); }

}  // namespace vmsim
