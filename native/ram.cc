#include "ram.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <thread>

namespace vmsim {

// The host's transparent huge page size on x86-64 (a PMD).
static constexpr uint64_t kHostHuge = 2ull << 20;

std::shared_ptr<MemFile> MemFile::create(uint64_t bytes) {
  const int fd = memfd_create("vmsim-ram", MFD_CLOEXEC);
  if (fd < 0) return nullptr;
  auto f = std::make_shared<MemFile>();
  f->fd = fd;
  f->bytes = bytes;
  if (ftruncate(fd, static_cast<off_t>(bytes)) != 0) return nullptr;
  return f;
}

MemFile::~MemFile() {
  if (fd >= 0) close(fd);
}

// pread/pwrite of a whole run, through short transfers and EINTR.
static bool preadAll(int fd, uint8_t* p, uint64_t n, uint64_t off) {
  while (n > 0) {
    const ssize_t r = pread(fd, p, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return false;
    if (r == 0) {  // past the end: zeros
      std::memset(p, 0, n);
      return true;
    }
    p += r, n -= static_cast<uint64_t>(r), off += static_cast<uint64_t>(r);
  }
  return true;
}
static bool pwriteAll(int fd, const uint8_t* p, uint64_t n, uint64_t off) {
  while (n > 0) {
    const ssize_t r = pwrite(fd, p, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r, n -= static_cast<uint64_t>(r), off += static_cast<uint64_t>(r);
  }
  return true;
}

bool RamImage::read(uint64_t pfn, uint64_t count, uint8_t* out) const {
  uint64_t i = 0;
  while (i < count) {
    // A run of frames from one source: the overlay, or the base (zeros without one).
    const bool ov = inOverlay(pfn + i);
    uint64_t j = i + 1;
    while (j < count && inOverlay(pfn + j) == ov) j++;
    const MemFile* f = ov ? overlay.get() : base.get();
    if (f) {
      if (!preadAll(f->fd, out + i * 4096, (j - i) * 4096, (pfn + i) * 4096)) return false;
    } else {
      std::memset(out + i * 4096, 0, (j - i) * 4096);
    }
    i = j;
  }
  return true;
}

bool Ram::reserve() {
  // Reserve 2 MiB more and start RAM on a 2 MiB boundary, so that every 2 MiB of frames can be
  // one host huge page when RAM is committed up front (commitAll).
  const uint64_t len = bytes_ + kHostHuge;
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;
  mapBase_ = static_cast<uint8_t*>(p);
  mapBytes_ = len;
  const uintptr_t a = (reinterpret_cast<uintptr_t>(p) + kHostHuge - 1) & ~(kHostHuge - 1);
  base_ = reinterpret_cast<uint8_t*>(a);
  return true;
}

// Puts the file over RAM's address range (replacing what was there): shared, or copy-on-write.
bool Ram::mapFile(const MemFile& f, bool shared) {
  const int flags = (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED | MAP_NORESERVE;
  return mmap(base_, bytes_, PROT_READ | PROT_WRITE, flags, f.fd, 0) != MAP_FAILED;
}

Ram::Ram(uint64_t bytes, bool anon) : bytes_(bytes) {
  if (!reserve()) return;
  if (anon) return;
  file_ = MemFile::create(bytes);
  if (!file_ || !mapFile(*file_, true)) {
    release();
    return;
  }
  mode_ = SHARED;
}

Ram::Ram(const RamImage& image) : bytes_(image.bytes) {
  if (!reserve()) return;
  if (!image.base) {
    // An image of nothing but overlay (or nothing): fresh RAM of our own, the pages written in.
    file_ = MemFile::create(bytes_);
    if (!file_ || !mapFile(*file_, true)) { release(); return; }
    mode_ = SHARED;
  } else {
    if (!mapFile(*image.base, false)) { release(); return; }
    file_ = image.base;
    mode_ = PRIVATE;
  }
  if (!image.overlay) return;
  const uint64_t frames = bytes_ / 4096;
  for (uint64_t w = 0; w < image.pages.size(); w++) {
    if (!image.pages[w]) continue;
    for (uint64_t f = w * 64; f < w * 64 + 64 && f < frames; f++)
      if (image.inOverlay(f) && !preadAll(image.overlay->fd, base_ + f * 4096, 4096, f * 4096)) { release(); return; }
  }
}

bool Ram::commitAll() {
#ifdef MADV_HUGEPAGE
  // All of RAM is committed now anyway: in 2 MiB host pages where the host's THP allows it
  // ("madvise" or "always"), one host fault and one clear per 2 MiB instead of per 4 KiB, and
  // fewer host TLB misses for the simulator's RAM accesses afterwards. Lazy RAM is not advised
  // so: the first table written in a 2 MiB block would commit the whole block (page tables sit
  // between data frames, which accesses never write), and khugepaged would collapse blocks of
  // one touched page — host memory would follow the simulated footprint, not the bytes written.
  if (mode_ == ANON) madvise(base_, bytes_, MADV_HUGEPAGE);
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
  // Only anonymous RAM: advice splits the mapping, and a file mapping must stay one piece (capture moves it whole).
  if (mode_ != ANON) return;
  const uint64_t off = (pfn * 4096) & ~(kHostHuge - 1);
  if (off + kHostHuge <= bytes_) madvise(base_ + off, kHostHuge, MADV_HUGEPAGE);
#else
  (void)pfn;
#endif
}

// Unmapping a populated mapping tears down one host PTE per page it touched (~0.1 s per GiB
// here): done on a thread of its own, so a snapshot costs the caller microseconds.
static void unmapLater(void* p, uint64_t n) {
  try {
    std::thread([p, n] { munmap(p, n); }).detach();
  } catch (...) {
    munmap(p, n);
  }
}

// Replaces RAM's mapping by a private one of `f` at the same address, without waiting for the
// old one's teardown: mremap moves the old mapping's page tables away whole (a PMD at a time,
// both ends 2 MiB aligned), the new mapping takes the range, and the old one is unmapped later.
static bool moveOnto(uint8_t* base, uint64_t bytes, const MemFile& f) {
  const uint64_t len = bytes + kHostHuge;
  void* r = mmap(nullptr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (r == MAP_FAILED) return false;
  uint8_t* dst = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(r) + kHostHuge - 1) & ~(kHostHuge - 1));
  if (mremap(base, bytes, bytes, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == MAP_FAILED) {
    munmap(r, len);
    return false;
  }
  if (mmap(base, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, f.fd, 0) == MAP_FAILED) {
    // Put the old mapping back (the range is free again): RAM stays as it was.
    if (mremap(dst, bytes, bytes, MREMAP_MAYMOVE | MREMAP_FIXED, base) == MAP_FAILED) std::abort();
    munmap(r, len);
    return false;
  }
  unmapLater(r, len);
  return true;
}

std::shared_ptr<RamImage> Ram::capture(const uint64_t* used, uint64_t frames) {
  if (!base_) return nullptr;
  if (mode_ == SHARED) {
    auto img = std::make_shared<RamImage>();
    img->bytes = bytes_;
    img->base = file_;
    if (!moveOnto(base_, bytes_, *file_)) return nullptr;
    mode_ = PRIVATE;
    return img;
  }
  if (mode_ == ANON) return rebase(used, frames);
  // Private over an image's base: the frames written since are the mapping's anonymous pages,
  // which /proc/self/pagemap tells apart from the file's (bit 61: file page, 62: swapped, 63: present).
  const int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pm < 0) return rebase(used, frames);
  std::vector<uint64_t> dirty((frames + 63) / 64, 0);
  uint64_t ndirty = 0, nused = 0;
  constexpr uint64_t BATCH = 65536;
  std::vector<uint64_t> buf(BATCH);
  const uint64_t first = reinterpret_cast<uintptr_t>(base_) / 4096;
  bool ok = true;
  for (uint64_t f = 0; f < frames && ok; f += BATCH) {
    const uint64_t n = frames - f < BATCH ? frames - f : BATCH;
    // Only blocks with frames ever handed out can differ from the base.
    bool any = false;
    for (uint64_t w = f >> 6; w < (f + n + 63) >> 6 && !any; w++) any = used[w] != 0;
    if (!any) continue;
    if (!preadAll(pm, reinterpret_cast<uint8_t*>(buf.data()), n * 8, (first + f) * 8)) ok = false;
    for (uint64_t i = 0; i < n && ok; i++) {
      const uint64_t e = buf[i];
      const bool anonPage = ((e >> 63) & 1 && !((e >> 61) & 1)) || ((e >> 62) & 1);
      if (anonPage) dirty[(f + i) >> 6] |= 1ull << ((f + i) & 63), ndirty++;
    }
  }
  close(pm);
  if (!ok) return rebase(used, frames);
  for (uint64_t w = 0; w < (frames + 63) / 64; w++) nused += static_cast<uint64_t>(__builtin_popcountll(used[w]));
  // Most of RAM rewritten since the base: one new base (a copy of the frames in use) costs at
  // most twice the overlay and keeps later restores from copying the overlay in.
  if (ndirty > 4096 && ndirty * 2 > nused) return rebase(used, frames);
  auto img = std::make_shared<RamImage>();
  img->bytes = bytes_;
  img->base = file_;
  if (ndirty == 0) return img;
  img->overlay = MemFile::create(bytes_);
  if (!img->overlay) return nullptr;
  img->pages = std::move(dirty);
  for (uint64_t f = 0; f < frames; f++) {
    if (!img->inOverlay(f) || frameIsZero(f)) continue;  // a zero page: the overlay's hole reads as zero
    uint64_t g = f + 1;
    while (g < frames && img->inOverlay(g) && !frameIsZero(g)) g++;
    if (!pwriteAll(img->overlay->fd, base_ + f * 4096, (g - f) * 4096, f * 4096)) return nullptr;
    f = g - 1;
  }
  return img;
}

// A new base file holding the frames in use (the others are zero: holes), RAM moved onto a
// private mapping of it (anonymous RAM stays as it is). Costs a copy of the frames in use.
std::shared_ptr<RamImage> Ram::rebase(const uint64_t* used, uint64_t frames) {
  auto f = MemFile::create(bytes_);
  if (!f) return nullptr;
  for (uint64_t p = 0; p < frames; p++) {
    if (!((used[p >> 6] >> (p & 63)) & 1) || frameIsZero(p)) continue;
    uint64_t q = p + 1;
    while (q < frames && ((used[q >> 6] >> (q & 63)) & 1) && !frameIsZero(q)) q++;
    if (!pwriteAll(f->fd, base_ + p * 4096, (q - p) * 4096, p * 4096)) return nullptr;
    p = q - 1;
  }
  if (mode_ == PRIVATE) {
    if (!moveOnto(base_, bytes_, *f)) return nullptr;
    file_ = f;
  }
  auto img = std::make_shared<RamImage>();
  img->bytes = bytes_;
  img->base = f;
  return img;
}

void Ram::release() {
  if (mapBase_) munmap(mapBase_, mapBytes_);
  mapBase_ = nullptr;
  base_ = nullptr;
  file_.reset();
}

Ram::~Ram() { release(); }

}  // namespace vmsim
