#include "page_table.h"

namespace vmsim {

PageTables::PageTables(Ram& ram, Frames& frames, double* counters) : ram_(ram), frames_(frames), counters_(counters) {
  // Boot: the shared kernel half's PDPTs, frames 1..256 (lowest free first).
  for (int i = 0; i < 256; i++) {
    const int64_t f = frames_.alloc();
    if (f < 0) {
      ok_ = false;
      return;
    }
    kernelPdpts_[i] = static_cast<uint64_t>(f);
  }
}

PageTables::PageTables(Ram& ram, Frames& frames, double* counters, bool) : ram_(ram), frames_(frames), counters_(counters) {
  for (int i = 0; i < 256; i++) kernelPdpts_[i] = static_cast<uint64_t>(i + 1);
  ok_ = frames_.total() > 257;
}

int64_t PageTables::createRoot() {
  const int64_t t = frames_.alloc();
  if (t < 0) return t;
  for (int i = 0; i < 256; i++) *slot(t, 256 + i) = INTER_KERNEL | (kernelPdpts_[i] << 12);
  return t;
}

int64_t PageTables::descend(uint64_t root, uint64_t la, int level, bool create) {
  uint64_t table = root;
  for (int l = 4; l > level; l--) {
    uint64_t* s = slot(table, indexAt(la, l));
    const uint64_t e = *s;
    if (e & P) {
      if (l < 4 && (e & PS)) return -1;
      const uint64_t child = entryPfn(e);
      if (frames_.usable(child)) {
        table = child;
        continue;
      }
      if (!create) return 0;
      clearBad(s);
    } else if (!create) {
      return 0;
    }
    const int64_t t = frames_.alloc();
    if (t < 0) throw Abort{ENOMEM_};
    *s = (la >= TWO47 ? INTER_KERNEL : INTER_USER) | (static_cast<uint64_t>(t) << 12);
    table = static_cast<uint64_t>(t);
  }
  return static_cast<int64_t>(table);
}

int PageTables::leaf(uint64_t root, uint64_t la, uint64_t* table, uint64_t* idx, bool checked) const {
  uint64_t t = root;
  for (int l = 4; l >= 1; l--) {
    const uint64_t i = indexAt(la, l);
    if (ea(t, i) + 8 > ram_.bytes()) return 0;
    const uint64_t e = *slot(t, i);
    if (!(e & P)) return 0;
    if (l == 1 || (l < 4 && (e & PS))) {
      if (checked && !leafOk(e, l)) return 0;
      *table = t;
      *idx = i;
      return l;
    }
    t = entryPfn(e);
    if (checked && !frames_.usable(t)) return 0;
  }
  return 0;
}

int PageTables::split(uint64_t table, uint64_t idx, int level, bool kernel) {
  const int64_t t = frames_.alloc();
  if (t < 0) return ENOMEM_;
  uint64_t* s = slot(table, idx);
  const uint64_t e = *s;
  const uint64_t base = entryPfn(e) & ~(leafFrames(level) - 1);
  const uint64_t step = leafFrames(level - 1);
  uint64_t attrs = (e & 0x1FFF) | (e & NX);
  if (level == 2) {
    // 2M -> 4K: PS goes, PAT moves from bit 12 to bit 7.
    const bool pat = (attrs & PAT_LARGE) != 0;
    attrs = (attrs & ~(PS | PAT_LARGE)) | (pat ? PS : 0);
  }
  uint64_t* c = slot(t, 0);
  for (uint64_t k = 0; k < 512; k++) c[k] = attrs | ((base + k * step) << 12);
  *s = (kernel ? INTER_KERNEL : INTER_USER) | (static_cast<uint64_t>(t) << 12);
  return OK;
}

int PageTables::splitAt(uint64_t root, uint64_t addr) {
  if (addr == 0 || addr >= TWO48) return OK;
  for (;;) {
    uint64_t table, idx;
    // A bad leaf is not split: the range operation that follows clears it whole.
    const int level = leaf(root, addr, &table, &idx, true);
    if (level == 0 || level == 1 || addr % spanOf(level) == 0) return OK;
    const int st = split(table, idx, level, addr >= TWO47);
    if (st < 0) return st;
  }
}

int PageTables::map(uint64_t root, uint64_t la, uint64_t count, int level, uint64_t attrLo, uint64_t attrHi, int64_t pfn, const double* list) {
  const uint64_t span = spanOf(level), per = leafFrames(level);
  const int tableShift = 12 + 9 * level;  // pages with the same va >> tableShift share a table
  // Every slot first (one descent per table): a leaf or table there, or a large leaf above, is EEXIST.
  {
    uint64_t key = ~0ull;
    int64_t table = 0;
    for (uint64_t k = 0; k < count; k++) {
      const uint64_t va = la + k * span;
      if (va >> tableShift != key) {
        table = descend(root, va, level, false);
        key = va >> tableShift;
      }
      if (table < 0) return EEXIST_;
      if (table == 0) {
        // No table yet: every slot of it is free; go on at the next table.
        k += (512 - indexAt(va, level)) - 1;
        continue;
      }
      if (*slot(static_cast<uint64_t>(table), indexAt(va, level)) != 0) return EEXIST_;
    }
  }
  // Fresh frames that cannot all exist: ENOMEM before anything is written.
  if (!list && pfn < 0 && count * per > frames_.freeCount()) return ENOMEM_;
  if (list) {
    for (uint64_t k = 0; k < count; k++)
      if (!frames_.usable(list[k])) return EINVAL_;
  } else if (pfn >= 0) {
    if (!frames_.runUsable(static_cast<uint64_t>(pfn), count * per)) return EINVAL_;
  }
  const uint64_t attrs = (attrLo & ATTR_LO) | P | (level > 1 ? PS : 0) | (attrHi & NX);
  uint64_t k = 0;
  try {
    uint64_t key = ~0ull;
    uint64_t table = 0;
    for (; k < count; k++) {
      const uint64_t va = la + k * span;
      if (va >> tableShift != key) {
        table = static_cast<uint64_t>(descend(root, va, level, true));
        key = va >> tableShift;
      }
      uint64_t f;
      if (list) {
        f = static_cast<uint64_t>(list[k]);
        frames_.refU(f);
      } else if (pfn >= 0) {
        f = pfn + k * per;
        for (uint64_t j = 0; j < per; j++) frames_.refU(f + j);
      } else {
        const int64_t r = per == 1 ? frames_.alloc() : frames_.allocRun(static_cast<double>(per), static_cast<double>(per));
        if (r < 0) throw Abort{ENOMEM_};
        f = static_cast<uint64_t>(r);
      }
      *slot(table, indexAt(va, level)) = attrs | (f << 12);
    }
  } catch (const Abort& a) {
    uint64_t freed;
    unmap(root, la, ((k + 1) * span) >> 12, &freed);
    return a.status;
  }
  return OK;
}

int64_t PageTables::unmap(uint64_t root, uint64_t la, uint64_t count, uint64_t* freed, FlushSpan* span) {
  const uint64_t end = la + count * 4096;
  int st = splitAt(root, la);
  if (st >= 0) st = splitAt(root, end);
  if (st < 0) return st;
  int64_t pages = 0;
  uint64_t nfreed = 0;
  freedSpan_ = span;
  forEachLeaf(root, la, end, true, [&](uint64_t* s, uint64_t e, int level, uint64_t va) {
    *s = 0;
    const uint64_t n = leafFrames(level);
    const uint64_t base = entryPfn(e) & ~(n - 1);
    for (uint64_t f = base; f < base + n; f++)
      if (frames_.unrefU(f) == 0) nfreed++;
    pages += n;
    if (span) {
      span->leaves++;
      span->add(va, va + spanOf(level), 1u << (level - 1));
    }
  });
  freedSpan_ = nullptr;
  *freed = nfreed;
  return pages;
}

// x86's pte_needs_flush (huge_pmd_needs_flush for a large leaf, which does not ignore Accessed):
// a present leaf whose change must be flushed — RW, US, PWT, PCD, G or NX changed, or Dirty
// (or, for a large leaf, Accessed) cleared. Software bits never need one; the frame never changes here.
static bool needsFlush(uint64_t o, uint64_t n, int level) {
  const uint64_t diff = o ^ n;
  if (diff & (RW | US | PWT | PCD | G | NX)) return true;
  return (diff & o & (D | (level > 1 ? A : 0))) != 0;
}

int64_t PageTables::protect(uint64_t root, uint64_t la, uint64_t count, uint64_t set, uint64_t clr, uint64_t cond, uint64_t condClr, FlushSpan* span) {
  const uint64_t end = la + count * 4096;
  int st = splitAt(root, la);
  if (st >= 0) st = splitAt(root, end);
  if (st < 0) return st;
  set &= ATTR_LO | NX;
  clr &= ATTR_LO | NX;
  cond &= ATTR_LO;
  condClr &= ATTR_LO;
  int64_t pages = 0;
  forEachLeaf(root, la, end, false, [&](uint64_t* s, uint64_t e, int level, uint64_t va) {
    uint64_t n = (e & ~clr) | set;
    if (n & cond) n &= ~condClr;
    *s = n;
    pages += leafFrames(level);
    if (span && needsFlush(e, n, level)) {
      span->leaves++;
      span->add(va, va + spanOf(level), 1u << (level - 1));
    }
  });
  return pages;
}

int64_t PageTables::scanAccessed(uint64_t root, uint64_t la, uint64_t count, bool clear, uint64_t* pages) {
  int64_t leaves = 0;
  forEachLeaf(root, la, la + count * 4096, false, [&](uint64_t* s, uint64_t e, int level, uint64_t) {
    if (!(e & A)) return;
    leaves++;
    *pages += leafFrames(level);
    if (clear) *s = e & ~A;
  });
  return leaves;
}

int64_t PageTables::fork(uint64_t src, uint64_t dst, uint64_t la, uint64_t count, uint64_t parentClr, uint64_t parentSet, uint64_t childClr) {
  const uint64_t end = la + count * 4096;
  int st = splitAt(src, la);
  if (st >= 0) st = splitAt(src, end);
  if (st < 0) return st;
  parentClr &= ATTR_LO;
  parentSet &= ATTR_LO;
  childClr &= ATTR_LO;
  int64_t pages = 0;
  // The child's tables are walked with a cursor: leaves arrive in address order, so
  // consecutive leaves share the child's table and only a table change needs a descent.
  uint64_t curTable = 0, curKey = ~0ull;
  int curLevel = 0;
  try {
    forEachLeaf(src, la, end, false, [&](uint64_t* s, uint64_t e, int level, uint64_t va) {
      const uint64_t pe = (e & ~parentClr) | parentSet;
      if (pe != e) *s = pe;
      const uint64_t key = va >> (12 + 9 * level);
      if (key != curKey || level != curLevel) {
        const int64_t t = descend(dst, va, level, true);
        if (t < 0) throw Abort{EEXIST_};
        curTable = static_cast<uint64_t>(t);
        curKey = key;
        curLevel = level;
      }
      uint64_t* d = slot(curTable, indexAt(va, level));
      if (*d != 0) throw Abort{EEXIST_};
      *d = pe & ~childClr;
      const uint64_t n = leafFrames(level);
      const uint64_t base = entryPfn(e) & ~(n - 1);
      for (uint64_t f = base; f < base + n; f++) frames_.refU(f);
      pages += n;
    });
  } catch (const Abort& a) {
    return a.status;
  }
  return pages;
}

int64_t PageTables::cowBreak(uint64_t root, uint64_t la, bool copy, uint64_t attrs) {
  uint64_t table, idx;
  const int level = leaf(root, la, &table, &idx, true);
  if (level == 0) return ENOENT_;
  if (level != 1) return EINVAL_;
  uint64_t* s = slot(table, idx);
  const uint64_t old = entryPfn(*s);
  // A copy overwrites the whole frame, so a recycled frame need not be zeroed first.
  const int64_t nf = frames_.alloc(!copy);
  if (nf < 0) return nf;
  if (copy) {
    const bool fresh = frames_.lastFresh();
    ram_.copyFrameCow(static_cast<uint64_t>(nf), old, fresh, fresh && frames_.blockFresh(static_cast<uint64_t>(nf)));
  }
  *s = (attrs & (ATTR_LO | NX)) | P | (static_cast<uint64_t>(nf) << 12);
  frames_.unrefU(old);
  return nf;
}

int64_t PageTables::countFrames(uint64_t root, uint64_t la, uint64_t count, uint64_t pfn, uint64_t frames) {
  const uint64_t end = la + count * 4096;
  int64_t n = 0;
  forEachLeaf(root, la, end, false, [&](uint64_t*, uint64_t e, int level, uint64_t va) {
    const uint64_t per = leafFrames(level);
    const uint64_t base = entryPfn(e) & ~(per - 1);
    // The part of the leaf inside the range, then the part of that inside the frame range.
    const uint64_t a = base + ((va > la ? va : la) - va) / 4096;
    const uint64_t b = base + ((va + per * 4096 < end ? va + per * 4096 : end) - va) / 4096;
    const uint64_t x = a > pfn ? a : pfn, y = b < pfn + frames ? b : pfn + frames;
    if (y > x) n += static_cast<int64_t>(y - x);
  });
  return n;
}

// moveRange: mirrors PageTables.moveRange of src/core/ref/page-table.ts step for step (same
// allocations in the same order), as move_page_tables moves PUDs, PMDs, then PTEs.
int PageTables::moveRange(uint64_t root, uint64_t src, uint64_t dst, uint64_t count) {
  const uint64_t len = count * 4096;
  if (occupied(root, 4, 0, dst, dst + len)) return EEXIST_;
  int st = splitAt(root, src);
  if (st >= 0) st = splitAt(root, src + len);
  if (st < 0) return st;
  std::vector<uint64_t> log;
  try {
    moveLoop(root, src, dst, len, log);
  } catch (const Abort& a) {
    // What moved goes back where it came from (those tables are all still there), then the tables made at dst go.
    for (size_t i = log.size(); i >= 3; i -= 3) moveBack(root, dst + log[i - 3], src + log[i - 3], log[i - 2], static_cast<int>(log[i - 1]));
    prune(root, dst, dst + len);
    return a.status;
  }
  prune(root, src, src + len);
  return OK;
}

bool PageTables::occupied(uint64_t table, int level, uint64_t base, uint64_t start, uint64_t end) const {
  const uint64_t span = spanOf(level);
  const uint64_t lo = start > base ? start : base;
  const uint64_t top = base + span * 512;
  const uint64_t hi = end < top ? end : top;
  const uint64_t i0 = (lo - base) / span, i1 = (hi - 1 - base) / span;
  const uint64_t* t = slot(table, 0);
  for (uint64_t i = i0; i <= i1; i++) {
    const uint64_t e = t[i];
    if (level == 1) {
      if (e != 0) return true;
      continue;
    }
    if (!(e & P)) continue;
    if (level < 4 && (e & PS)) return true;
    const uint64_t child = entryPfn(e);
    if (frames_.usable(child) && occupied(child, level - 1, base + i * span, start, end)) return true;
  }
  return false;
}

void PageTables::prune(uint64_t root, uint64_t start, uint64_t end) {
  forEachLeaf(root, start, end, true, [](uint64_t*, uint64_t, int, uint64_t) {});
}

void PageTables::splitCovering(uint64_t root, uint64_t la) {
  uint64_t table, idx;
  const int level = leaf(root, la, &table, &idx, false);
  uint64_t* s = slot(table, idx);
  if (!leafOk(*s, level)) return clearBad(s);
  if (split(table, idx, level, false) < 0) throw Abort{ENOMEM_};
}

int PageTables::moveWhole(uint64_t root, uint64_t o, uint64_t n, int level) {
  int64_t st = descend(root, o, level, false);
  while (st == -1) {
    splitCovering(root, o);  // a larger leaf covers the block
    st = descend(root, o, level, false);
  }
  if (st == 0) return 1;
  uint64_t* s = slot(static_cast<uint64_t>(st), indexAt(o, level));
  const uint64_t e = *s;
  if (!(e & P)) return 1;  // nothing (or a stray non-present word) maps the block
  const bool isLeaf = (e & PS) != 0;
  if (isLeaf ? !leafOk(e, level) : !frames_.usable(entryPfn(e))) {
    clearBad(s);
    return 1;
  }
  const uint64_t dt = static_cast<uint64_t>(descend(root, n, level, true));
  uint64_t* d = slot(dt, indexAt(n, level));
  if (*d == 0) {
    *s = 0;
    *d = e;
    return 2;
  }
  if (isLeaf && split(static_cast<uint64_t>(st), indexAt(o, level), level, false) < 0) throw Abort{ENOMEM_};
  return 0;
}

void PageTables::moveLoop(uint64_t root, uint64_t from, uint64_t to, uint64_t len, std::vector<uint64_t>& log) {
  const uint64_t G = spanOf(3), M = spanOf(2);
  uint64_t d = 0;
  while (d < len) {
    const uint64_t o = from + d, n = to + d;
    if (o % G == 0 && n % G == 0 && len - d >= G) {
      const int r = moveWhole(root, o, n, 3);
      if (r != 0) {
        if (r == 2) log.insert(log.end(), {d, G, 3});
        d += G;
        continue;
      }
    }
    uint64_t ext = M - (o % M);
    if (M - (n % M) < ext) ext = M - (n % M);
    if (len - d < ext) ext = len - d;
    if (ext == M) {
      const int r = moveWhole(root, o, n, 2);
      if (r != 0) {
        if (r == 2) log.insert(log.end(), {d, M, 2});
        d += M;
        continue;
      }
    }
    const int64_t st = descend(root, o, 1, false);
    if (st == -1) {
      splitCovering(root, o);  // a large leaf covers o and could not move whole
      continue;
    }
    const uint64_t si = indexAt(o, 1), k1 = ext / 4096;
    bool any = false;
    uint64_t* sp = st != 0 ? slot(static_cast<uint64_t>(st), si) : nullptr;
    if (sp)
      for (uint64_t k = 0; k < k1 && !any; k++) any = sp[k] != 0;
    if (any) {
      uint64_t* dp = slot(static_cast<uint64_t>(descend(root, n, 1, true)), indexAt(n, 1));
      for (uint64_t k = 0; k < k1; k++) {
        const uint64_t e = sp[k];
        if (e == 0) continue;
        if ((e & P) && !leafOk(e, 1)) {
          clearBad(sp + k);  // a bad leaf is cleared, not moved
          continue;
        }
        sp[k] = 0;
        dp[k] = e;
      }
      log.insert(log.end(), {d, ext, 1});
    }
    d += ext;
  }
}

void PageTables::moveBack(uint64_t root, uint64_t from, uint64_t to, uint64_t ext, int level) {
  uint64_t* f = slot(static_cast<uint64_t>(descend(root, from, level, false)), indexAt(from, level));
  uint64_t* t = slot(static_cast<uint64_t>(descend(root, to, level, false)), indexAt(to, level));
  const uint64_t k1 = level == 1 ? ext / 4096 : 1;
  for (uint64_t k = 0; k < k1; k++) {
    if (f[k] == 0) continue;
    t[k] = f[k];
    f[k] = 0;
  }
}

int PageTables::destroyRoot(uint64_t root) {
  if (!frames_.usable(root)) return EINVAL_;
  forEachLeaf(root, 0, TWO47, true, [&](uint64_t* s, uint64_t e, int level, uint64_t) {
    *s = 0;
    const uint64_t n = leafFrames(level);
    const uint64_t base = entryPfn(e) & ~(n - 1);
    for (uint64_t f = base; f < base + n; f++) frames_.unrefU(f);
  });
  // An alias inside the tables may have freed the root already.
  if (frames_.usable(root)) frames_.unrefU(root);
  return OK;
}

}  // namespace vmsim
