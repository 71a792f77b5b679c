// Bulk page operations for reclaim (see reclaim.h). Each is one loop over a list; the walk
// to each page's 4 KiB slot is PageTables::descend.
#include "reclaim.h"

#include <cmath>
#include <cstring>

namespace vmsim {

bool Reclaim::listOk(const double* las, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const double la = las[i];
    // No fmod: it costs more than the walk. In range first, then the integer's low bits.
    if (!(la >= 0 && la < 140737488355328.0) || la != std::floor(la) || (static_cast<uint64_t>(la) & 4095) != 0) return false;
  }
  return true;
}

uint64_t* Reclaim::slot4k(uint64_t root, uint64_t la, bool create, bool* large) {
  *large = false;
  const int64_t t = pt_.descend(root, la, 1, create);
  if (t < 0) {
    *large = true;
    return nullptr;
  }
  if (t == 0) return nullptr;
  return pt_.slot(static_cast<uint64_t>(t), indexAt(la, 1));
}

void Reclaim::pageBits(uint64_t root, const double* las, size_t n, uint8_t* out, double* frames) {
  for (size_t i = 0; i < n; i++) {
    bool large;
    const uint64_t* s = slot4k(root, static_cast<uint64_t>(las[i]), false, &large);
    frames[i] = -1;
    if (large) {
      // A 2M/1G leaf: its A/D (the page's, as the CPU keeps them there) and this 4K part's frame.
      uint64_t table, idx;
      const int level = pt_.leaf(root, static_cast<uint64_t>(las[i]), &table, &idx, true);
      if (level < 2) {
        out[i] = PB_LARGE;  // a bad large entry: reported, never followed
        continue;
      }
      const uint64_t e = *pt_.slot(table, idx);
      const uint64_t n = leafFrames(level);
      const uint64_t pfn = (entryPfn(e) & ~(n - 1)) + ((static_cast<uint64_t>(las[i]) >> 12) & (n - 1));
      out[i] = PB_LARGE | PB_PRESENT | ((e & A) ? PB_ACCESSED : 0) | ((e & D) ? PB_DIRTY : 0) | ((e & RW) ? PB_WRITABLE : 0) | (frames_.count(pfn) > 1 ? PB_SHARED : 0);
      frames[i] = static_cast<double>(pfn);
      continue;
    }
    const uint64_t e = s ? *s : 0;
    if (!(e & P)) {
      out[i] = e ? PB_SWAP : 0;
      continue;
    }
    const uint64_t pfn = entryPfn(e);
    // A leaf naming no usable frame is a bad entry (untrusted tables): reported as empty, never followed.
    if (!frames_.usable(pfn)) {
      out[i] = 0;
      continue;
    }
    out[i] = PB_PRESENT | ((e & A) ? PB_ACCESSED : 0) | ((e & D) ? PB_DIRTY : 0) | ((e & RW) ? PB_WRITABLE : 0) | (frames_.count(pfn) > 1 ? PB_SHARED : 0);
    frames[i] = static_cast<double>(pfn);
  }
}

int64_t Reclaim::clearAccessed(uint64_t root, const double* las, size_t n) {
  int64_t cleared = 0;
  for (size_t i = 0; i < n; i++) {
    bool large;
    uint64_t* s = slot4k(root, static_cast<uint64_t>(las[i]), false, &large);
    if (large) {
      // pmdp_test_and_clear_young: a large leaf's Accessed bit.
      uint64_t table, idx;
      if (pt_.leaf(root, static_cast<uint64_t>(las[i]), &table, &idx, true) >= 2) s = pt_.slot(table, idx);
    }
    if (s && (*s & P) && (*s & A)) {
      *s &= ~A;
      cleared++;
    }
  }
  return cleared;
}

int64_t Reclaim::swapOut(uint64_t root, const double* las, size_t n, const uint32_t* lo, const uint32_t* hi) {
  // All or nothing: check every page first.
  for (size_t i = 0; i < n; i++) {
    if (lo[i] & P) return EINVAL_;
    bool large;
    const uint64_t* s = slot4k(root, static_cast<uint64_t>(las[i]), false, &large);
    if (!s || !(*s & P) || !frames_.usable(entryPfn(*s))) return ENOENT_;
  }
  int64_t freed = 0;
  for (size_t i = 0; i < n; i++) {
    bool large;
    uint64_t* s = slot4k(root, static_cast<uint64_t>(las[i]), false, &large);
    const uint64_t pfn = entryPfn(*s);
    *s = static_cast<uint64_t>(lo[i]) | (static_cast<uint64_t>(hi[i]) << 32);
    if (frames_.unrefU(pfn) == 0) freed++;
  }
  return freed;
}

int Reclaim::readEntry(uint64_t root, uint64_t la, uint64_t* entry) {
  bool large;
  const uint64_t* s = slot4k(root, la, false, &large);
  if (large) return EINVAL_;
  if (!s) return ENOENT_;
  *entry = *s;
  return OK;
}

int64_t Reclaim::writeEntries(uint64_t root, const double* las, size_t n, const uint32_t* lo, const uint32_t* hi) {
  for (size_t i = 0; i < n; i++) {
    if (lo[i] & P) return EINVAL_;
    bool large;
    const uint64_t* s = slot4k(root, static_cast<uint64_t>(las[i]), false, &large);
    if (large || (s && (*s & P))) return EEXIST_;
  }
  int64_t written = 0;
  try {
    for (size_t i = 0; i < n; i++) {
      const uint64_t e = static_cast<uint64_t>(lo[i]) | (static_cast<uint64_t>(hi[i]) << 32);
      bool large;
      // Clearing needs no table; writing an entry creates the tables down to it.
      uint64_t* s = slot4k(root, static_cast<uint64_t>(las[i]), e != 0, &large);
      if (!s) continue;
      *s = e;
      written++;
    }
  } catch (const Abort& a) {
    return a.status;  // ENOMEM creating a table: the entries before it are written (the caller undoes them)
  }
  return written;
}

int Reclaim::copyFramesOut(const double* frames, size_t n, uint8_t* dst, uint8_t* zero) {
  for (size_t i = 0; i < n; i++)
    if (!frames_.usable(frames[i])) return EINVAL_;
  for (size_t i = 0; i < n; i++) {
    const uint8_t* src = ram_.base() + static_cast<uint64_t>(frames[i]) * 4096;
    const uint64_t* w = reinterpret_cast<const uint64_t*>(src);
    uint64_t any = 0;
    // Most pages with data differ from zero early: test a line at a time, stop at the first non-zero one.
    for (int k = 0; k < 512 && any == 0; k += 8) any = w[k] | w[k + 1] | w[k + 2] | w[k + 3] | w[k + 4] | w[k + 5] | w[k + 6] | w[k + 7];
    zero[i] = any == 0 ? 1 : 0;
    if (any != 0) std::memcpy(dst + i * 4096, src, 4096);
  }
  return OK;
}

int64_t Reclaim::swapIn(uint64_t root, uint64_t la, double pfn, uint64_t attrs, const uint8_t* bytes) {
  bool large;
  uint64_t* s = slot4k(root, la, false, &large);
  if (large || (s && (*s & P))) return EEXIST_;
  if (pfn >= 0 && !frames_.usable(pfn)) return EINVAL_;
  uint64_t f;
  if (pfn >= 0) {
    f = static_cast<uint64_t>(pfn);
  } else {
    // The copy overwrites the whole frame, so a recycled frame need not be zeroed first.
    const int64_t nf = frames_.alloc(bytes == nullptr);
    if (nf < 0) return nf;
    f = static_cast<uint64_t>(nf);
  }
  if (!s) {
    try {
      s = slot4k(root, la, true, &large);
    } catch (const Abort& a) {
      if (pfn < 0) frames_.unrefU(f);  // a failed operation changes nothing
      return a.status;
    }
  }
  if (pfn >= 0) frames_.refU(f);
  else if (bytes) std::memcpy(ram_.base() + f * 4096, bytes, 4096);
  *s = (attrs & (ATTR_LO | NX)) | P | (f << 12);
  return static_cast<int64_t>(f);
}

}  // namespace vmsim
