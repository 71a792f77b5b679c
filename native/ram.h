// Simulated RAM: one MAP_NORESERVE mapping of the whole size, so host memory is committed
// only for frames that are touched (a 64 GiB machine starts instantly).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace vmsim {

class Ram {
 public:
  explicit Ram(uint64_t bytes);
  ~Ram();
  Ram(const Ram&) = delete;
  Ram& operator=(const Ram&) = delete;

  uint64_t bytes() const { return bytes_; }
  uint8_t* base() const { return base_; }
  bool ok() const { return base_ != nullptr; }
  // Commits host memory for all of RAM now (so no frame's first touch is a host page fault).
  bool commitAll();
  // Entry at physical address pa (8-byte aligned, < bytes).
  uint64_t* entry(uint64_t pa) const { return reinterpret_cast<uint64_t*>(base_ + pa); }
  void zeroFrame(uint64_t pfn) { std::memset(base_ + pfn * 4096, 0, 4096); }
  void copyFrame(uint64_t dst, uint64_t src) { std::memcpy(base_ + dst * 4096, base_ + src * 4096, 4096); }
  bool tableEmpty(uint64_t pfn) const {
    const uint64_t* t = entry(pfn * 4096);
    for (int i = 0; i < 512; i++)
      if (t[i]) return false;
    return true;
  }

 private:
  uint64_t bytes_;
  uint8_t* base_;
};

}  // namespace vmsim
