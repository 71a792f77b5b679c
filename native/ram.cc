#include "ram.h"

#include <sys/mman.h>

namespace vmsim {

Ram::Ram(uint64_t bytes) : bytes_(bytes), base_(nullptr) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p != MAP_FAILED) base_ = static_cast<uint8_t*>(p);
}

Ram::~Ram() {
  if (base_) munmap(base_, bytes_);
}

}  // namespace vmsim
