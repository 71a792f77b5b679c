#include "page_table.h"

namespace vmsim {

PageTables::PageTables(Ram& ram, Frames& frames) : ram_(ram), frames_(frames) {
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
    if (!(e & P)) {
      if (!create) return 0;
      const int64_t t = frames_.alloc();
      if (t < 0) throw Abort{ENOMEM_};
      *s = (la >= TWO47 ? INTER_KERNEL : INTER_USER) | (static_cast<uint64_t>(t) << 12);
      table = static_cast<uint64_t>(t);
      continue;
    }
    if (l < 4 && (e & PS)) return -1;
    table = entryPfn(e);
  }
  return static_cast<int64_t>(table);
}

int PageTables::leaf(uint64_t root, uint64_t la, uint64_t* table, uint64_t* idx) const {
  uint64_t t = root;
  for (int l = 4; l >= 1; l--) {
    const uint64_t i = indexAt(la, l);
    if (ea(t, i) + 8 > ram_.bytes()) return 0;
    const uint64_t e = *slot(t, i);
    if (!(e & P)) return 0;
    if (l == 1 || (l < 4 && (e & PS))) {
      *table = t;
      *idx = i;
      return l;
    }
    t = entryPfn(e);
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
    const int level = leaf(root, addr, &table, &idx);
    if (level == 0 || level == 1 || addr % spanOf(level) == 0) return OK;
    const int st = split(table, idx, level, addr >= TWO47);
    if (st < 0) return st;
  }
}

bool PageTables::slotFree(uint64_t root, uint64_t la, int level) {
  const int64_t table = descend(root, la, level, false);
  if (table == 0) return true;
  if (table < 0) return false;
  return *slot(static_cast<uint64_t>(table), indexAt(la, level)) == 0;
}

int PageTables::map(uint64_t root, uint64_t la, uint64_t count, int level, uint64_t attrLo, uint64_t attrHi, int64_t pfn, const double* list) {
  const uint64_t span = spanOf(level), per = leafFrames(level);
  for (uint64_t k = 0; k < count; k++)
    if (!slotFree(root, la + k * span, level)) return EEXIST_;
  if (list) {
    for (uint64_t k = 0; k < count; k++)
      if (!frames_.usable(list[k])) return EINVAL_;
  } else if (pfn >= 0) {
    for (uint64_t f = pfn; f < pfn + count * per; f++)
      if (!frames_.usable(f)) return EINVAL_;
  }
  const uint64_t attrs = (attrLo & ATTR_LO) | P | (level > 1 ? PS : 0) | (attrHi & NX);
  uint64_t k = 0;
  try {
    for (; k < count; k++) {
      const uint64_t va = la + k * span;
      const int64_t table = descend(root, va, level, true);
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

int64_t PageTables::unmap(uint64_t root, uint64_t la, uint64_t count, uint64_t* freed) {
  const uint64_t end = la + count * 4096;
  int st = splitAt(root, la);
  if (st >= 0) st = splitAt(root, end);
  if (st < 0) return st;
  int64_t pages = 0;
  uint64_t nfreed = 0;
  forEachLeaf(root, la, end, true, [&](uint64_t* s, uint64_t e, int level, uint64_t) {
    *s = 0;
    const uint64_t n = leafFrames(level);
    const uint64_t base = entryPfn(e) & ~(n - 1);
    for (uint64_t f = base; f < base + n; f++)
      if (frames_.unrefU(f) == 0) nfreed++;
    pages += n;
  });
  *freed = nfreed;
  return pages;
}

int64_t PageTables::protect(uint64_t root, uint64_t la, uint64_t count, uint64_t set, uint64_t clr, int flags) {
  const uint64_t end = la + count * 4096;
  int st = splitAt(root, la);
  if (st >= 0) st = splitAt(root, end);
  if (st < 0) return st;
  set &= ATTR_LO | NX;
  clr &= ATTR_LO | NX;
  int64_t pages = 0;
  forEachLeaf(root, la, end, false, [&](uint64_t* s, uint64_t e, int level, uint64_t) {
    uint64_t n = (e & ~clr) | set;
    if ((flags & PROTECT_KEEP_COW_READONLY) && (n & SW_COW)) n &= ~RW;
    *s = n;
    pages += leafFrames(level);
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

int64_t PageTables::fork(uint64_t src, uint64_t dst, uint64_t la, uint64_t count, int mode) {
  const uint64_t end = la + count * 4096;
  int st = splitAt(src, la);
  if (st >= 0) st = splitAt(src, end);
  if (st < 0) return st;
  int64_t pages = 0;
  // The child's tables are walked with a cached cursor: leaves arrive in address order, so
  // consecutive leaves share the child's PT and only a table change needs a descent.
  uint64_t curTable = 0, curKey = ~0ull;
  int curLevel = 0;
  try {
    forEachLeaf(src, la, end, false, [&](uint64_t* s, uint64_t e, int level, uint64_t va) {
      uint64_t pe = e;
      if (mode == FORK_COW) {
        pe = (e & ~RW) | SW_COW;
        *s = pe;
      }
      uint64_t ce = pe & ~A;
      if (mode == FORK_SHARE && (e & SW_SHARED)) ce &= ~D;
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
      *d = ce;
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

int PageTables::replace(uint64_t root, uint64_t la, double pfnD, uint64_t attrs) {
  uint64_t table, idx;
  const int level = leaf(root, la, &table, &idx);
  if (level == 0) return ENOENT_;
  if (level != 1 || !frames_.usable(pfnD)) return EINVAL_;
  const uint64_t pfn = static_cast<uint64_t>(pfnD);
  uint64_t* s = slot(table, idx);
  const uint64_t old = entryPfn(*s);
  frames_.refU(pfn);
  *s = (attrs & (ATTR_LO | NX)) | P | (pfn << 12);
  frames_.unrefU(old);
  return OK;
}

int64_t PageTables::cowBreak(uint64_t root, uint64_t la, bool copy, uint64_t attrs) {
  uint64_t table, idx;
  const int level = leaf(root, la, &table, &idx);
  if (level == 0) return ENOENT_;
  if (level != 1) return EINVAL_;
  uint64_t* s = slot(table, idx);
  const uint64_t old = entryPfn(*s);
  // A copy overwrites the whole frame, so a recycled frame need not be zeroed first.
  const int64_t nf = frames_.alloc(!copy);
  if (nf < 0) return nf;
  if (copy) ram_.copyFrame(static_cast<uint64_t>(nf), old);
  *s = (attrs & (ATTR_LO | NX)) | P | (static_cast<uint64_t>(nf) << 12);
  frames_.unrefU(old);
  return nf;
}

int PageTables::destroyRoot(uint64_t root) {
  if (!frames_.usable(root)) return EINVAL_;
  forEachLeaf(root, 0, TWO47, true, [&](uint64_t* s, uint64_t e, int level, uint64_t) {
    *s = 0;
    const uint64_t n = leafFrames(level);
    const uint64_t base = entryPfn(e) & ~(n - 1);
    for (uint64_t f = base; f < base + n; f++) frames_.unrefU(f);
  });
  frames_.unrefU(root);
  return OK;
}

}  // namespace vmsim
