// The per-CPU TLB hierarchy: L1 instruction and data arrays per page size, a second level,
// paging-structure caches, each with its own size, associativity and replacement policy.
// The fast twin of src/core/ref/hierarchy-model.ts (the reference, whose comments state the
// semantics); src/tlb/layout.ts defines the slots, the config encoding and the stats layout.
#pragma once
#include <cstdint>
#include <vector>

#include "constants.h"
#include "cpu.h"
#include "ram.h"

namespace vmsim {

// layout.ts mirror.
constexpr int H_SLOTS = 11, H_CONF_FIELDS = 5, H_SLOT_STATS = 4, H_STATS = 60;
constexpr int HS_HITS = 0, HS_MISSES = 1, HS_FILLS = 2, HS_EVICTIONS = 3;
constexpr int H_L1I_MISSES = 44, H_L1D_MISSES = 45, H_STLB_HITS_I = 46, H_STLB_MISSES_I = 47, H_STLB_HITS_D = 48, H_STLB_MISSES_D = 49, H_WALKS_I = 50,
              H_WALKS_D = 51, H_REFS_PML4E = 52, H_ASSISTS = 56, H_FAULT_WALKS = 57, H_MISSES_ALL = 58;
constexpr int H_SLOT_STLB = 5, H_SLOT_L2I = 7, H_SLOT_PWC_PML4 = 8, H_SLOT_PWC_PDPT = 9, H_SLOT_PWC_PD = 10;
constexpr int POL_LRU = 0, POL_PLRU = 1, POL_FIFO = 2, POL_RANDOM = 3;
constexpr int HOP_INVLPG = 0, HOP_ADDRESS = 1, HOP_CONTEXT = 2, HOP_ALL_GLOBAL = 3, HOP_ALL = 4;
constexpr int H_RETRY = 8;

// One array (TlbArray in src/core/ref/tlb-array.ts).
struct HArray {
  uint32_t sets = 0, ways = 0, entries = 0, policy = 0, sizes = 0;
  uint64_t setMask = 0;  // sets - 1 when a power of two, else 0 (vpn % sets)
  std::vector<double> key, pbase, stamp;
  std::vector<uint8_t> flags, tree;
  double clock = 0;
  uint32_t rng = 1;
  int32_t count[3] = {0, 0, 0};
  int32_t globals = 0;

  void init(uint32_t entries, uint32_t ways, uint32_t policy, uint32_t sizes, uint32_t seed);
  uint64_t setOf(uint64_t vpn) const { return setMask ? (vpn & setMask) : (sets == 1 ? 0 : vpn % sets); }
  int32_t find(uint64_t vpn, uint32_t sc, uint32_t tag) const {
    const double k = static_cast<double>(static_cast<int64_t>((vpn * 4 + sc) * 8192 + tag));
    const uint32_t b = static_cast<uint32_t>(setOf(vpn)) * ways;
    const double* kk = key.data();
    for (uint32_t e = b; e < b + ways; e++)
      if (kk[e] == k) return static_cast<int32_t>(e);
    return -1;
  }
  int32_t lookup(uint64_t la, uint32_t tag) const {
    for (uint32_t sc = 0; sc < 3; sc++) {
      if (!(sizes & (1u << sc)) || count[sc] == 0) continue;
      const uint64_t vpn = la >> (12 + 9 * sc);
      int32_t e = find(vpn, sc, tag);
      if (e < 0 && globals > 0) e = find(vpn, sc, GLOBAL_TAG);
      if (e >= 0) return e;
    }
    return -1;
  }
  void touch(int32_t e) {
    if (policy == POL_LRU) stamp[e] = clock += 1.0;
    else if (policy == POL_PLRU) plruTouch(e);
  }
  void plruTouch(int32_t e);
  int32_t victim(uint32_t set);
  // Fills a translation; returns the entry it took (*evicted: a valid one was replaced).
  int32_t fill(uint64_t vpn, uint32_t sc, uint32_t tag, double pb, uint8_t fl, bool* evicted);
  void drop(int32_t e);
  void dropAddress(uint64_t la, uint32_t tag, bool globalsToo);
  template <typename Pred>
  void dropWhere(Pred pred) {
    for (uint32_t e = 0; e < entries; e++) {
      const double k = key[e];
      if (k != -1 && pred(static_cast<uint32_t>(static_cast<int64_t>(k) % 8192))) drop(static_cast<int32_t>(e));
    }
  }
  int64_t dump(double* out) const;
  // The inverse of dump (a snapshot's state put back): false when `n` is not the dump's length.
  bool load(const double* in, size_t n);
  size_t dumpLength() const { return static_cast<size_t>(entries) * 5 + 2; }
};

class Hierarchy {
 public:
  // conf: H_SLOTS * H_CONF_FIELDS values (checked by ok()); stats: H_STATS values owned by the caller.
  Hierarchy(Cpu& cpu, Ram& ram, const double* conf, double* stats);
  static bool configOk(const double* conf, size_t n);
  int64_t traceBatch(const uint32_t* words, uint64_t start, uint64_t end, int flags, double* out);
  double access(uint64_t la, int kind, int flags);
  void settle();
  void invalidate(int op, uint32_t pcid, uint64_t la);
  int64_t dump(int slot, double* out, size_t n) const;
  // A snapshot's state: one array's dump (false: absent slot or wrong length), and the pending faulted touch.
  bool load(int slot, const double* in, size_t n);
  uint32_t pending() const { return pending_; }
  void setPending(uint32_t p) { pending_ = p; }

 private:
  struct Memo {
    uint64_t vpn;
    double* stamp;  // the entry's LRU stamp, or a scratch slot (FIFO and random: no update on a hit)
    double* clock;
    int32_t e;
    // Bits 0-3: the trace kinds (load, store, fetch, modify) the entry permits as a plain hit;
    // 0 for a PLRU array, whose hits take the general path (the tree update).
    uint8_t slot, allowed;
  };
  double scratch_[2] = {0, 0};  // stamp and clock of memoised entries whose hits update nothing
  static constexpr uint32_t MEMO = 64;

  struct RunCounts {
    uint64_t hits[H_SLOTS] = {0};  // per slot
    uint64_t kinds[4] = {0, 0, 0, 0};  // completed records by trace kind
  };
  uint64_t hitRun(const uint32_t* w, uint64_t i, uint64_t end, RunCounts& rc);
  bool touch(uint64_t la, int kind, int side, bool retry, int mode);
  bool hitOk(uint8_t f, int kind, int mode) const;
  void abandon();
  // The second-level slots a side looks up (fetches: the L2 ITLB when present), and how many.
  const int* secondLevel(int side, int* n) const;
  int holder(const int* slots, int n, uint32_t sc) const;
  void fillSlot(int s, uint64_t la, uint32_t sc, uint32_t tag, double pb, uint8_t fl);
  uint32_t depth(uint64_t la) const;
  void walkRefs(uint64_t la, uint32_t last, bool ok);
  void dropFaulting(uint64_t la, uint32_t tag);
  void remember(int side, uint64_t la, int slot, int32_t e);
  void clearMemo();
  void forget(int slot, int32_t e);

  Cpu& cpu_;
  Ram& ram_;
  double* st_;
  HArray a_[H_SLOTS];
  bool has_[H_SLOTS];
  uint32_t pending_ = 0;
  double lastPa_ = 0;     // the physical address of touch()'s access when it succeeded
  double lastFault_ = 0;  // its fault value when it did not
  uint64_t gen_ = 0;  // bumped by every drop and invalidation: the memo is valid while it stays
  Memo memo_[2][MEMO];
  uint64_t memoUsed_[2] = {0, 0};
  // The CR3 the memo was filled under: a CR3 load that flushes nothing (bit 63, another PCID)
  // still changes which entries a lookup may use.
  int64_t memoRoot_ = -1;
  uint32_t memoTag_ = ~0u;
};

}  // namespace vmsim
