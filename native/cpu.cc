#include "cpu.h"

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

// The inline user-mode 4K hit path of the batches: exactly what access() does for a TLB hit
// that needs no walk (HITS++, the kind's counter++, LRU touch), with counters in registers.
// A small direct-mapped memo maps recently hit page numbers to their entries: while only fast
// hits run, no entry is filled, dropped or changed, so a memoised entry still holds its page
// and flags, and the set lookup and permission test can be skipped. Any full-path access
// clears the memo.
struct Cpu::FastHits {
  static constexpr uint32_t MEMO = 64;
  struct Memo {
    uint64_t vpn;
    int32_t e;
    // Bits 0-3: the trace kinds (load, store, fetch, modify; bits 0-2 are also the access kinds
    // read, write, execute) the entry permits as a fast hit. Bits 4+: the set, kept because a
    // division by the way count costs more than the whole hit.
    uint32_t aux;
  };
  Tlb& t;
  const uint32_t tag;
  const bool scanSets;
  uint64_t hits = 0, reads = 0, writes = 0;
  uint64_t memoUsed = 0;  // slots filled since the last clear: a miss-heavy batch clears nothing
  Memo memo[MEMO];

  FastHits(Tlb& tlb, uint32_t tg) : t(tlb), tag(tg), scanSets(tlb.ways <= SCAN_WAYS) {
    for (uint32_t i = 0; i < MEMO; i++) memo[i].vpn = ~0ull;
  }

  void clearMemo() {
    for (uint64_t u = memoUsed; u; u &= u - 1) memo[__builtin_ctzll(u)].vpn = ~0ull;
    memoUsed = 0;
  }

  // The kinds a user-mode access may take as a plain hit under TLB flags f: valid and user;
  // a write also writable and dirty (else a walk sets D); a fetch also not NX.
  static uint32_t allowed(uint32_t f) {
    const uint32_t base = (f & (T_VALID | T_USER)) == (T_VALID | T_USER);
    const uint32_t w = base & ((f & (T_WRITABLE | T_DIRTY)) == (T_WRITABLE | T_DIRTY));
    const uint32_t x = base & !(f & T_NX);
    return base | (w << 1) | (x << 2) | (w << 3);
  }

  // 1: a hit, done. 0: the full path must run. -1: a plain miss (no 4K or 2M entry of this PCID
  // and no global or 1G entries anywhere), so the lookup access() would make is known to miss.
  __attribute__((always_inline)) int hit(uint64_t la, int kind) {
    const uint64_t vpn = la >> 12;
    Memo& mo = memo[static_cast<uint32_t>(vpn) & (MEMO - 1)];
    if (mo.vpn != vpn) {
      int32_t e;
      uint32_t set;
      if (scanSets) {
        set = static_cast<uint32_t>(t.setOf(vpn));
        e = t.scan(set * t.ways, Tlb::makeKey(vpn, 0, tag));
      } else {
        e = t.find(vpn, 0, tag);
        set = e >= 0 ? static_cast<uint32_t>(e) / t.ways : 0;
      }
      if (e < 0) {
        // Tlb::lookup's next probes, for the common cases: without global or 1G entries, a 2M
        // entry of this PCID is the only other possible hit (a replay with 2 MiB pages).
        const int32_t* meta = t.meta;
        if (!scanSets || meta[0] != 0 || meta[2] != 0) return 0;
        if (meta[1] == 0) return -1;
        const uint64_t v2 = la >> 21;
        set = static_cast<uint32_t>(t.setOf(v2));
        e = t.scan(set * t.ways, Tlb::makeKey(v2, 1, tag));
        if (e < 0) return -1;
      }
      mo.vpn = vpn;
      mo.e = e;
      mo.aux = allowed(t.flags[e]) | (set << 4);
      memoUsed |= 1ull << (static_cast<uint32_t>(vpn) & (MEMO - 1));
    }
    if (!((mo.aux >> kind) & 1)) return 0;
    hits++;
    reads += kind == 0;
    writes += kind == 1;
    t.touchInSet(mo.e, mo.aux >> 4);
    return 1;
  }

  // Adds the local counts to the shared counters.
  void flush(double* c) {
    c[C_HITS] += static_cast<double>(hits);
    c[C_READS] += static_cast<double>(reads);
    c[C_WRITES] += static_cast<double>(writes);
    c[C_EXECUTES] += static_cast<double>(hits - reads - writes);
    hits = reads = writes = 0;
  }
};

// A hit run's counts: hits, and hits by kind (the access kinds, or the trace kinds).
struct HitCounts {
  uint64_t hits = 0;
  uint64_t k[4] = {0, 0, 0, 0};
};

// The LRU arrays a hit run touches, as plain pointers the run copies into registers.
struct LruRefs {
  double* stamp;
  double* clock;
  int32_t *prev, *next, *head, *tail;
  explicit LruRefs(Tlb& t) : stamp(t.stamp), clock(t.clock), prev(t.prev), next(t.next), head(t.head), tail(t.tail) {}
};

// The runs' common case, compiled on its own so every value lives in a register: accesses of
// one page whose memoised TLB entry permits them. Stops at the first that needs more (a memo
// miss, a permission or Dirty problem, for traces a page crossing) and returns its index; the
// caller handles it with the general path and calls again. Every access here is one hit, so
// hits = accesses run, and with stamps the hit at index i gets stamp clock0 - i0 + i + 1. The
// kinds share one register in 16-bit fields, so at most 65535 accesses a pass.
template <bool Stamps, typename Next>
__attribute__((always_inline)) inline uint64_t hitRun(uint64_t i, uint64_t end, const Cpu::FastHits::Memo* __restrict memo, const LruRefs& lru, HitCounts& run,
                                                      Next next) {
  double* __restrict const stamp = lru.stamp;
  int32_t* __restrict const prev = lru.prev;
  int32_t* __restrict const nxt = lru.next;
  int32_t* __restrict const head = lru.head;
  int32_t* __restrict const tail = lru.tail;
  const int64_t ck = static_cast<int64_t>(*lru.clock) - static_cast<int64_t>(i);
  while (i < end) {
    const uint64_t stop = end - i > 65535 ? i + 65535 : end;
    const uint64_t from = i;
    uint64_t packed = 0;
    for (; i < stop; i++) {
      uint64_t vpn;
      uint32_t k;
      if (!next(i, vpn, k)) break;
      const Cpu::FastHits::Memo& mo = memo[vpn & (Cpu::FastHits::MEMO - 1)];
      if ((mo.vpn != vpn) | !((mo.aux >> k) & 1)) break;
      packed += 1ull << (16 * k);
      if constexpr (Stamps) stamp[mo.e] = static_cast<double>(ck + static_cast<int64_t>(i) + 1);
      else lruToFront(mo.e, mo.aux >> 4, prev, nxt, head, tail);
    }
    run.hits += i - from;
    run.k[0] += packed & 0xFFFF;
    run.k[1] += (packed >> 16) & 0xFFFF;
    run.k[2] += (packed >> 32) & 0xFFFF;
    run.k[3] += packed >> 48;
    if (i < stop) break;  // stopped early: the caller takes access i
  }
  if constexpr (Stamps) *lru.clock = static_cast<double>(ck + static_cast<int64_t>(i));
  return i;
}

// Packed trace records (kinds load, store, fetch, modify) that touch one page.
template <bool Stamps>
__attribute__((noinline)) static uint64_t traceHitRun(const uint32_t* __restrict w, uint64_t i, uint64_t end, const Cpu::FastHits::Memo* __restrict memo,
                                                      const LruRefs& lru, HitCounts& run) {
  return hitRun<Stamps>(i, end, memo, lru, run, [w](uint64_t j, uint64_t& vpn, uint32_t& k) {
    const uint32_t hi = w[2 * j + 1];
    const uint64_t la = (static_cast<uint64_t>(hi & 0xFFFF) << 32) | w[2 * j];
    vpn = la >> 12;
    k = (hi >> 16) & 3;
    return !(((la + ((hi >> 18) & 0xFFF)) ^ la) >> 12);  // crosses a page (or wraps): general path
  });
}

// accessBatch's accesses (kinds read, write, execute; checked canonical integer addresses).
template <bool Stamps>
__attribute__((noinline)) static uint64_t accessHitRun(const double* __restrict las, const uint8_t* __restrict kinds, uint64_t i, uint64_t end,
                                                       const Cpu::FastHits::Memo* __restrict memo, const LruRefs& lru, HitCounts& run) {
  return hitRun<Stamps>(i, end, memo, lru, run, [las, kinds](uint64_t j, uint64_t& vpn, uint32_t& k) {
    vpn = (static_cast<uint64_t>(static_cast<int64_t>(las[j])) & (TWO48 - 1)) >> 12;
    k = kinds[j];
    return true;
  });
}

// access() for a user-mode 4K access already known to miss (FastHits::hit returned -1): the
// walk, then the fill inlined for the common case of a non-global 4K translation in a scanned
// set. Same counters, entries and LRU order as access().
__attribute__((noinline)) bool Cpu::missTouch(uint64_t la, int kind) {
  c_[C_MISSES] += 1;
  if (walk(la, kind, true, false) < 0) return false;
  const uint64_t vpn = la >> 12;
  if (wSizeClass_ != 0 || (wFlags_ & T_GLOBAL) || tlb_.meta[1] != 0) {
    tlb_.fill(c_, la >> (12 + 9 * wSizeClass_), wSizeClass_, (wFlags_ & T_GLOBAL) ? GLOBAL_TAG : tag_, wPbase_, wFlags_);
  } else {
    // No global or large entries exist (hit() checked meta[0] and meta[2], and meta[1] just
    // above), so the victim needs no meta update; its sets are scanned (hit() returns -1 only
    // then), so it needs no hash update, and the touch below gives it its new stamp.
    const uint32_t set = static_cast<uint32_t>(tlb_.setOf(vpn));
    const int32_t e = tlb_.victim(set);
    if (tlb_.flags[e] & T_VALID) c_[C_EVICTIONS] += 1;
    tlb_.key[e] = Tlb::makeKey(vpn, 0, tag_);
    tlb_.pbase[e] = wPbase_;
    tlb_.flags[e] = wFlags_ | T_VALID;
    tlb_.touchInSet(e, set);
  }
  c_[C_READS + kind] += 1;
  return true;
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

int64_t Cpu::traceBatch(const uint32_t* w, uint64_t start, uint64_t end, int flags, double* out) {
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
    const double pa = access(va, write ? 1 : 0, flags);
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
