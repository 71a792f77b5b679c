#include "ram.h"

#include <sys/mman.h>

namespace vmsim {

Ram::Ram(uint64_t bytes) : bytes_(bytes), base_(nullptr) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p != MAP_FAILED) base_ = static_cast<uint8_t*>(p);
}

bool Ram::commitAll() {
#ifdef MADV_POPULATE_WRITE
  if (madvise(base_, bytes_, MADV_POPULATE_WRITE) == 0) return true;
#endif
  // Older kernels: touch one byte a page (the contents stay zero).
  for (uint64_t off = 0; off < bytes_; off += 4096) reinterpret_cast<volatile uint8_t*>(base_)[off] = 0;
  return true;
}

void Ram::release() {
  if (base_) munmap(base_, bytes_);
  base_ = nullptr;
}

Ram::~Ram() { release(); }

}  // namespace vmsim
