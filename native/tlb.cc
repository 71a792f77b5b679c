#include "tlb.h"

namespace vmsim {

static void keyParts(double k, uint64_t* vpn, uint32_t* sc, uint32_t* tag) {
  const uint64_t u = static_cast<uint64_t>(static_cast<int64_t>(k));
  *tag = static_cast<uint32_t>(u % 8192);
  const uint64_t rest = u / 8192;
  *sc = static_cast<uint32_t>(rest % 4);
  *vpn = rest / 4;
}

void Tlb::hashInsert(int32_t e) {
  if (ways <= SCAN_WAYS) return;  // small sets are scanned, not hashed
  uint64_t vpn;
  uint32_t sc, tag;
  keyParts(key[e], &vpn, &sc, &tag);
  const uint32_t mask = hashSize - 1;
  uint32_t i = slot(vpn, sc, tag);
  while (hash[i] != 0) i = (i + 1) & mask;
  hash[i] = e + 1;
}

// Backward-shift deletion (Knuth's Algorithm R): lookups never meet tombstones.
void Tlb::hashDelete(int32_t e) {
  if (ways <= SCAN_WAYS) return;
  uint64_t vpn;
  uint32_t sc, tag;
  keyParts(key[e], &vpn, &sc, &tag);
  const uint32_t mask = hashSize - 1;
  uint32_t i = slot(vpn, sc, tag);
  while (hash[i] != e + 1) i = (i + 1) & mask;
  uint32_t j = i;
  for (;;) {
    j = (j + 1) & mask;
    const int32_t v = hash[j];
    if (v == 0) break;
    uint64_t pv;
    uint32_t psc, ptag;
    keyParts(key[v - 1], &pv, &psc, &ptag);
    const uint32_t k = slot(pv, psc, ptag);
    const bool inRange = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (!inRange) {
      hash[i] = v;
      i = j;
    }
  }
  hash[i] = 0;
}

void Tlb::metaAdjust(int32_t e, int32_t d) {
  if (flags[e] & T_GLOBAL) meta[0] += d;
  const uint32_t sc = sizeClass(key[e]);
  if (sc > 0) meta[sc] += d;
}

// Makes e the first choice of its set's next fill (stamp 0, or the list's tail).
void Tlb::makeLru(int32_t e) {
  if (ways <= SCAN_WAYS) {
    stamp[e] = 0;
    return;
  }
  const uint32_t set = static_cast<uint32_t>(e) / ways;
  if (tail[set] == e) return;
  const int32_t p = prev[e], n = next[e];
  if (p >= 0) next[p] = n;
  else head[set] = n;
  prev[n] = p;
  const int32_t t = tail[set];
  next[t] = e;
  prev[e] = t;
  next[e] = -1;
  tail[set] = e;
}

void Tlb::invalidateEntry(int32_t e) {
  if (!(flags[e] & T_VALID)) return;
  hashDelete(e);
  metaAdjust(e, -1);
  flags[e] = 0;
  key[e] = -1;  // no lookup can match an invalid entry
  makeLru(e);
}

int32_t Tlb::fill(double* counters, uint64_t vpn, uint32_t sc, uint32_t tag, double pb, uint8_t fl) {
  const int32_t e = victim(static_cast<uint32_t>(setOf(vpn)));
  if (flags[e] & T_VALID) {
    invalidateEntry(e);
    counters[C_EVICTIONS] += 1;
  }
  key[e] = makeKey(vpn, sc, tag);
  pbase[e] = pb;
  flags[e] = fl | T_VALID;
  hashInsert(e);
  metaAdjust(e, +1);
  touch(e);
  return e;
}

void Tlb::invalidateAddress(uint64_t la, uint32_t tag) {
  for (uint32_t sc = 0; sc < 3; sc++) {
    if (sc > 0 && meta[sc] == 0) continue;
    const uint64_t vpn = la >> (sc == 0 ? 12 : sc == 1 ? 21 : 30);
    int32_t e = find(vpn, sc, tag);
    if (e >= 0) invalidateEntry(e);
    if (meta[0] > 0 && (e = find(vpn, sc, GLOBAL_TAG)) >= 0) invalidateEntry(e);
  }
}

}  // namespace vmsim
