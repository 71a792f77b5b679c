// The TLB over the typed arrays TypeScript allocated (src/core/tlb-state.ts): TypeScript runs
// the hit path itself, so layout, key, hash and LRU order must match it exactly.
#pragma once
#include <cstdint>
#include <cstring>

#include "constants.h"

namespace vmsim {

constexpr uint32_t SCAN_WAYS = 8;  // mirror of tlb-state.ts

// Makes entry e the most recently used of its set's list (over the arrays' pointers, so hot
// loops can keep them in registers).
__attribute__((always_inline)) inline void lruToFront(int32_t e, uint32_t set, int32_t* prev, int32_t* next, int32_t* head, int32_t* tail) {
  const int32_t h = head[set];
  if (h == e) return;
  const int32_t p = prev[e], n = next[e];
  next[p] = n;  // p >= 0: e is not the head
  if (n >= 0) prev[n] = p;
  else tail[set] = p;
  prev[e] = -1;
  next[e] = h;
  prev[h] = e;
  head[set] = e;
}

struct Tlb {
  double* key;
  double* pbase;
  uint8_t* flags;
  double* stamp;  // LRU stamps when ways <= SCAN_WAYS (tlb-state.ts); 0 = invalid
  double* clock;  // clock[0]: the last stamp given
  int32_t* prev;
  int32_t* next;
  int32_t* head;
  int32_t* tail;
  int32_t* hash;
  int32_t* meta;
  uint32_t sets, ways, entries, hashSize, hashBits;
  // sets - 1 when sets is a power of two (a mask instead of a 64-bit division), else 0.
  uint64_t setMask;

  uint64_t setOf(uint64_t vpn) const { return setMask ? (vpn & setMask) : (sets == 1 ? 0 : vpn % sets); }

  // Keys are < 2^53: a signed conversion is exact and much cheaper than an unsigned one.
  static double makeKey(uint64_t vpn, uint32_t sc, uint32_t tag) { return static_cast<double>(static_cast<int64_t>((vpn * 4 + sc) * 8192 + tag)); }

  uint32_t slot(uint64_t vpn, uint32_t sc, uint32_t tag) const {
    const uint32_t lo = static_cast<uint32_t>(vpn), hi = static_cast<uint32_t>(vpn >> 32);
    const uint32_t m = (tag << 2) | sc;
    uint32_t x = lo ^ ((hi + 1) * 0x85ebca6bu) ^ ((m + 1) * 0xc2b2ae35u);
    x = (x ^ (x >> 16)) * 0x9e3779b1u;
    return x >> (32 - hashBits);
  }

  // Keys are exact non-negative doubles (-1 when invalid): equal values have equal bits, so an
  // integer compare is exact and compiles to a branch-free select.
  int32_t scan(uint32_t base, double k) const {
    uint64_t kb;
    std::memcpy(&kb, &k, 8);
    const uint64_t* bits = reinterpret_cast<const uint64_t*>(key);
    int32_t hit = -1;
    for (uint32_t w = 0; w < ways; w++) hit = bits[base + w] == kb ? static_cast<int32_t>(base + w) : hit;
    return hit;
  }

  int32_t find(uint64_t vpn, uint32_t sc, uint32_t tag) const {
    const double k = makeKey(vpn, sc, tag);
    if (ways <= SCAN_WAYS) {
      // Small sets are scanned (no hash): branch-free, since which way hits is unpredictable.
      return scan(static_cast<uint32_t>(setOf(vpn)) * ways, k);
    }
    const uint32_t mask = hashSize - 1;
    for (uint32_t i = slot(vpn, sc, tag);; i = (i + 1) & mask) {
      const int32_t v = hash[i];
      if (v == 0) return -1;
      if (key[v - 1] == k) return v - 1;
    }
  }

  // 4K, then 2M, then 1G; the PCID's entry before a global one (tlbLookup in tlb-state.ts).
  int32_t lookup(uint64_t la, uint32_t tag) const {
    const uint64_t vpn = la >> 12;
    int32_t e = find(vpn, 0, tag);
    if (e >= 0) return e;
    const bool globals = meta[0] > 0;
    if (globals && (e = find(vpn, 0, GLOBAL_TAG)) >= 0) return e;
    if (meta[1] > 0) {
      if ((e = find(la >> 21, 1, tag)) >= 0) return e;
      if (globals && (e = find(la >> 21, 1, GLOBAL_TAG)) >= 0) return e;
    }
    if (meta[2] > 0) {
      if ((e = find(la >> 30, 2, tag)) >= 0) return e;
      if (globals && (e = find(la >> 30, 2, GLOBAL_TAG)) >= 0) return e;
    }
    return -1;
  }

  void touch(int32_t e) { touchInSet(e, static_cast<uint32_t>(e) / ways); }

  void touchInSet(int32_t e, uint32_t set) {
    if (ways <= SCAN_WAYS) stamp[e] = clock[0] += 1.0;
    else lruToFront(e, set, prev, next, head, tail);
  }

  // The entry a fill of `set` replaces: the smallest stamp (lowest index on a tie), or the tail.
  int32_t victim(uint32_t set) const {
    if (ways > SCAN_WAYS) return tail[set];
    const uint32_t base = set * ways;
    uint32_t v = base;
    for (uint32_t e = base + 1; e < base + ways; e++) v = stamp[e] < stamp[v] ? e : v;
    return static_cast<int32_t>(v);
  }

  static uint32_t sizeClass(double k) { return static_cast<uint32_t>((static_cast<int64_t>(k) >> 13) & 3); }

  void invalidateEntry(int32_t e);
  int32_t fill(double* counters, uint64_t vpn, uint32_t sc, uint32_t tag, double pbase, uint8_t flags);
  void invalidateAddress(uint64_t la, uint32_t tag);
  template <typename Pred>
  void invalidateWhere(Pred pred) {
    for (uint32_t e = 0; e < entries; e++) {
      const uint8_t f = flags[e];
      if ((f & T_VALID) && pred(key[e], f)) invalidateEntry(static_cast<int32_t>(e));
    }
  }

 private:
  void hashInsert(int32_t e);
  void hashDelete(int32_t e);
  void makeLru(int32_t e);
  void metaAdjust(int32_t e, int32_t d);
};

}  // namespace vmsim
