#include "cpu.h"

#include "batch_accel.h"
#include "hierarchy.h"

#include <cmath>
#include <cstring>

namespace vmsim {

static const uint64_t SIZE_OF_CLASS[3] = {4096, 1ull << 21, 1ull << 30};

Cpu::Cpu(Ram& ram, Tlb& tlb, double* counters, double* result, int f)
    : ram_(ram), tlb_(tlb), c_(counters), r_(result), nxe_(f & F_NXE), smep_(f & F_SMEP), smap_(f & F_SMAP), pcide_(f & F_PCIDE), wp_(f & F_WP) {}

void Cpu::setCr3(int64_t root, uint32_t pcid, bool noFlush) {
  root_ = root;
  tag_ = pcide_ ? pcid : 0;
  if (pcide_) {
    if (noFlush) return;
    const uint32_t t = tag_;
    tlb_.invalidateWhere([t](double k, uint8_t f) { return !(f & T_GLOBAL) && static_cast<uint64_t>(k) % 8192 == t; });
  } else {
    tlb_.invalidateWhere([](double, uint8_t f) { return !(f & T_GLOBAL); });
  }
  c_[C_FLUSHES] += 1;
}

double Cpu::fault(uint64_t la, int kind, bool user, bool present, bool rsvd) {
  int code = (present ? PF_P : 0) | (kind == 1 ? PF_W : 0) | (user ? PF_U : 0) | (rsvd ? PF_RSVD : 0);
  if (kind == 2 && (nxe_ || smep_)) code |= PF_I;
  tlb_.invalidateAddress(la, tag_);  // SDM §4.10.4.1: a fault drops the address's entries
  c_[C_FAULTS] += 1;
  r_[R_A] = static_cast<double>(la);
  r_[R_B] = code;
  r_[R_C] = kind;
  return -(1.0 + code);
}

double Cpu::walk(uint64_t la, int kind, bool user, bool ac) {
  c_[C_WALKS] += 1;
  uint64_t table = static_cast<uint64_t>(root_);
  bool w = true, u = true, nx = false;
  uint64_t* eas[4];
  int n = 0;
  int level = 4;
  uint64_t e = 0;
  // A cached PDE skips the three upper levels when their entries still hold the values the
  // filling walk left (Accessed set): the walk through them would read and do the same. The
  // addresses come from the cached values, so the three loads do not wait on each other.
  const uint64_t pkey = (static_cast<uint64_t>(root_) << 27) ^ (la >> 21);
  PdeCache& pc = pde_[(la >> 21) & (PDE_CACHE - 1)];
  if (pc.key == pkey && ((*ram_.entry(static_cast<uint64_t>(root_) * 4096 + indexAt(la, 4) * 8) == pc.pml4e) &
                         (*ram_.entry(entryPfn(pc.pml4e) * 4096 + indexAt(la, 3) * 8) == pc.pdpte) &
                         (*ram_.entry(entryPfn(pc.pdpte) * 4096 + indexAt(la, 2) * 8) == pc.pde))) {
    // The PTE alone: the same checks, A/D updates and results as the loop below at level 1.
    uint64_t* s = ram_.entry(entryPfn(pc.pde) * 4096 + ((la >> 12) & 511) * 8);
    e = *s;
    if (!(e & P)) return fault(la, kind, user, false, false);
    if (!nxe_ && (e & NX)) return fault(la, kind, user, true, true);
    w = pc.w && (e & RW);
    u = pc.u && (e & US);
    nx = pc.nx || (nxe_ && (e & NX));
    if (!allowed(kind, user, ac, u, w, nx)) return fault(la, kind, user, true, false);
    const uint64_t v = e | A | (kind == 1 ? D : 0);
    if (v != e) *s = v;
    wPbase_ = static_cast<double>(entryPfn(e) * 4096);
    wSizeClass_ = 0;
    wFlags_ = (w ? T_WRITABLE : 0) | (u ? T_USER : 0) | (nx ? T_NX : 0) | ((v & D) ? T_DIRTY : 0) | ((v & G) ? T_GLOBAL : 0);
    return 0;
  }
  bool upW = true, upU = true, upNx = false;
  for (;; level--) {
    const uint64_t pa = table * 4096 + indexAt(la, level) * 8;
    if (pa + 8 > ram_.bytes()) return fault(la, kind, user, false, false);
    uint64_t* s = ram_.entry(pa);
    e = *s;
    if (!(e & P)) return fault(la, kind, user, false, false);
    const bool ps = (e & PS) != 0;
    const bool rsvd = (!nxe_ && (e & NX)) || (level == 4 && ps) || (level == 3 && ps && (e & 0x3FFFE000ull)) || (level == 2 && ps && (e & 0x1FE000ull));
    if (rsvd) return fault(la, kind, user, true, true);
    w = w && (e & RW);
    u = u && (e & US);
    nx = nx || (nxe_ && (e & NX));
    eas[n++] = s;
    if (level == 1 || (level < 4 && ps)) break;
    table = entryPfn(e);
    if (level == 2) {
      upW = w;
      upU = u;
      upNx = nx;
    }
  }
  if (!allowed(kind, user, ac, u, w, nx)) return fault(la, kind, user, true, false);
  for (int i = 0; i < n; i++) {
    uint64_t v = *eas[i] | A;
    if (i == n - 1 && kind == 1) v |= D;
    if (v != *eas[i]) *eas[i] = v;
  }
  if (level == 1) {
    // Filled only after a successful walk, when the upper entries' Accessed bits are set.
    pc.key = pkey;
    pc.pml4e = *eas[0];
    pc.pdpte = *eas[1];
    pc.pde = *eas[2];
    pc.w = upW;
    pc.u = upU;
    pc.nx = upNx;
  }
  const uint64_t leafE = *eas[n - 1];
  const uint64_t frames = leafFrames(level);
  wPbase_ = static_cast<double>((entryPfn(e) & ~(frames - 1)) * 4096);
  wSizeClass_ = static_cast<uint32_t>(level - 1);
  wFlags_ = (w ? T_WRITABLE : 0) | (u ? T_USER : 0) | (nx ? T_NX : 0) | ((leafE & D) ? T_DIRTY : 0) | ((leafE & G) ? T_GLOBAL : 0);
  return 0;
}

double Cpu::access(uint64_t la, int kind, int flags) {
  if (hier_) return hier_->access(la, kind, flags);
  const bool user = flags & 1, ac = flags & 2;
  if (root_ < 0) return fault(la, kind, user, false, false);
  const int32_t e = tlb_.lookup(la, tag_);
  if (e >= 0) {
    c_[C_HITS] += 1;
    tlb_.touch(e);
    const uint8_t f = tlb_.flags[e];
    if (!allowed(kind, user, ac, f & T_USER, f & T_WRITABLE, f & T_NX)) return fault(la, kind, user, true, false);
    if (kind == 1 && !(f & T_DIRTY)) {
      const double r = walk(la, kind, user, ac);
      if (r < 0) return r;
      tlb_.flags[e] = (tlb_.flags[e] & T_VALID) | wFlags_;
    }
    c_[C_READS + kind] += 1;
    const uint64_t size = SIZE_OF_CLASS[Tlb::sizeClass(tlb_.key[e])];
    return tlb_.pbase[e] + static_cast<double>(la & (size - 1));
  }
  c_[C_MISSES] += 1;
  const double r = walk(la, kind, user, ac);
  if (r < 0) return r;
  const uint64_t size = SIZE_OF_CLASS[wSizeClass_];
  const uint32_t tag = (wFlags_ & T_GLOBAL) ? GLOBAL_TAG : tag_;
  tlb_.fill(c_, la >> (12 + 9 * wSizeClass_), wSizeClass_, tag, wPbase_, wFlags_);
  c_[C_READS + kind] += 1;
  return wPbase_ + static_cast<double>(la & (size - 1));
}
__attribute__((noinline)) bool Cpu::fullTouch(uint64_t la, int kind, int flags) { return access(la, kind, flags) >= 0; }

// One page touch of a batch: the inline hit, else (memo dropped: the full path may move or
// replace entries) the known-miss path or the full access path. The local counts are sums,
// written back once at the end. The FastHits object never escapes, so they stay in registers.
#define VMSIM_TOUCH(LA, KIND, ON_FAULT)                            \
  do {                                                             \
    const int h_ = fast ? local.hit((LA), (KIND)) : 0;             \
    lastHit = h_ > 0;                                              \
    if (h_ <= 0) {                                                 \
      local.clearMemo();                                           \
      if (!(h_ < 0 ? missTouch((LA), (KIND)) : fullTouch((LA), (KIND), flags))) ON_FAULT; \
    }                                                              \
  } while (0)

int64_t Cpu::accessBatch(const double* las, const uint8_t* kinds, uint64_t start, uint64_t end, int flags) {
  // Checked before anything runs, so a bad batch changes nothing. Bit 2 of flags says the
  // caller already checked this batch (a resume after a handled fault): without it, resuming
  // after every fault would re-check the rest of the batch each time.
  for (uint64_t i = (flags & 4) ? end : start; i < end; i++) {
    const double a = las[i];
    // In range first (so the cast is defined), then integral: a cast round trip is cheaper than floor().
    if (kinds[i] > 2 || !(a >= -140737488355328.0 && a < 140737488355328.0) || static_cast<double>(static_cast<int64_t>(a)) != a) return EINVAL_;
  }
  if (hier_) return hierAccessBatch(las, kinds, start, end, flags);
  FastHits local(tlb_, tag_);
  const bool fast = (flags & 1) && root_ >= 0;
  int64_t stop = static_cast<int64_t>(end);
  HitCounts run;
  const LruRefs lru(tlb_);
  const bool stamps = tlb_.ways <= SCAN_WAYS;
  bool lastHit = true;
  for (uint64_t i = start; i < end; i++) {
    // The hit run is entered after a hit; after a miss the next access is likely one too, and a
    // run that stops at once would only add a call.
    if (fast && lastHit) {
      i = stamps ? accessHitRun<true>(las, kinds, i, end, local.memo, lru, run) : accessHitRun<false>(las, kinds, i, end, local.memo, lru, run);
      if (i >= end) break;
    }
    const double a = las[i];
    const uint64_t la = a < 0 ? static_cast<uint64_t>(static_cast<int64_t>(a) + static_cast<int64_t>(TWO48)) : static_cast<uint64_t>(static_cast<int64_t>(a));
    const int kind = kinds[i];
    bool faulted = false;
    VMSIM_TOUCH(la, kind, faulted = true);
    if (faulted) {
      stop = static_cast<int64_t>(i);
      break;
    }
  }
  local.hits += run.hits;
  local.reads += run.k[0];
  local.writes += run.k[1];
  local.flush(c_);
  return stop;
}

// accessBatch through the hierarchy: access() for each; only the first may be a retry (bit 3).
int64_t Cpu::hierAccessBatch(const double* las, const uint8_t* kinds, uint64_t start, uint64_t end, int flags) {
  for (uint64_t i = start; i < end; i++) {
    const double a = las[i];
    const uint64_t la = a < 0 ? static_cast<uint64_t>(static_cast<int64_t>(a) + static_cast<int64_t>(TWO48)) : static_cast<uint64_t>(static_cast<int64_t>(a));
    if (hier_->access(la, kinds[i], i == start ? flags : flags & ~H_RETRY) < 0) return static_cast<int64_t>(i);
  }
  return static_cast<int64_t>(end);
}

int64_t Cpu::traceBatch(const uint32_t* w, uint64_t start, uint64_t end, int flags, double* out) {
  // Through the hierarchy when one is attached (user mode only, as hierTraceBatch).
  if (hier_) return (flags & 1) ? hier_->traceBatch(w, start, end, flags, out) : EINVAL_;
  if (!(flags & 4)) {
    // An OR over every high word, no early exit: the compiler vectorises it (valid input is the rule).
    uint32_t bits = 0;
    for (uint64_t i = start >> 1; i < end; i++) bits |= w[2 * i + 1];
    if (bits >> 30) return EINVAL_;
  }
  FastHits local(tlb_, tag_);
  const bool fast = (flags & 1) && root_ >= 0;
  // Completed records: loads, stores and modifies counted, fetches derived; page crossings.
  uint64_t nLoad = 0, nStore = 0, nModify = 0, splits = 0;
  uint64_t i = start >> 1;
  bool skipFirst = start & 1;  // resuming at the second page of record i
  int64_t stop = static_cast<int64_t>(end * 2);
  HitCounts run;
  const LruRefs lru(tlb_);
  const bool stamps = tlb_.ways <= SCAN_WAYS;
  bool lastHit = true;
  for (; i < end; i++) {
    if (fast && lastHit && !skipFirst) {
      i = stamps ? traceHitRun<true>(w, i, end, local.memo, lru, run) : traceHitRun<false>(w, i, end, local.memo, lru, run);
      if (i >= end) break;
    }
    const uint32_t hi = w[2 * i + 1];
    const uint64_t la = (static_cast<uint64_t>(hi & 0xFFFF) << 32) | w[2 * i];
    const uint32_t tk = (hi >> 16) & 3;
    const int kind = (0x64 >> (2 * tk)) & 3;  // load 0 -> read, store 1 -> write, fetch 2 -> execute, modify 3 -> write
    bool faulted = false;
    if (!skipFirst) VMSIM_TOUCH(la, kind, faulted = true);
    if (faulted) {
      stop = static_cast<int64_t>(2 * i);
      break;
    }
    skipFirst = false;
    const uint64_t last = (la + ((hi >> 18) & 0xFFF)) & (TWO48 - 1);
    if ((last ^ la) >> 12) {
      // Page-crossing records are rare: their second page takes the full path (same effect as
      // the hit path, counts included), which keeps the hot loop to one inlined hit path.
      local.clearMemo();
      if (!fullTouch(last & ~4095ull, kind, flags)) {
        stop = static_cast<int64_t>(2 * i + 1);
        break;
      }
      splits++;
    }
    nLoad += tk == 0;
    nStore += tk == 1;
    nModify += tk == 3;
  }
  local.hits += run.hits;
  local.reads += run.k[0];
  local.writes += run.k[1] + run.k[3];
  nLoad += run.k[0];
  nStore += run.k[1];
  nModify += run.k[3];
  local.flush(c_);
  const uint64_t done = i - (start >> 1);
  out[0] += static_cast<double>(nLoad);
  out[1] += static_cast<double>(nStore);
  out[2] += static_cast<double>(done - nLoad - nStore - nModify);
  out[3] += static_cast<double>(nModify);
  out[4] += static_cast<double>(splits);
  return stop;
}

#undef VMSIM_TOUCH

int64_t Cpu::copyVirt(uint64_t la, uint8_t* buf, uint64_t length, bool write, int flags) {
  uint64_t done = 0;
  while (done < length) {
    const uint64_t va = la + done;
    // Only the first page's access may retry a faulted one (bit 3, the hierarchy's retry).
    const double pa = access(va, write ? 1 : 0, done == 0 ? flags : flags & ~H_RETRY);
    if (pa < 0) return static_cast<int64_t>(done);
    uint64_t n = 4096 - (va & 4095);
    if (n > length - done) n = length - done;
    const uint64_t p = static_cast<uint64_t>(pa);
    // Bytes beyond RAM read as zero; writes there are dropped.
    const uint64_t inRam = p >= ram_.bytes() ? 0 : (ram_.bytes() - p < n ? ram_.bytes() - p : n);
    if (write) {
      if (inRam) std::memcpy(ram_.base() + p, buf + done, inRam);
    } else {
      if (inRam) std::memcpy(buf + done, ram_.base() + p, inRam);
      if (inRam < n) std::memset(buf + done + inRam, 0, n - inRam);
    }
    done += n;
  }
  return static_cast<int64_t>(done);
}

}  // namespace vmsim
