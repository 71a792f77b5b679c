// Page tables in simulated RAM, in the x86-64 format. Two walk primitives — descend (one
// address, optionally creating tables) and forEachLeaf (a range, recursing once per table) —
// build map, unmap, protect, translate, fork, cowBreak, split and destroy. Page-table contents
// are untrusted (users write RAM): every entry followed is checked (docs/core-spec.md, bad entries).
// Semantics: docs/core-spec.md; reference: src/core/ref/page-table.ts.
#pragma once
#include <cstdint>
#include <vector>

#include "constants.h"
#include "frames.h"
#include "ram.h"

namespace vmsim {

inline uint64_t spanOf(int level) { return 1ull << (12 + 9 * (level - 1)); }
inline uint64_t indexAt(uint64_t la, int level) { return (la >> (12 + 9 * (level - 1))) & 511; }
inline uint64_t entryPfn(uint64_t e) { return (e & ADDR_MASK) >> 12; }
inline uint64_t leafFrames(int level) { return spanOf(level) >> 12; }

// Thrown inside a walk to abandon an operation with a status (ENOMEM, EEXIST).
struct Abort {
  int status;
};

// What a range operation did that the TLB may still hold (Linux's mmu_gather range): the span
// [start, end) of the leaves cleared or changed in a way that needs a flush, how many, the
// tables freed, and the levels involved (bit 0 PTE, 1 PMD, 2 PUD, 3 P4D: tlb_get_unmap_shift).
// A freed table adds [base, base + 4096) of the region it mapped at its parent's level, as
// pte_free_tlb / pmd_free_tlb / pud_free_tlb add the table's (aligned) address.
struct FlushSpan {
  uint64_t start = ~0ull, end = 0, leaves = 0, tables = 0;
  uint32_t levels = 0;
  void add(uint64_t s, uint64_t e, uint32_t bit) {
    if (s < start) start = s;
    if (e > end) end = e;
    levels |= bit;
  }
};

class PageTables {
 public:
  // Bad entries met are counted in counters[C_BAD_ENTRIES] (the counters of the CPU that runs the operation: setCounters).
  PageTables(Ram& ram, Frames& frames, double* counters);
  // Over restored frames: the kernel PDPTs are the frames boot allocated (1..256), already in RAM.
  PageTables(Ram& ram, Frames& frames, double* counters, bool restored);
  void setCounters(double* counters) { counters_ = counters; }
  bool ok() const { return ok_; }
  uint64_t ea(uint64_t table, uint64_t idx) const { return table * 4096 + idx * 8; }
  uint64_t* slot(uint64_t table, uint64_t idx) const { return ram_.entry(ea(table, idx)); }

  int64_t createRoot();
  int destroyRoot(uint64_t root);
  // Table holding the slot for `la` at `level`; 0 = a table is missing (or, without `create`,
  // a bad table pointer: the creating pass clears it); -1 = a large leaf above.
  int64_t descend(uint64_t root, uint64_t la, int level, bool create);
  // Present leaf covering la: returns level (0 = none) and sets table/idx. `checked`: every
  // table on the way and the leaf's frames must be usable (a bad entry reads as not present);
  // unchecked is the hardware's view (only tables beyond RAM read as not present).
  int leaf(uint64_t root, uint64_t la, uint64_t* table, uint64_t* idx, bool checked) const;
  int splitAt(uint64_t root, uint64_t addr);

  // list != nullptr: page k takes frame list[k] (4K pages only), else consecutive frames from pfn, or fresh ones for pfn = -1.
  int map(uint64_t root, uint64_t la, uint64_t count, int level, uint64_t attrLo, uint64_t attrHi, int64_t pfn, const double* list = nullptr);
  // `span` (may be null): the leaves cleared and tables freed.
  int64_t unmap(uint64_t root, uint64_t la, uint64_t count, uint64_t* freed, FlushSpan* span = nullptr);
  // entry = (entry & ~clr) | set; then, if the new entry has any bit of `cond`, its `condClr` bits are cleared.
  // `span` (may be null): the leaves whose change needs a TLB flush (x86's pte_needs_flush / huge_pmd_needs_flush).
  int64_t protect(uint64_t root, uint64_t la, uint64_t count, uint64_t set, uint64_t clr, uint64_t cond, uint64_t condClr, FlushSpan* span = nullptr);
  // Parent leaf = (leaf & ~parentClr) | parentSet; the child's entry = the new parent leaf & ~childClr.
  int64_t fork(uint64_t src, uint64_t dst, uint64_t la, uint64_t count, uint64_t parentClr, uint64_t parentSet, uint64_t childClr);
  // Points the 4K leaf at la to a fresh frame (a copy of the old one, or zeros) with `attrs`;
  // the old frame loses a reference. The new frame's number, or ENOENT/EINVAL/ENOMEM.
  int64_t cowBreak(uint64_t root, uint64_t la, bool copy, uint64_t attrs);
  // mremap's move: the entries of [src, src + count*4096) go to the empty [dst, ...) (whole tables
  // or large leaves where aligned alike and dst's slot is empty). OK, EEXIST, or ENOMEM with all moved back.
  int moveRange(uint64_t root, uint64_t src, uint64_t dst, uint64_t count);
  // 4 KiB pages of the range whose present leaf maps a frame in [pfn, pfn + frames).
  int64_t countFrames(uint64_t root, uint64_t la, uint64_t count, uint64_t pfn, uint64_t frames);
  // Present leaves meeting the range with Accessed set (cleared when `clear`); *pages += their 4K pages.
  int64_t scanAccessed(uint64_t root, uint64_t la, uint64_t count, bool clear, uint64_t* pages);

  template <typename F>
  void forEachLeaf(uint64_t root, uint64_t start, uint64_t end, bool freeEmpty, F&& fn) {
    rec(root, 4, 0, start, end, freeEmpty, fn);
  }

 private:
  // A leaf is good when every frame it covers is usable: only then may its references be dropped or taken.
  bool leafOk(uint64_t e, int level) const {
    const uint64_t n = leafFrames(level);
    return frames_.runUsable(entryPfn(e) & ~(n - 1), n);
  }
  // Linux's pgd_clear_bad: a bad entry is cleared (what it names cannot be trusted, so nothing is freed) and reported.
  void clearBad(uint64_t* s) {
    *s = 0;
    counters_[C_BAD_ENTRIES] += 1;
  }
  template <typename F>
  void rec(uint64_t table, int level, uint64_t base, uint64_t start, uint64_t end, bool freeEmpty, F& fn) {
    const uint64_t span = spanOf(level);
    const uint64_t lo = start > base ? start : base;
    const uint64_t top = base + span * 512;
    const uint64_t hi = end < top ? end : top;
    const uint64_t i0 = (lo - base) / span, i1 = (hi - 1 - base) / span;
    uint64_t* t = slot(table, 0);
    for (uint64_t i = i0; i <= i1; i++) {
      const uint64_t e = t[i];
      if (!(e & P)) continue;
      const uint64_t va = base + i * span;
      if (level == 1 || (level < 4 && (e & PS))) {
        if (!leafOk(e, level)) clearBad(t + i);
        else fn(t + i, e, level, va);
        continue;
      }
      const uint64_t child = entryPfn(e);
      if (!frames_.usable(child)) {
        clearBad(t + i);
        continue;
      }
      rec(child, level - 1, va, start, end, freeEmpty, fn);
      // A table that aliases one of its own entries may have been freed on the way: the entry is bad now.
      if (!frames_.usable(child)) {
        clearBad(t + i);
        continue;
      }
      // The root and the shared kernel PDPTs are never freed.
      if (freeEmpty && !(level == 4 && i >= 256) && ram_.tableEmpty(child)) {
        t[i] = 0;
        frames_.unrefU(child);
        // A PT freed from a PD entry is a PMD-level change (bit 1), and so on up.
        if (freedSpan_) {
          freedSpan_->tables++;
          freedSpan_->add(va, va + 4096, 1u << (level - 1));
        }
      }
    }
  }
  int split(uint64_t table, uint64_t idx, int level, bool kernel);
  // moveRange's parts (see page_table.cc).
  bool occupied(uint64_t table, int level, uint64_t base, uint64_t start, uint64_t end) const;
  void prune(uint64_t root, uint64_t start, uint64_t end);
  void splitCovering(uint64_t root, uint64_t la);
  int moveWhole(uint64_t root, uint64_t o, uint64_t n, int level);
  void moveLoop(uint64_t root, uint64_t from, uint64_t to, uint64_t len, std::vector<uint64_t>& log);
  void moveBack(uint64_t root, uint64_t from, uint64_t to, uint64_t ext, int level);

  Ram& ram_;
  Frames& frames_;
  double* counters_;
  FlushSpan* freedSpan_ = nullptr;  // set while unmap runs: the tables it frees
  uint64_t kernelPdpts_[256];
  bool ok_ = true;
};

}  // namespace vmsim
