// Simulated RAM: one MAP_NORESERVE mapping of the whole size, so host memory is committed
// only for frames that are touched (a 64 GiB machine starts instantly). It starts on a 2 MiB
// boundary, so RAM committed up front can be backed by host huge pages.
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
  // Unmaps RAM now (idempotent); only when nothing can reach it any more (every view of it collected).
  void release();
  // Entry at physical address pa (8-byte aligned, < bytes).
  uint64_t* entry(uint64_t pa) const { return reinterpret_cast<uint64_t*>(base_ + pa); }
  // A frame that already reads as zero is left alone: a recycled frame whose host page was
  // only ever read (still the host's shared zero page) would otherwise be committed by the
  // memset — a host write fault, a copy of the zero page and a TLB shootdown, ~1-3 us here.
  void zeroFrame(uint64_t pfn) {
    uint64_t* p = reinterpret_cast<uint64_t*>(base_ + pfn * 4096);
    for (int i = 0; i < 512; i += 8) {
      if (p[i] | p[i + 1] | p[i + 2] | p[i + 3] | p[i + 4] | p[i + 5] | p[i + 6] | p[i + 7]) {
        std::memset(p + i, 0, 4096 - i * 8);  // the lines before i are zero already
        return;
      }
    }
  }
  void copyFrame(uint64_t dst, uint64_t src) { std::memcpy(base_ + dst * 4096, base_ + src * 4096, 4096); }
  // True when the frame's 4096 bytes are all zero (stops at the first non-zero line).
  bool frameIsZero(uint64_t pfn) const {
    const uint64_t* p = reinterpret_cast<const uint64_t*>(base_ + pfn * 4096);
    for (int i = 0; i < 512; i += 8)
      if (p[i] | p[i + 1] | p[i + 2] | p[i + 3] | p[i + 4] | p[i + 5] | p[i + 6] | p[i + 7]) return false;
    return true;
  }
  // The COW break's copy onto `dst` (freshly allocated; `dstFresh`: never handed out before, so
  // its host page is untouched and reads as zero, and `blockFresh`: nor any frame of its 2 MiB
  // block). A source of zeros (most frames in a simulation: accesses move no bytes) is not
  // copied onto a fresh destination, which reads as zero already: copying would be the host's
  // first write to that page, a host page fault (~1.5-3 us on this VM). A real copy into a fresh block first
  // advises the block MADV_HUGEPAGE, so the host commits it as one 2 MiB page (one fault and one
  // clear for the 512 frames that the lowest-first allocator hands out next) instead of 512.
  void copyFrameCow(uint64_t dst, uint64_t src, bool dstFresh, bool blockFresh) {
    // A recycled destination is committed already: a plain copy is the cheapest.
    if (dstFresh) {
      if (frameIsZero(src)) return;
      if (blockFresh) adviseHuge(dst);
    }
    copyFrame(dst, src);
  }
  // madvise(MADV_HUGEPAGE) of the 2 MiB block holding frame pfn (advice: ignored where THP is off).
  void adviseHuge(uint64_t pfn);
  bool tableEmpty(uint64_t pfn) const {
    const uint64_t* t = entry(pfn * 4096);
    for (int i = 0; i < 512; i++)
      if (t[i]) return false;
    return true;
  }

 private:
  uint64_t bytes_;
  uint8_t* base_;
  // The host mapping itself (base_ is its first 2 MiB boundary).
  uint8_t* mapBase_;
  uint64_t mapBytes_;
};

}  // namespace vmsim
