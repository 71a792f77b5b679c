// The CPU: CR3, the access path (TLB, walk, SDM §4.6 permission rules, A/D updates), batches
// and copies through virtual memory. Reference: src/core/ref/cpu.ts.
#pragma once
#include <cstdint>

#include "constants.h"
#include "page_table.h"
#include "ram.h"
#include "tlb.h"

namespace vmsim {

class Hierarchy;

class Cpu {
 public:
  Cpu(Ram& ram, Tlb& tlb, double* counters, double* result, int features);
  // With a hierarchy attached, the access path (access, accessBatch, traceBatch, copyVirt) goes
  // through it instead of the single TLB (hierarchy.h).
  void attach(Hierarchy* h) { hier_ = h; }
  void setCr3(int64_t root, uint32_t pcid, bool noFlush);
  uint32_t tag() const { return tag_; }
  int64_t root() const { return root_; }
  // A snapshot's CR3 put back as it was (no flush, nothing counted).
  void restoreCr3(int64_t root, uint32_t tag) {
    root_ = root;
    tag_ = tag;
  }
  // Physical address (>= 0) or -(1 + error code).
  double access(uint64_t la, int kind, int flags);
  int64_t accessBatch(const double* las, const uint8_t* kinds, uint64_t start, uint64_t end, int flags);
  // Packed trace records [start/2, end) from page-touch position start (record * 2 + part);
  // returns the faulting position or end * 2. out[0..3] += completed records by kind, out[4] += splits.
  int64_t traceBatch(const uint32_t* words, uint64_t start, uint64_t end, int flags, double* out);
  int64_t copyVirt(uint64_t la, uint8_t* buf, uint64_t length, bool write, int flags);

 public:
  struct FastHits;  // the batches' inline hit path (batch_accel.h)
  friend class Hierarchy;  // the TLB hierarchy walks through this CPU's walker (hierarchy.cc)

 private:
  bool missTouch(uint64_t la, int kind);
  int64_t hierAccessBatch(const double* las, const uint8_t* kinds, uint64_t start, uint64_t end, int flags);
  bool fullTouch(uint64_t la, int kind, int flags);
  bool allowed(int kind, bool user, bool ac, bool u, bool w, bool nx) const {
    if (user) return u && (kind != 1 || w) && (kind != 2 || !nx);
    if (kind == 2) return !nx && !(smep_ && u);
    if (smap_ && u && !ac) return false;
    return kind != 1 || !wp_ || w;
  }
  double fault(uint64_t la, int kind, bool user, bool present, bool rsvd);
  // 0 on success (w* set), or a fault value.
  double walk(uint64_t la, int kind, bool user, bool ac);

  Ram& ram_;
  Tlb& tlb_;
  Hierarchy* hier_ = nullptr;
  double* c_;
  double* r_;
  int64_t root_ = -1;
  uint32_t tag_ = 0;
  bool nxe_, smep_, smap_, pcide_, wp_;
  // Paging-structure cache (the hardware's PDE cache): for a 2 MiB region of a root, the three
  // upper entries the walk read (after setting their Accessed bits) and their permissions. Used
  // only while those three entries still hold exactly these values, so it never changes what a
  // walk observes, whoever wrote RAM (JavaScript's store hit path writes it without a native call).
  struct PdeCache {
    uint64_t key = ~0ull, pml4e = 0, pdpte = 0, pde = 0;
    bool w = false, u = false, nx = false;
  };
  static constexpr uint32_t PDE_CACHE = 1024;  // direct-mapped; 2 GiB of address space at 4 KiB pages
  PdeCache pde_[PDE_CACHE];
  double wPbase_ = 0;
  uint8_t wFlags_ = 0;
  uint32_t wSizeClass_ = 0;
};

}  // namespace vmsim
