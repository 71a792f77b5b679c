#include "hierarchy.h"

#include <cstring>

namespace vmsim {

static const int L1_SLOTS[2][3] = {{0, 1, -1}, {2, 3, 4}};
static const int L1_COUNT[2] = {2, 3};
static const int STLB_SLOTS[2] = {5, 6};
static const int L2I_SLOTS[1] = {H_SLOT_L2I};
static const int PWC_SLOT[5] = {-1, -1, H_SLOT_PWC_PD, H_SLOT_PWC_PDPT, H_SLOT_PWC_PML4};

// userHitAllowed (tlb-state.ts) for the access kinds read, write, execute, as bits 0-2.
static uint8_t allowedKinds(uint8_t f) {
  const uint8_t base = (f & (T_VALID | T_USER)) == (T_VALID | T_USER);
  const uint8_t w = base & ((f & (T_WRITABLE | T_DIRTY)) == (T_WRITABLE | T_DIRTY));
  const uint8_t x = base & !(f & T_NX);
  return static_cast<uint8_t>(base | (w << 1) | (x << 2));
}

void HArray::init(uint32_t n, uint32_t w, uint32_t pol, uint32_t sz, uint32_t seed) {
  entries = n;
  ways = w;
  sets = n / w;
  policy = pol;
  sizes = sz;
  setMask = (sets & (sets - 1)) == 0 ? sets - 1 : 0;
  key.assign(n, -1.0);
  pbase.assign(n, 0.0);
  stamp.assign(n, 0.0);
  flags.assign(n, 0);
  tree.assign(n, 0);
  rng = seed ? seed : 1;
}

void HArray::plruTouch(int32_t e) {
  const uint32_t base = static_cast<uint32_t>(e) / ways * ways;
  const uint32_t w = static_cast<uint32_t>(e) - base;
  uint32_t node = 1;
  for (uint32_t half = ways >> 1; half >= 1; half >>= 1) {
    const bool right = (w & half) != 0;
    tree[base + node] = right ? 0 : 1;
    node = node * 2 + (right ? 1 : 0);
  }
}

int32_t HArray::victim(uint32_t set) {
  const uint32_t b = set * ways;
  for (uint32_t e = b; e < b + ways; e++)
    if (key[e] == -1) return static_cast<int32_t>(e);
  switch (policy) {
    case POL_PLRU: {
      uint32_t node = 1, w = 0;
      for (uint32_t half = ways >> 1; half >= 1; half >>= 1) {
        const bool right = tree[b + node] == 1;
        if (right) w += half;
        node = node * 2 + (right ? 1 : 0);
      }
      return static_cast<int32_t>(b + w);
    }
    case POL_RANDOM: {
      uint32_t x = rng;
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      rng = x;
      return static_cast<int32_t>(b + x % ways);
    }
    default: {
      uint32_t v = b;
      for (uint32_t e = b + 1; e < b + ways; e++) v = stamp[e] < stamp[v] ? e : v;
      return static_cast<int32_t>(v);
    }
  }
}

int32_t HArray::fill(uint64_t vpn, uint32_t sc, uint32_t tag, double pb, uint8_t fl, bool* evicted) {
  const int32_t e = victim(static_cast<uint32_t>(setOf(vpn)));
  *evicted = key[e] != -1;
  if (*evicted) drop(e);
  key[e] = static_cast<double>(static_cast<int64_t>((vpn * 4 + sc) * 8192 + tag));
  pbase[e] = pb;
  flags[e] = fl | T_VALID;
  count[sc]++;
  if (tag == GLOBAL_TAG) globals++;
  if (policy == POL_LRU || policy == POL_FIFO) stamp[e] = clock += 1.0;
  else if (policy == POL_PLRU) plruTouch(e);
  return e;
}

void HArray::drop(int32_t e) {
  const double k = key[e];
  if (k == -1) return;
  const int64_t u = static_cast<int64_t>(k);
  count[(u / 8192) % 4]--;
  if (u % 8192 == GLOBAL_TAG) globals--;
  key[e] = -1;
  flags[e] = 0;
  stamp[e] = 0;
}

void HArray::dropAddress(uint64_t la, uint32_t tag, bool globalsToo) {
  for (uint32_t sc = 0; sc < 3; sc++) {
    if (!(sizes & (1u << sc)) || count[sc] == 0) continue;
    const uint64_t vpn = la >> (12 + 9 * sc);
    int32_t e = find(vpn, sc, tag);
    if (e >= 0) drop(e);
    if (globalsToo && globals > 0 && (e = find(vpn, sc, GLOBAL_TAG)) >= 0) drop(e);
  }
}

int64_t HArray::dump(double* out) const {
  int64_t o = 0;
  for (uint32_t e = 0; e < entries; e++) {
    out[o++] = key[e];
    out[o++] = pbase[e];
    out[o++] = flags[e];
    out[o++] = stamp[e];
  }
  for (uint32_t e = 0; e < entries; e++) out[o++] = tree[e];
  out[o++] = clock;
  out[o++] = rng;
  return o;
}

bool HArray::load(const double* in, size_t n) {
  if (n != dumpLength()) return false;
  size_t o = 0;
  count[0] = count[1] = count[2] = 0;
  globals = 0;
  for (uint32_t e = 0; e < entries; e++) {
    key[e] = in[o++];
    pbase[e] = in[o++];
    flags[e] = static_cast<uint8_t>(in[o++]);
    stamp[e] = in[o++];
    if (key[e] != -1) {
      const uint64_t u = static_cast<uint64_t>(key[e]);
      count[(u / 8192) % 4]++;
      if (u % 8192 == GLOBAL_TAG) globals++;
    }
  }
  for (uint32_t e = 0; e < entries; e++) tree[e] = static_cast<uint8_t>(in[o++]);
  clock = in[o++];
  rng = static_cast<uint32_t>(in[o++]);
  return true;
}

bool Hierarchy::load(int slot, const double* in, size_t n) {
  if (slot < 0 || slot >= H_SLOTS || !has_[slot]) return false;
  clearMemo();
  gen_++;
  return a_[slot].load(in, n);
}

bool Hierarchy::configOk(const double* c, size_t n) {
  if (n < static_cast<size_t>(H_SLOTS * H_CONF_FIELDS)) return false;
  for (int s = 0; s < H_SLOTS; s++) {
    const double* f = c + s * H_CONF_FIELDS;
    const double entries = f[0], ways = f[1], policy = f[2], sizes = f[3], seed = f[4];
    auto isInt = [](double v) { return v == static_cast<double>(static_cast<int64_t>(v)); };
    if (!(entries >= 0 && entries <= 1048576) || !isInt(entries)) return false;
    if (entries == 0) continue;
    if (!(ways >= 1 && ways <= entries) || !isInt(ways) || static_cast<int64_t>(entries) % static_cast<int64_t>(ways) != 0) return false;
    if (!(policy >= 0 && policy <= POL_RANDOM) || !isInt(policy)) return false;
    const int64_t w = static_cast<int64_t>(ways);
    if (policy == POL_PLRU && (w & (w - 1)) != 0) return false;
    if (!(sizes >= 0 && sizes <= 7) || !isInt(sizes)) return false;
    if (!(seed >= 0 && seed <= 4294967295.0) || !isInt(seed)) return false;
  }
  return true;
}

Hierarchy::Hierarchy(Cpu& cpu, Ram& ram, const double* c, double* stats) : cpu_(cpu), ram_(ram), st_(stats) {
  for (int s = 0; s < H_SLOTS; s++) {
    const double* f = c + s * H_CONF_FIELDS;
    has_[s] = f[0] > 0;
    if (has_[s]) a_[s].init(static_cast<uint32_t>(f[0]), static_cast<uint32_t>(f[1]), static_cast<uint32_t>(f[2]), static_cast<uint32_t>(f[3]), static_cast<uint32_t>(f[4]));
  }
  for (int side = 0; side < 2; side++)
    for (uint32_t i = 0; i < MEMO; i++) memo_[side][i].vpn = ~0ull;
}

void Hierarchy::clearMemo() {
  for (int side = 0; side < 2; side++) {
    for (uint64_t u = memoUsed_[side]; u; u &= u - 1) memo_[side][__builtin_ctzll(u)].vpn = ~0ull;
    memoUsed_[side] = 0;
  }
}

// Forgets the memo entries of L1 entry e of `slot` (it was refilled or its flags changed). Other
// memo entries stay valid: a fill only follows a lookup that missed every L1 array, so it cannot
// take the place of another page's translation in the lookup order; drops and invalidations
// (gen_) clear the whole memo.
void Hierarchy::forget(int slot, int32_t e) {
  const int side = slot < 2 ? 0 : 1;
  for (uint64_t u = memoUsed_[side]; u; u &= u - 1) {
    const uint32_t i = static_cast<uint32_t>(__builtin_ctzll(u));
    Memo& m = memo_[side][i];
    if (m.e == e && m.slot == slot) {
      m.vpn = ~0ull;
      memoUsed_[side] &= ~(1ull << i);
    }
  }
}

// Memoises an L1 hit of the page of `la` (valid until its entry is refilled or changed, or gen_ moves).
void Hierarchy::remember(int side, uint64_t la, int slot, int32_t e) {
  const uint64_t vpn = la >> 12;
  const uint32_t i = static_cast<uint32_t>(vpn) & (MEMO - 1);
  Memo& m = memo_[side][i];
  HArray& a = a_[slot];
  m.vpn = vpn;
  m.e = e;
  m.slot = static_cast<uint8_t>(slot);
  const uint8_t k = allowedKinds(a.flags[e]);  // read, write, execute -> load, store, fetch, modify
  m.allowed = a.policy == POL_PLRU ? 0 : static_cast<uint8_t>(k | ((k >> 1) & 1) << 3);
  const bool lru = a.policy == POL_LRU;
  m.stamp = lru ? &a.stamp[e] : &scratch_[0];
  m.clock = lru ? &a.clock : &scratch_[1];
  memoUsed_[side] |= 1ull << i;
}

int Hierarchy::holder(const int* slots, int n, uint32_t sc) const {
  for (int i = 0; i < n; i++) {
    const int s = slots[i];
    if (s >= 0 && has_[s] && (a_[s].sizes & (1u << sc))) return s;
  }
  return -1;
}

void Hierarchy::fillSlot(int s, uint64_t la, uint32_t sc, uint32_t tag, double pb, uint8_t fl) {
  if (s < 0) return;
  st_[s * H_SLOT_STATS + HS_FILLS] += 1;
  bool evicted;
  const int32_t e = a_[s].fill(la >> (12 + 9 * sc), sc, tag, pb, fl & ~T_VALID, &evicted);
  if (evicted) st_[s * H_SLOT_STATS + HS_EVICTIONS] += 1;
  if (s < H_SLOT_STLB) forget(s, e);
}

void Hierarchy::abandon() {
  const uint32_t p = pending_;
  pending_ = 0;
  const int side = (p >> 3) & 1;
  if (p & 2) {
    for (int i = 0; i < L1_COUNT[side]; i++) {
      const int s = L1_SLOTS[side][i];
      if (has_[s]) {
        st_[s * H_SLOT_STATS + HS_MISSES] += 1;
        break;
      }
    }
  }
  if (p & 4) {
    int n;
    const int* second = secondLevel(side, &n);
    for (int i = 0; i < n; i++) {
      const int s = second[i];
      if (has_[s]) {
        st_[s * H_SLOT_STATS + HS_MISSES] += 1;
        break;
      }
    }
  }
}

const int* Hierarchy::secondLevel(int side, int* n) const {
  if (side == 0 && has_[H_SLOT_L2I]) {
    *n = 1;
    return L2I_SLOTS;
  }
  *n = 2;
  return STLB_SLOTS;
}

uint32_t Hierarchy::depth(uint64_t la) const {
  uint64_t table = static_cast<uint64_t>(cpu_.root_);
  for (uint32_t level = 4;; level--) {
    const uint64_t pa = table * 4096 + ((la >> (12 + 9 * (level - 1))) & 511) * 8;
    if (pa + 8 > ram_.bytes()) return level;
    const uint64_t e = *ram_.entry(pa);
    if (!(e & P) || (!cpu_.nxe_ && (e & NX))) return level;
    if (level == 1 || (e & PS)) return level;
    table = entryPfn(e);
  }
}

void Hierarchy::walkRefs(uint64_t la, uint32_t last, bool ok) {
  const uint32_t tag = cpu_.tag_;
  uint32_t first = 4;
  for (uint32_t L = last + 1; L <= 4; L++) {
    const int s = PWC_SLOT[L];
    if (!has_[s]) continue;
    HArray& a = a_[s];
    const int32_t e = a.find(la >> (3 + 9 * L), 0, tag);
    if (e >= 0) {
      st_[s * H_SLOT_STATS + HS_HITS] += 1;
      a.touch(e);
      first = L - 1;
      break;
    }
    st_[s * H_SLOT_STATS + HS_MISSES] += 1;
  }
  for (uint32_t L = first; L >= last && L >= 1; L--) st_[H_REFS_PML4E + 4 - L] += 1;
  if (!ok) return;
  for (uint32_t L = last + 1; L <= first; L++) {
    const int s = PWC_SLOT[L];
    if (!has_[s]) continue;
    st_[s * H_SLOT_STATS + HS_FILLS] += 1;
    bool evicted;
    a_[s].fill(la >> (3 + 9 * L), 0, tag, 0, 0, &evicted);
    if (evicted) st_[s * H_SLOT_STATS + HS_EVICTIONS] += 1;
  }
}

void Hierarchy::dropFaulting(uint64_t la, uint32_t tag) {
  gen_++;
  for (int s = 0; s < H_SLOT_PWC_PML4; s++)
    if (has_[s]) a_[s].dropAddress(la, tag, true);
  for (uint32_t L = 2; L <= 4; L++) {
    const int s = PWC_SLOT[L];
    if (!has_[s]) continue;
    const int32_t e = a_[s].find(la >> (3 + 9 * L), 0, tag);
    if (e >= 0) a_[s].drop(e);
  }
}

// Whether an entry with TLB flags f lets the access through with nothing else to do: for user
// mode userHitAllowed; for a supervisor access (machine API accesses with user: false) the
// SDM's rules over the entry's flags (Cpu::allowed), and Dirty for a write.
bool Hierarchy::hitOk(uint8_t f, int kind, int mode) const {
  if (mode & 1) return (allowedKinds(f) >> kind) & 1;
  if (!(f & T_VALID) || !cpu_.allowed(kind, false, (mode & 2) != 0, f & T_USER, f & T_WRITABLE, f & T_NX)) return false;
  return kind != 1 || (f & T_DIRTY);
}

// hierarchy-model.ts touch(), step for step. mode: bit 0 user, bit 1 EFLAGS.AC.
bool Hierarchy::touch(uint64_t la, int kind, int side, bool retry, int mode) {
  const uint32_t tag = cpu_.tag_;
  double* st = st_;
  bool l1Missed = false, stlbMissed = false;
  int assistSlot = -1;
  int32_t assistE = -1;
  const bool again = retry && pending_ != 0;
  if (again) {
    l1Missed = (pending_ & 2) != 0;
    stlbMissed = (pending_ & 4) != 0;
  } else {
    if (pending_ != 0) abandon();
    bool any = false;
    for (int i = 0; i < L1_COUNT[side]; i++) {
      const int s = L1_SLOTS[side][i];
      if (!has_[s]) continue;
      any = true;
      HArray& a = a_[s];
      const int32_t e = a.lookup(la, tag);
      if (e < 0) continue;
      st[s * H_SLOT_STATS + HS_HITS] += 1;
      a.touch(e);
      if (hitOk(a.flags[e], kind, mode)) {
        if (mode & 1) remember(side, la, s, e);
        lastPa_ = a.pbase[e] + static_cast<double>(la & ((1ull << (12 + 9 * ((static_cast<int64_t>(a.key[e]) / 8192) % 4))) - 1));
        return true;
      }
      st[H_ASSISTS] += 1;
      assistSlot = s;
      assistE = e;
      break;
    }
    if (assistSlot < 0 && any) {
      l1Missed = true;
      st[side == 0 ? H_L1I_MISSES : H_L1D_MISSES] += 1;
    }
    if (assistSlot < 0) {
      bool anyS = false;
      int n2;
      const int* second = secondLevel(side, &n2);
      for (int i2 = 0; i2 < n2; i2++) {
        const int s = second[i2];
        if (!has_[s]) continue;
        anyS = true;
        HArray& a = a_[s];
        const int32_t e = a.lookup(la, tag);
        if (e < 0) continue;
        st[s * H_SLOT_STATS + HS_HITS] += 1;
        st[side == 0 ? H_STLB_HITS_I : H_STLB_HITS_D] += 1;
        a.touch(e);
        if (hitOk(a.flags[e], kind, mode)) {
          const int64_t k = static_cast<int64_t>(a.key[e]);
          const uint32_t sc = static_cast<uint32_t>((k / 8192) % 4);
          lastPa_ = a.pbase[e] + static_cast<double>(la & ((1ull << (12 + 9 * sc)) - 1));
          const int l1 = holder(L1_SLOTS[side], L1_COUNT[side], sc);
          if (l1Missed && l1 >= 0) st[l1 * H_SLOT_STATS + HS_MISSES] += 1;
          fillSlot(l1, la, sc, static_cast<uint32_t>(k % 8192), a.pbase[e], a.flags[e]);
          return true;
        }
        st[H_ASSISTS] += 1;
        assistSlot = s;
        assistE = e;
        break;
      }
      if (assistSlot < 0 && anyS) {
        stlbMissed = true;
        st[side == 0 ? H_STLB_MISSES_I : H_STLB_MISSES_D] += 1;
      }
    }
  }
  st[side == 0 ? H_WALKS_I : H_WALKS_D] += 1;
  if (!again && assistSlot < 0) st[H_MISSES_ALL] += 1;
  pending_ = 1 | (l1Missed ? 2 : 0) | (stlbMissed ? 4 : 0) | (static_cast<uint32_t>(side) << 3);
  const bool user = (mode & 1) != 0;
  const double r = cpu_.root_ < 0 ? cpu_.fault(la, kind, user, false, false) : cpu_.walk(la, kind, user, (mode & 2) != 0);
  walkRefs(la, r == 0 ? cpu_.wSizeClass_ + 1 : depth(la), r == 0);
  if (r < 0) {
    st[H_FAULT_WALKS] += 1;
    dropFaulting(la, tag);
    lastFault_ = r;
    return false;
  }
  pending_ = 0;
  const uint32_t sc = cpu_.wSizeClass_;
  lastPa_ = cpu_.wPbase_ + static_cast<double>(la & ((1ull << (12 + 9 * sc)) - 1));
  const uint8_t wf = cpu_.wFlags_;
  const uint32_t ftag = (wf & T_GLOBAL) ? GLOBAL_TAG : tag;
  const int l1 = holder(L1_SLOTS[side], L1_COUNT[side], sc);
  if (assistSlot >= 0) {
    a_[assistSlot].flags[assistE] = wf | T_VALID;
    if (assistSlot < H_SLOT_STLB) forget(assistSlot, assistE);
    if (assistSlot >= H_SLOT_STLB) {
      if (l1Missed && l1 >= 0) st[l1 * H_SLOT_STATS + HS_MISSES] += 1;
      fillSlot(l1, la, sc, ftag, cpu_.wPbase_, wf);
    }
    return true;
  }
  int n2;
  const int* second = secondLevel(side, &n2);
  const int s2 = holder(second, n2, sc);
  if (stlbMissed && s2 >= 0) st[s2 * H_SLOT_STATS + HS_MISSES] += 1;
  if (l1Missed && l1 >= 0) st[l1 * H_SLOT_STATS + HS_MISSES] += 1;
  fillSlot(s2, la, sc, ftag, cpu_.wPbase_, wf);
  fillSlot(l1, la, sc, ftag, cpu_.wPbase_, wf);
  return true;
}

// The batch's common case, compiled on its own so its values live in registers: records that
// touch one page whose L1 entry is memoised and permits the access (no array changes meanwhile,
// so the memo stays valid). Exactly what touch() does for such a hit: the slot's hit count and
// the LRU stamp (a PLRU entry stops the run: the general path updates its tree). Returns the
// first record it did not take. The kinds share one register in 16-bit fields, so at most
// 65535 records a pass.
__attribute__((noinline)) uint64_t Hierarchy::hitRun(const uint32_t* __restrict w, uint64_t i, uint64_t end, RunCounts& rc) {
  const Memo* __restrict const memoI = memo_[0];
  const Memo* __restrict const memoD = memo_[1];
  while (i < end) {
    const uint64_t stop = end - i > 65535 ? i + 65535 : end;
    uint64_t packed = 0;
    for (; i < stop; i++) {
      const uint32_t hi = w[2 * i + 1];
      const uint64_t la = (static_cast<uint64_t>(hi & 0xFFFF) << 32) | w[2 * i];
      if (((la + ((hi >> 18) & 0xFFF)) ^ la) >> 12) break;  // crosses a page (or wraps): general path
      const uint32_t tk = (hi >> 16) & 3;
      const uint64_t vpn = la >> 12;
      const Memo& m = (tk == 2 ? memoI : memoD)[static_cast<uint32_t>(vpn) & (MEMO - 1)];
      if ((m.vpn != vpn) | !((m.allowed >> tk) & 1)) break;
      rc.hits[m.slot]++;
      *m.stamp = *m.clock += 1.0;
      packed += 1ull << (16 * tk);
    }
    rc.kinds[0] += packed & 0xFFFF;
    rc.kinds[1] += (packed >> 16) & 0xFFFF;
    rc.kinds[2] += (packed >> 32) & 0xFFFF;
    rc.kinds[3] += packed >> 48;
    if (i < stop) break;  // stopped early: the caller takes record i
  }
  return i;
}

int64_t Hierarchy::traceBatch(const uint32_t* w, uint64_t start, uint64_t end, int flags, double* out) {
  if (!(flags & 4)) {
    uint32_t bits = 0;
    for (uint64_t i = start >> 1; i < end; i++) bits |= w[2 * i + 1];
    if (bits >> 30) return EINVAL_;
  }
  bool retry = (flags & H_RETRY) != 0;
  if (!retry && pending_ != 0) abandon();  // the caller skipped the pending access
  if (cpu_.root_ != memoRoot_ || cpu_.tag_ != memoTag_) {
    clearMemo();
    memoRoot_ = cpu_.root_;
    memoTag_ = cpu_.tag_;
  }
  RunCounts rc;
  uint64_t splits = 0;
  int64_t stop = static_cast<int64_t>(end * 2);
  uint64_t i = start >> 1;
  bool skipFirst = start & 1;
  bool lastHit = true;
  for (; i < end; i++) {
    // The hit run is entered after a hit; after a miss the next record is likely one too.
    if (lastHit && !retry && !skipFirst) {
      i = hitRun(w, i, end, rc);
      if (i >= end) break;
    }
    const uint32_t hi = w[2 * i + 1];
    const uint64_t la = (static_cast<uint64_t>(hi & 0xFFFF) << 32) | w[2 * i];
    const uint32_t tk = (hi >> 16) & 3;
    const int kind = (0x64 >> (2 * tk)) & 3;
    const int side = tk == 2 ? 0 : 1;
    const uint64_t last = (la + ((hi >> 18) & 0xFFF)) & (TWO48 - 1);
    const bool split = ((last ^ la) >> 12) != 0;
    lastHit = false;
    if (!skipFirst) {
      const uint64_t g = gen_;
      const bool ok = touch(la, kind, side, retry, 1);
      if (gen_ != g) clearMemo();
      if (!ok) {
        stop = static_cast<int64_t>(2 * i);
        break;
      }
      lastHit = true;  // after a miss too: a run that stops at once costs only its call
      retry = false;
    }
    skipFirst = false;
    if (split) {
      const uint64_t g = gen_;
      const bool ok = touch(last & ~4095ull, kind, side, retry, 1);
      if (gen_ != g) clearMemo();
      retry = false;
      if (!ok) {
        stop = static_cast<int64_t>(2 * i + 1);
        break;
      }
      splits++;
    }
    rc.kinds[tk]++;
  }
  for (int s = 0; s < H_SLOTS; s++)
    if (rc.hits[s]) st_[s * H_SLOT_STATS + HS_HITS] += static_cast<double>(rc.hits[s]);
  for (int k = 0; k < 4; k++) out[k] += static_cast<double>(rc.kinds[k]);
  out[4] += static_cast<double>(splits);
  return stop;
}

// One access of the machine API through the hierarchy (Cpu::access when a hierarchy is
// attached): the physical address, or the fault value. flags: bit 0 user, bit 1 AC, bit 3
// (H_RETRY) this access retries the one that faulted (its lookups were counted).
double Hierarchy::access(uint64_t la, int kind, int flags) {
  if (cpu_.root_ != memoRoot_ || cpu_.tag_ != memoTag_) {
    clearMemo();
    memoRoot_ = cpu_.root_;
    memoTag_ = cpu_.tag_;
  }
  const uint64_t g = gen_;
  const bool ok = touch(la, kind, kind == 2 ? 0 : 1, (flags & H_RETRY) != 0, flags & 3);
  if (gen_ != g) clearMemo();
  if (!ok) return lastFault_;
  cpu_.c_[C_READS + kind] += 1;
  return lastPa_;
}

// A pending faulted touch the caller gave up on (an access that is not retried) gets its misses now.
void Hierarchy::settle() {
  if (pending_ != 0) abandon();
}

void Hierarchy::invalidate(int op, uint32_t pcid, uint64_t la) {
  gen_++;
  clearMemo();
  switch (op) {
    case HOP_INVLPG:
    case HOP_ADDRESS:
      for (int s = 0; s < H_SLOT_PWC_PML4; s++)
        if (has_[s]) a_[s].dropAddress(la, pcid, op == HOP_INVLPG);
      for (int s = H_SLOT_PWC_PML4; s < H_SLOTS; s++)
        if (has_[s]) a_[s].dropWhere([pcid](uint32_t t) { return t == pcid; });
      break;
    case HOP_CONTEXT:
      for (int s = 0; s < H_SLOTS; s++)
        if (has_[s]) a_[s].dropWhere([pcid](uint32_t t) { return t == pcid; });
      break;
    case HOP_ALL_GLOBAL:
      for (int s = 0; s < H_SLOTS; s++)
        if (has_[s]) a_[s].dropWhere([](uint32_t) { return true; });
      break;
    case HOP_ALL:
      for (int s = 0; s < H_SLOTS; s++)
        if (has_[s]) a_[s].dropWhere([](uint32_t t) { return t != GLOBAL_TAG; });
      break;
  }
}

int64_t Hierarchy::dump(int slot, double* out, size_t n) const {
  if (slot < 0 || slot >= H_SLOTS) return EINVAL_;
  if (!has_[slot]) return ENOENT_;
  if (n < static_cast<size_t>(a_[slot].entries) * 5 + 2) return EINVAL_;
  return a_[slot].dump(out);
}

}  // namespace vmsim
