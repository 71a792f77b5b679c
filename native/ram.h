// Simulated RAM: one mapping of the whole size, committed only for frames that are touched (a
// 64 GiB machine starts instantly), starting on a 2 MiB boundary. Lazy RAM is a memfd mapped
// shared, so that a snapshot (RamImage) can freeze it without copying: the file becomes the
// image, and the machine goes on over a private (copy-on-write) mapping of it; a restored
// machine is one more private mapping of the image (docs/snapshots.md). Eager RAM is anonymous
// memory (host huge pages); its snapshot copies the frames in use into a new file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace vmsim {

// An anonymous file (memfd) holding RAM's bytes at their physical addresses; closed with the last owner.
struct MemFile {
  int fd = -1;
  uint64_t bytes = 0;
  static std::shared_ptr<MemFile> create(uint64_t bytes);
  ~MemFile();
};

// A frozen image of RAM: `base` (null: all zeros) with the pages of `overlay` over it (those
// whose bit is set in `pages`). Nobody writes either file once the image exists.
struct RamImage {
  uint64_t bytes = 0;
  std::shared_ptr<MemFile> base;
  std::shared_ptr<MemFile> overlay;
  std::vector<uint64_t> pages;  // overlay bitmap, one bit per frame
  bool inOverlay(uint64_t pfn) const { return overlay && ((pages[pfn >> 6] >> (pfn & 63)) & 1); }
  // Copies frames [pfn, pfn + count) into out (bytes past the files' data read as zero); false on a host read error.
  bool read(uint64_t pfn, uint64_t count, uint8_t* out) const;
};

class Ram {
 public:
  // Fresh RAM of `bytes`, all zero: a shared memfd mapping (lazy) or anonymous memory (anon: the eager machines').
  Ram(uint64_t bytes, bool anon);
  // RAM holding `image`'s bytes: a private mapping of its base file, its overlay pages copied in.
  explicit Ram(const RamImage& image);
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
  // A frozen image of RAM as it is now (null on a host error). `used` is the frame allocator's
  // bitmap of frames ever handed out (the others read as zero). Cheap for a shared mapping: the
  // file becomes the image and RAM moves onto a private mapping of it at the same address (the
  // views stay valid); a private mapping's image is its base with the pages written since.
  std::shared_ptr<RamImage> capture(const uint64_t* used, uint64_t frames);
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
  bool frameIsZero(uint64_t pfn) const { return pageIsZero(base_ + pfn * 4096); }
  static bool pageIsZero(const uint8_t* page) {
    const uint64_t* p = reinterpret_cast<const uint64_t*>(page);
    for (int i = 0; i < 512; i += 8)
      if (p[i] | p[i + 1] | p[i + 2] | p[i + 3] | p[i + 4] | p[i + 5] | p[i + 6] | p[i + 7]) return false;
    return true;
  }
  // The COW break's copy onto `dst` (freshly allocated; `dstFresh`: never handed out before, so
  // its host page is untouched and reads as zero, and `blockFresh`: nor any frame of its 2 MiB
  // block). A source of zeros (most frames in a simulation: accesses move no bytes) is not
  // copied onto a fresh destination, which reads as zero already: copying would be the host's
  // first write to that page, a host page fault (~1.5-3 us on this VM). A real copy into a fresh block first
  // advises the block MADV_HUGEPAGE (anonymous RAM only), so the host commits it as one 2 MiB page (one fault and one
  // clear for the 512 frames that the lowest-first allocator hands out next) instead of 512.
  void copyFrameCow(uint64_t dst, uint64_t src, bool dstFresh, bool blockFresh) {
    // A recycled destination is committed already: a plain copy is the cheapest.
    if (dstFresh) {
      if (frameIsZero(src)) return;
      if (blockFresh) adviseHuge(dst);
    }
    copyFrame(dst, src);
  }
  // madvise(MADV_HUGEPAGE) of the 2 MiB block holding frame pfn (anonymous RAM; advice: ignored where THP is off).
  void adviseHuge(uint64_t pfn);
  bool tableEmpty(uint64_t pfn) const {
    const uint64_t* t = entry(pfn * 4096);
    for (int i = 0; i < 512; i++)
      if (t[i]) return false;
    return true;
  }

 private:
  enum Mode { ANON, SHARED, PRIVATE };
  bool reserve();
  bool mapFile(const MemFile& f, bool shared);
  std::shared_ptr<RamImage> rebase(const uint64_t* used, uint64_t frames);
  uint64_t bytes_;
  uint8_t* base_ = nullptr;
  // The host mapping itself (base_ is its first 2 MiB boundary).
  uint8_t* mapBase_ = nullptr;
  uint64_t mapBytes_ = 0;
  Mode mode_ = ANON;
  // SHARED: the file RAM is (no image holds it yet); PRIVATE: the image's base RAM maps privately.
  std::shared_ptr<MemFile> file_;
};

}  // namespace vmsim
