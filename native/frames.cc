#include "frames.h"

#include <cmath>
#include <new>

namespace vmsim {

static bool isInt(double v) { return std::isfinite(v) && v == std::floor(v); }

Frames::Frames(uint64_t total, Ram& ram)
    : total_(total),
      free_(total - 1),
      words_((total + 63) / 64),
      bits_(words_),
      refs_(total),
      used_(words_),
      ram_(ram) {
  // Bits past the last frame are "allocated" so no search returns them.
  for (uint64_t f = total; f < words_ * 64; f++) bits_[f >> 6] |= 1ull << (f & 63);
  bits_[0] |= 1;
  refs_[0] = 1;
}

Frames::Frames(uint64_t total, Ram& ram, const uint32_t* refs, const uint64_t* used)
    : total_(total), free_(0), words_((total + 63) / 64), bits_(words_), refs_(total), used_(words_), ram_(ram) {
  for (uint64_t f = total; f < words_ * 64; f++) bits_[f >> 6] |= 1ull << (f & 63);
  for (uint64_t f = 0; f < total; f++) {
    if (refs[f] != 0) {
      refs_[f] = refs[f];
      bits_[f >> 6] |= 1ull << (f & 63);
    } else {
      free_++;
    }
  }
  bits_[0] |= 1;
  refs_[0] = 1;
  // touched_ stays 0: the frames used so far are the image's pages, shared until written (the
  // machine tells V8 of the host memory it commits, and that is none of them yet).
  for (uint64_t w = 0; w < words_; w++) used_[w] = used ? used[w] : bits_[w];
}

bool Frames::usable(double pfn) const {
  if (!isInt(pfn) || pfn <= 0 || pfn >= static_cast<double>(total_)) return false;
  return allocated(static_cast<uint64_t>(pfn));
}

bool Frames::runUsable(uint64_t base, uint64_t n) const {
  if (base == 0 || base >= total_ || n > total_ - base) return false;
  uint64_t f = base;
  const uint64_t end = base + n;
  for (; f < end && (f & 63); f++)
    if (!allocated(f)) return false;
  for (; f + 64 <= end; f += 64)
    if (bits_[f >> 6] != ~0ull) return false;
  for (; f < end; f++)
    if (!allocated(f)) return false;
  return true;
}

void Frames::take(uint64_t pfn, bool zero) {
  bits_[pfn >> 6] |= 1ull << (pfn & 63);
  refs_[pfn] = 1;
  free_--;
  lastFresh_ = !((used_[pfn >> 6] >> (pfn & 63)) & 1);
  if (zero && !lastFresh_) ram_.zeroFrame(pfn);
  if (lastFresh_) touched_++;
  used_[pfn >> 6] |= 1ull << (pfn & 63);
}

int64_t Frames::alloc(bool zero) {
  const uint64_t words = words_;
  for (uint64_t w = hint_; w < words; w++) {
    const uint64_t v = bits_[w];
    if (v != ~0ull) {
      const uint64_t pfn = w * 64 + __builtin_ctzll(~v);
      take(pfn, zero);
      hint_ = w;
      return static_cast<int64_t>(pfn);
    }
  }
  hint_ = words;
  return ENOMEM_;
}

int64_t Frames::allocRun(double countD, double alignD) {
  int exp = 0;
  if (!isInt(countD) || countD < 1 || !isInt(alignD) || alignD < 1 || std::frexp(alignD, &exp) != 0.5) return EINVAL_;  // align: a power of two
  // Frame 0 is never free, so with align >= total no run exists (and the casts below stay defined).
  if (countD > static_cast<double>(total_) || alignD >= static_cast<double>(total_)) return ENOMEM_;
  const uint64_t count = static_cast<uint64_t>(countD), align = static_cast<uint64_t>(alignD);
  uint64_t s = 0;
  while (s + count <= total_) {
    int64_t used = -1;
    for (uint64_t f = s + count; f-- > s;) {
      if (allocated(f)) {
        used = static_cast<int64_t>(f);
        break;
      }
    }
    if (used < 0) {
      for (uint64_t f = s; f < s + count; f++) take(f);
      return static_cast<int64_t>(s);
    }
    s = (static_cast<uint64_t>(used) + 1 + align - 1) / align * align;
  }
  return ENOMEM_;
}

int Frames::allocList(double* out, size_t outLength, double count) {
  if (!isInt(count) || count < 0 || count > static_cast<double>(outLength)) return EINVAL_;
  if (count > static_cast<double>(free_)) return ENOMEM_;
  for (size_t k = 0; k < static_cast<size_t>(count); k++) out[k] = static_cast<double>(alloc());
  return OK;
}

int64_t Frames::ref(double pfn) {
  if (!usable(pfn)) return EINVAL_;
  return ++refs_[static_cast<uint64_t>(pfn)];
}

uint32_t Frames::unrefU(uint64_t pfn) {
  const uint32_t n = --refs_[pfn];
  if (n == 0) {
    bits_[pfn >> 6] &= ~(1ull << (pfn & 63));
    free_++;
    if ((pfn >> 6) < hint_) hint_ = pfn >> 6;
  }
  return n;
}

int64_t Frames::unref(double pfn) {
  if (!usable(pfn)) return EINVAL_;
  return unrefU(static_cast<uint64_t>(pfn));
}

int64_t Frames::unrefList(const double* list, size_t count) {
  for (size_t i = 0; i < count; i++)
    if (!usable(list[i])) return EINVAL_;
  // Take the references first, undoing them at a reference too many (a frame listed too often).
  size_t i = 0;
  for (; i < count; i++) {
    const uint64_t pfn = static_cast<uint64_t>(list[i]);
    if (refs_[pfn] == 0) break;
    refs_[pfn]--;
  }
  if (i < count) {
    while (i-- > 0) refs_[static_cast<uint64_t>(list[i])]++;
    return EINVAL_;
  }
  int64_t freed = 0;
  for (size_t k = 0; k < count; k++) {
    const uint64_t pfn = static_cast<uint64_t>(list[k]);
    if (refs_[pfn] != 0 || !allocated(pfn)) continue;
    bits_[pfn >> 6] &= ~(1ull << (pfn & 63));
    free_++;
    if ((pfn >> 6) < hint_) hint_ = pfn >> 6;
    freed++;
  }
  return freed;
}

}  // namespace vmsim
