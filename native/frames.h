// Frame allocator: a bitmap searched a 64-bit word at a time from a lowest-possibly-free
// hint (so the lowest free frame is always chosen, as the reference core does), and a
// uint32 reference count per frame. Frame 0 is reserved.
#pragma once
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include "constants.h"
#include "ram.h"

namespace vmsim {

// An array of zeros straight from mmap: host pages are committed only when touched and given
// back whole at destruction. (calloc may hand out recycled heap memory, which it must zero —
// committing all of it — and glibc keeps freed blocks below its mmap threshold, up to 32 MiB.)
template <typename T>
class ZeroArray {
 public:
  explicit ZeroArray(uint64_t n) : bytes_(n > 0 ? n * sizeof(T) : sizeof(T)) {
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    p_ = static_cast<T*>(p);
  }
  ~ZeroArray() { munmap(p_, bytes_); }
  ZeroArray(const ZeroArray&) = delete;
  ZeroArray& operator=(const ZeroArray&) = delete;
  T& operator[](uint64_t i) { return p_[i]; }
  const T& operator[](uint64_t i) const { return p_[i]; }

 private:
  uint64_t bytes_;
  T* p_ = nullptr;
};

class Frames {
 public:
  Frames(uint64_t total, Ram& ram);
  // A restored allocator: the reference counts (a frame is allocated when its count is not 0) and
  // the frames ever handed out (`used`: a bitmap of 64-bit words, or null: the frames allocated).
  Frames(uint64_t total, Ram& ram, const uint32_t* refs, const uint64_t* used);
  // The words of the bitmap of frames ever handed out (for a snapshot).
  const uint64_t* usedWords() const { return &used_[0]; }
  uint64_t words() const { return words_; }
  uint64_t total() const { return total_; }
  uint64_t freeCount() const { return free_; }
  // Frames ever handed out: their host pages are committed (what the machine costs the host).
  uint64_t touched() const { return touched_; }
  bool allocated(uint64_t pfn) const { return (bits_[pfn >> 6] >> (pfn & 63)) & 1; }
  // In range, non-zero and allocated: what ref/unref/copy accept.
  bool usable(double pfn) const;
  bool usable(uint64_t pfn) const { return pfn > 0 && pfn < total_ && allocated(pfn); }
  // Frames [base, base + n) are all usable (n >= 1): what a leaf must cover before its references are taken or dropped.
  bool runUsable(uint64_t base, uint64_t n) const;
  // The lowest free frame; `zero` = false skips zeroing a recycled frame (the caller overwrites all of it).
  int64_t alloc(bool zero = true);
  // True when the frame the last alloc() took had never been handed out: its host memory is
  // untouched and reads as zero, and writing it is the host's first commit of that page.
  bool lastFresh() const { return lastFresh_; }
  // True when no frame of pfn's 2 MiB block (512 frames) but pfn itself was ever handed out.
  bool blockFresh(uint64_t pfn) const {
    const uint64_t first = pfn & ~511ull;
    if (first + 512 > total_) return false;
    for (uint64_t w = first >> 6; w < (first >> 6) + 8; w++) {
      uint64_t v = used_[w];
      if (w == (pfn >> 6)) v &= ~(1ull << (pfn & 63));
      if (v) return false;
    }
    return true;
  }
  int64_t allocRun(double count, double align);
  int allocList(double* out, size_t outLength, double count);
  int64_t ref(double pfn);
  int64_t unref(double pfn);
  // Drops one reference from each of list[0..count) (a frame may be listed as often as it has
  // references): the frames freed, or EINVAL with nothing changed.
  int64_t unrefList(const double* list, size_t count);
  // Unchecked variants for internal use on frames known to be usable.
  void refU(uint64_t pfn) { refs_[pfn]++; }
  uint32_t unrefU(uint64_t pfn);
  uint32_t count(uint64_t pfn) const { return refs_[pfn]; }
  void noteWritten(uint64_t pfn, uint64_t n) {
    for (uint64_t f = pfn; f < pfn + n && f < total_; f++) used_[f >> 6] |= 1ull << (f & 63);
  }

 private:
  void take(uint64_t pfn, bool zero = true);
  uint64_t total_;
  uint64_t free_;
  uint64_t hint_ = 0;
  uint64_t touched_ = 0;
  // Fresh zero pages the host commits only when touched: a 64 GiB machine does not pay for
  // 64 MiB of reference counts up front.
  uint64_t words_;
  ZeroArray<uint64_t> bits_;
  ZeroArray<uint32_t> refs_;
  // Frames handed out at least once: only those can hold old data. Fresh host memory is zero,
  // so never-used frames are not memset — that would commit host memory nobody asked for.
  ZeroArray<uint64_t> used_;
  bool lastFresh_ = false;
  Ram& ram_;
};

}  // namespace vmsim
