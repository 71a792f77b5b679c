// The batch accelerators beside the specified access path (cpu.cc): the inline hit path with its
// memo (FastHits), the hit runs over packed records and batch arrays, and their counters. They
// change nothing access() would not: same counts, entries and LRU order, only fewer steps.
// The known-miss fill (Cpu::missTouch) is in batch_accel.cc.
#pragma once
#include <cstdint>

#include "cpu.h"

namespace vmsim {

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
__attribute__((noinline)) static inline uint64_t traceHitRun(const uint32_t* __restrict w, uint64_t i, uint64_t end, const Cpu::FastHits::Memo* __restrict memo,
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
__attribute__((noinline)) static inline uint64_t accessHitRun(const double* __restrict las, const uint8_t* __restrict kinds, uint64_t i, uint64_t end,
                                                       const Cpu::FastHits::Memo* __restrict memo, const LruRefs& lru, HitCounts& run) {
  return hitRun<Stamps>(i, end, memo, lru, run, [las, kinds](uint64_t j, uint64_t& vpn, uint32_t& k) {
    vpn = (static_cast<uint64_t>(static_cast<int64_t>(las[j])) & (TWO48 - 1)) >> 12;
    k = kinds[j];
    return true;
  });
}

}  // namespace vmsim
