/**
 * Page tables of the reference core, in simulated RAM in the x86-64 format. Everything is
 * built on two walk primitives over the same tables: `descend` (one address, optionally
 * creating tables) and `forEachLeaf` (a range, recursing once per table). The native core
 * has the same semantics (docs/core-spec.md). Page-table contents are untrusted (users write
 * RAM): every entry followed is checked, and the range operations clear bad entries.
 */
import { Counter, PTE, PTE_HI, Status, INTER_USER, INTER_KERNEL, TWO47, TWO48, ATTR_LO } from '../constants.js';
import type { Ram } from './ram.js';
import type { Frames } from './frames.js';

const P = PTE.P;
const PS = PTE.PS;
const NX = PTE_HI.NX;

/** Bytes covered by one entry at `level` (1 = PT … 4 = PML4). */
export const SPAN = [0, 2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39];

/** Frame number stored in an entry. */
export function entryPfn(lo: number, hi: number): number {
  return (lo >>> 12) + (hi & 0xfffff) * 1048576;
}

/** Entry words for a leaf (or, with level 0 flags, a table pointer) at frame `pfn`. */
export function makeEntry(pfn: number, lo: number, hi: number): [number, number] {
  return [(lo | ((pfn % 1048576) * 4096)) >>> 0, (hi | Math.floor(pfn / 1048576)) >>> 0];
}

/** Index of `la` in a table of `level`. */
export function indexAt(la: number, level: number): number {
  return Math.floor(la / SPAN[level]!) % 512;
}

/** Frames covered by a leaf at `level`. */
export function leafFrames(level: number): number {
  return SPAN[level]! / 4096;
}

class Abort {
  constructor(readonly status: number) {}
}

/**
 * What a range operation did that a TLB may still hold (Linux's mmu_gather range): the span
 * [start, end) of the leaves cleared or changed in a way that needs a flush, how many, the tables
 * freed, and the levels (bit 0 PTE, 1 PMD, 2 PUD, 3 P4D). A freed table adds [base, base + 4096)
 * of the region it mapped, as pte_free_tlb / pmd_free_tlb / pud_free_tlb add the table's address.
 */
export class FlushSpan {
  start = Infinity;
  end = 0;
  leaves = 0;
  tables = 0;
  levels = 0;
  add(s: number, e: number, bit: number): void {
    if (s < this.start) this.start = s;
    if (e > this.end) this.end = e;
    this.levels |= bit;
  }
}

/** x86's pte_needs_flush (huge_pmd_needs_flush for a large leaf): RW US PWT PCD G or NX changed, or D (a large leaf's A too) cleared. */
function needsFlush(lo: number, hi: number, nlo: number, nhi: number, level: number): boolean {
  if (((lo ^ nlo) & (PTE.RW | PTE.US | PTE.PWT | PTE.PCD | PTE.G)) !== 0 || ((hi ^ nhi) & NX) !== 0) return true;
  return (lo & ~nlo & (PTE.D | (level > 1 ? PTE.A : 0))) !== 0;
}

/** Page-table operations over one RAM and frame allocator. */
export class PageTables {
  /** Set while unmap runs: the tables it frees. */
  private freedSpan: FlushSpan | undefined;
  /** The 256 shared kernel PDPT frames (top-level slots 256..511). */
  readonly kernelPdpts: number[] = [];

  /** Bad entries met are counted in counters[Counter.BAD_ENTRIES] (the counters of the CPU that runs the operation: setCounters). */
  constructor(
    private readonly ram: Ram,
    private readonly frames: Frames,
    private counters: Float64Array,
    /** Over a snapshot's frames: the kernel PDPTs are the frames boot allocated (1..256), already in RAM. */
    restored = false,
  ) {
    if (restored) {
      for (let i = 0; i < 256; i++) this.kernelPdpts.push(i + 1);
      return;
    }
    // Boot: the shared kernel half's PDPTs, frames 1..256 (lowest free first).
    for (let i = 0; i < 256; i++) {
      const f = frames.alloc();
      if (f < 0) throw new RangeError('memory too small for the kernel page tables');
      this.kernelPdpts.push(f);
    }
  }

  /** Bad entries are counted in the counters of the CPU the core has selected. */
  setCounters(counters: Float64Array): void {
    this.counters = counters;
  }

  /** Physical address of entry `idx` of table `table`. */
  ea(table: number, idx: number): number {
    return table * 4096 + idx * 8;
  }

  /** New top-level table with the kernel half linked in; ENOMEM. */
  createRoot(): number {
    const t = this.frames.alloc();
    if (t < 0) return t;
    for (let i = 0; i < 256; i++) {
      const [lo, hi] = makeEntry(this.kernelPdpts[i]!, INTER_KERNEL, 0);
      this.ram.set(this.ea(t, 256 + i), lo, hi);
    }
    return t;
  }

  /**
   * Walks to the entry that maps `la` at `level`, creating missing tables when `create`.
   * Returns the table holding that slot, 0 when a table is missing (not creating; a bad table
   * pointer reads as missing, and the creating pass clears it), or -1 when a large leaf above
   * `level` covers `la`; throws Abort(ENOMEM) when a table cannot be allocated.
   */
  descend(root: number, la: number, level: number, create: boolean): number {
    let table = root;
    for (let l = 4; l > level; l--) {
      const ea = this.ea(table, indexAt(la, l));
      const lo = this.ram.lo(ea);
      if ((lo & P) !== 0) {
        if (l < 4 && (lo & PS) !== 0) return -1;
        const child = entryPfn(lo, this.ram.hi(ea));
        if (this.frames.usable(child)) {
          table = child;
          continue;
        }
        if (!create) return 0;
        this.clearBad(ea);
      } else if (!create) {
        return 0;
      }
      const t = this.frames.alloc();
      if (t < 0) throw new Abort(Status.ENOMEM);
      const [nlo, nhi] = makeEntry(t, la >= TWO47 ? INTER_KERNEL : INTER_USER, 0);
      this.ram.set(ea, nlo, nhi);
      table = t;
    }
    return table;
  }

  /**
   * The present leaf covering `la`: [table, index, level] or undefined. `checked`: every table
   * on the way and the leaf's frames must be usable (a bad entry reads as not present);
   * unchecked is the hardware's view (only tables beyond RAM read as not present).
   */
  leaf(root: number, la: number, checked: boolean): [number, number, number] | undefined {
    let table = root;
    for (let l = 4; l >= 1; l--) {
      const idx = indexAt(la, l);
      const ea = this.ea(table, idx);
      if (ea + 8 > this.ram.bytes) return undefined;
      const lo = this.ram.lo(ea);
      if ((lo & P) === 0) return undefined;
      if (l === 1 || (l < 4 && (lo & PS) !== 0)) {
        if (checked && !this.leafOk(lo, this.ram.hi(ea), l)) return undefined;
        return [table, idx, l];
      }
      table = entryPfn(lo, this.ram.hi(ea));
      if (checked && !this.frames.usable(table)) return undefined;
    }
    return undefined;
  }

  /** A leaf is good when every frame it covers is usable: only then may its references change. */
  private leafOk(lo: number, hi: number, level: number): boolean {
    const n = leafFrames(level);
    const pfn = entryPfn(lo, hi);
    return this.frames.runUsable(pfn - (pfn % n), n);
  }

  /** Linux's pgd_clear_bad: a bad entry is cleared (what it names cannot be trusted, so nothing is freed) and reported. */
  private clearBad(ea: number): void {
    this.ram.set(ea, 0, 0);
    this.counters[Counter.BAD_ENTRIES]!++;
  }

  /** Splits the large leaf covering `addr` until the leaf there starts at or ends before `addr`; ENOMEM. */
  splitAt(root: number, addr: number): number {
    if (addr <= 0 || addr >= TWO48) return Status.OK;
    for (;;) {
      // A bad leaf is not split: the range operation that follows clears it whole.
      const leaf = this.leaf(root, addr, true);
      if (!leaf) return Status.OK;
      const [table, idx, level] = leaf;
      if (level === 1 || addr % SPAN[level]! === 0) return Status.OK;
      const st = this.split(table, idx, level, addr >= TWO47);
      if (st < 0) return st;
    }
  }

  private split(table: number, idx: number, level: number, kernel: boolean): number {
    const t = this.frames.alloc();
    if (t < 0) return Status.ENOMEM;
    const ea = this.ea(table, idx);
    const lo = this.ram.lo(ea);
    const hi = this.ram.hi(ea);
    const base = entryPfn(lo, hi) - (entryPfn(lo, hi) % leafFrames(level));
    const step = leafFrames(level - 1);
    let attrs = lo & 0x1fff; // attribute bits incl. PS and PAT_LARGE
    const hiAttrs = hi & NX;
    if (level === 2) {
      // 2M → 4K: PS goes, PAT moves from bit 12 to bit 7.
      const pat = (attrs & PTE.PAT_LARGE) !== 0;
      attrs = (attrs & ~(PS | PTE.PAT_LARGE)) | (pat ? PS : 0);
    }
    for (let k = 0; k < 512; k++) {
      const [clo, chi] = makeEntry(base + k * step, attrs, hiAttrs);
      this.ram.set(this.ea(t, k), clo, chi);
    }
    const [plo, phi] = makeEntry(t, kernel ? INTER_KERNEL : INTER_USER, 0);
    this.ram.set(ea, plo, phi);
    return Status.OK;
  }

  /**
   * Calls `fn` for every present leaf in [start, end) in address order (large leaves must
   * already be split at the edges). With `freeEmpty`, tables left empty are freed.
   */
  forEachLeaf(root: number, start: number, end: number, freeEmpty: boolean, fn: (table: number, idx: number, lo: number, hi: number, level: number, va: number) => void): void {
    this.rec(root, 4, 0, start, end, freeEmpty, fn);
  }

  private rec(table: number, level: number, base: number, start: number, end: number, freeEmpty: boolean, fn: (table: number, idx: number, lo: number, hi: number, level: number, va: number) => void): void {
    const span = SPAN[level]!;
    const i0 = Math.floor((Math.max(start, base) - base) / span);
    const i1 = Math.floor((Math.min(end, base + span * 512) - 1 - base) / span);
    for (let i = i0; i <= i1; i++) {
      const ea = this.ea(table, i);
      const lo = this.ram.lo(ea);
      if ((lo & P) === 0) continue;
      const va = base + i * span;
      const hi = this.ram.hi(ea);
      if (level === 1 || (level < 4 && (lo & PS) !== 0)) {
        if (!this.leafOk(lo, hi, level)) this.clearBad(ea);
        else fn(table, i, lo, hi, level, va);
        continue;
      }
      const child = entryPfn(lo, hi);
      if (!this.frames.usable(child)) {
        this.clearBad(ea);
        continue;
      }
      this.rec(child, level - 1, va, start, end, freeEmpty, fn);
      // A table that aliases one of its own entries may have been freed on the way: the entry is bad now.
      if (!this.frames.usable(child)) {
        this.clearBad(ea);
        continue;
      }
      // The root and the shared kernel PDPTs are never freed.
      if (freeEmpty && !(level === 4 && i >= 256) && this.ram.tableEmpty(child)) {
        this.ram.set(ea, 0, 0);
        this.frames.unref(child);
        // A PT freed from a PD entry is a PMD-level change (bit 1), and so on up.
        if (this.freedSpan) {
          this.freedSpan.tables++;
          this.freedSpan.add(va, va + 4096, 1 << (level - 1));
        }
      }
    }
  }

  /** core.map. */
  map(root: number, la: number, count: number, level: number, attrLo: number, attrHi: number, pfn: number, list?: Float64Array): number {
    const span = SPAN[level]!;
    const per = leafFrames(level);
    const tableSpan = span * 512; // pages with the same floor(va / tableSpan) share a table
    // Every slot first (one descent per table): a leaf or table there, or a large leaf above, is EEXIST.
    let key = -1;
    let table = 0;
    for (let k = 0; k < count; k++) {
      const va = la + k * span;
      if (Math.floor(va / tableSpan) !== key) {
        table = this.descend(root, va, level, false);
        key = Math.floor(va / tableSpan);
      }
      if (table < 0) return Status.EEXIST;
      if (table === 0) {
        // No table yet: every slot of it is free; go on at the next table.
        k += 512 - indexAt(va, level) - 1;
        continue;
      }
      const ea = this.ea(table, indexAt(va, level));
      if (this.ram.lo(ea) !== 0 || this.ram.hi(ea) !== 0) return Status.EEXIST;
    }
    // Fresh frames that cannot all exist: ENOMEM before anything is written.
    if (!list && pfn < 0 && count * per > this.frames.free) return Status.ENOMEM;
    if (list) {
      for (let k = 0; k < count; k++) if (!this.frames.usable(list[k]!)) return Status.EINVAL;
    } else if (pfn >= 0) {
      if (!this.frames.runUsable(pfn, count * per)) return Status.EINVAL;
    }
    const lo0 = (attrLo & ATTR_LO) | P | (level > 1 ? PS : 0);
    const hi0 = attrHi & NX;
    let k = 0;
    try {
      key = -1;
      for (; k < count; k++) {
        const va = la + k * span;
        if (Math.floor(va / tableSpan) !== key) {
          table = this.descend(root, va, level, true);
          key = Math.floor(va / tableSpan);
        }
        let f: number;
        if (list) {
          f = list[k]!;
          this.frames.ref(f);
        } else if (pfn >= 0) {
          f = pfn + k * per;
          for (let j = 0; j < per; j++) this.frames.ref(f + j);
        } else {
          f = per === 1 ? this.frames.alloc() : this.frames.allocRun(per, per);
          if (f < 0) throw new Abort(Status.ENOMEM);
        }
        const [lo, hi] = makeEntry(f, lo0, hi0);
        this.ram.set(this.ea(table, indexAt(va, level)), lo, hi);
      }
    } catch (e) {
      if (!(e instanceof Abort)) throw e;
      this.unmap(root, la, ((k + 1) * span) / 4096);
      return e.status;
    }
    return Status.OK;
  }

  /** core.unmap: returns pages unmapped and reports frames freed through `freed[0]`, the leaves cleared and tables freed through `span`. */
  unmap(root: number, la: number, count: number, freed?: number[], span?: FlushSpan): number {
    const end = la + count * 4096;
    let st = this.splitAt(root, la);
    if (st >= 0) st = this.splitAt(root, end);
    if (st < 0) return st;
    let pages = 0;
    let nfreed = 0;
    this.freedSpan = span;
    try {
      this.forEachLeaf(root, la, end, true, (table, idx, lo, hi, level, va) => {
        this.ram.set(this.ea(table, idx), 0, 0);
        const n = leafFrames(level);
        const base = entryPfn(lo, hi) - (entryPfn(lo, hi) % n);
        for (let f = base; f < base + n; f++) if (this.frames.unref(f) === 0) nfreed++;
        pages += n;
        if (span) {
          span.leaves++;
          span.add(va, va + SPAN[level]!, 1 << (level - 1));
        }
      });
    } finally {
      this.freedSpan = undefined;
    }
    if (freed) freed[0] = nfreed;
    return pages;
  }

  /** core.protect; `span` collects the leaves whose change needs a TLB flush. */
  protect(root: number, la: number, count: number, setLo: number, setHi: number, clrLo: number, clrHi: number, ifLo: number, thenClrLo: number, span?: FlushSpan): number {
    const end = la + count * 4096;
    let st = this.splitAt(root, la);
    if (st >= 0) st = this.splitAt(root, end);
    if (st < 0) return st;
    setLo &= ATTR_LO;
    clrLo &= ATTR_LO;
    setHi &= NX;
    clrHi &= NX;
    ifLo &= ATTR_LO;
    thenClrLo &= ATTR_LO;
    let pages = 0;
    this.forEachLeaf(root, la, end, false, (table, idx, lo, hi, level, va) => {
      let nlo = (lo & ~clrLo) | setLo;
      const nhi = ((hi & ~clrHi) | setHi) >>> 0;
      if ((nlo & ifLo) !== 0) nlo &= ~thenClrLo;
      this.ram.set(this.ea(table, idx), nlo >>> 0, nhi);
      pages += leafFrames(level);
      if (span && needsFlush(lo, hi, nlo >>> 0, nhi, level)) {
        span.leaves++;
        span.add(va, va + SPAN[level]!, 1 << (level - 1));
      }
    });
    return pages;
  }

  /** core.scanAccessed: [leaves, 4K pages they cover]. */
  scanAccessed(root: number, la: number, count: number, clear: boolean): [number, number] {
    let leaves = 0;
    let pages = 0;
    this.forEachLeaf(root, la, la + count * 4096, false, (table, idx, lo, hi, level) => {
      if ((lo & PTE.A) === 0) return;
      leaves++;
      pages += leafFrames(level);
      if (clear) this.ram.set(this.ea(table, idx), (lo & ~PTE.A) >>> 0, hi);
    });
    return [leaves, pages];
  }

  /** core.fork: parent leaf = (leaf & ~parentClr) | parentSet; child entry = new parent leaf & ~childClr. */
  fork(src: number, dst: number, la: number, count: number, parentClr: number, parentSet: number, childClr: number): number {
    const end = la + count * 4096;
    let st = this.splitAt(src, la);
    if (st >= 0) st = this.splitAt(src, end);
    if (st < 0) return st;
    parentClr &= ATTR_LO;
    parentSet &= ATTR_LO;
    childClr &= ATTR_LO;
    let pages = 0;
    // The child's tables are walked with a cursor: leaves arrive in address order, so
    // consecutive leaves share the child's table and only a table change needs a descent.
    let curTable = 0;
    let curKey = -1;
    let curLevel = 0;
    try {
      this.forEachLeaf(src, la, end, false, (table, idx, lo, hi, level, va) => {
        const plo = ((lo & ~parentClr) | parentSet) >>> 0;
        if (plo !== lo) this.ram.set(this.ea(table, idx), plo, hi);
        const key = Math.floor(va / (SPAN[level]! * 512));
        if (key !== curKey || level !== curLevel) {
          const t = this.descend(dst, va, level, true);
          if (t < 0) throw new Abort(Status.EEXIST);
          curTable = t;
          curKey = key;
          curLevel = level;
        }
        const dea = this.ea(curTable, indexAt(va, level));
        if (this.ram.lo(dea) !== 0 || this.ram.hi(dea) !== 0) throw new Abort(Status.EEXIST);
        this.ram.set(dea, (plo & ~childClr) >>> 0, hi);
        const n = leafFrames(level);
        const base = entryPfn(lo, hi) - (entryPfn(lo, hi) % n);
        for (let f = base; f < base + n; f++) this.frames.ref(f);
        pages += n;
      });
    } catch (e) {
      if (!(e instanceof Abort)) throw e;
      return e.status;
    }
    return pages;
  }

  /**
   * core.moveRange: the entries of [src, src+len) move to [dst, dst+len) (user half, disjoint,
   * dst empty): whole tables or large leaves where both sides are aligned alike and the slot at
   * dst is empty, single entries (present or not) otherwise. Returns OK, EEXIST, or ENOMEM with
   * everything moved back.
   */
  moveRange(root: number, src: number, dst: number, count: number): number {
    const len = count * 4096;
    if (this.occupied(root, 4, 0, dst, dst + len)) return Status.EEXIST;
    let st = this.splitAt(root, src);
    if (st >= 0) st = this.splitAt(root, src + len);
    if (st < 0) return st;
    const log: number[] = [];
    try {
      this.moveLoop(root, src, dst, len, log);
    } catch (e) {
      if (!(e instanceof Abort)) throw e;
      // What moved goes back where it came from (those tables are all still there), then the tables made at dst go.
      for (let i = log.length - 3; i >= 0; i -= 3) this.moveBack(root, dst + log[i]!, src + log[i]!, log[i + 1]!, log[i + 2]!);
      this.prune(root, dst, dst + len);
      return e.status;
    }
    this.prune(root, src, src + len);
    return Status.OK;
  }

  /** True when a present leaf, or a non-zero 4 KiB-level entry, lies in [start, end) under `table` (no side effect). */
  private occupied(table: number, level: number, base: number, start: number, end: number): boolean {
    const span = SPAN[level]!;
    const i0 = Math.floor((Math.max(start, base) - base) / span);
    const i1 = Math.floor((Math.min(end, base + span * 512) - 1 - base) / span);
    for (let i = i0; i <= i1; i++) {
      const ea = this.ea(table, i);
      const lo = this.ram.lo(ea);
      if (level === 1) {
        if (lo !== 0 || this.ram.hi(ea) !== 0) return true;
        continue;
      }
      if ((lo & P) === 0) continue;
      if (level < 4 && (lo & PS) !== 0) return true;
      const child = entryPfn(lo, this.ram.hi(ea));
      if (this.frames.usable(child) && this.occupied(child, level - 1, base + i * span, start, end)) return true;
    }
    return false;
  }

  /** Frees the tables left empty in [start, end). */
  private prune(root: number, start: number, end: number): void {
    this.forEachLeaf(root, start, end, true, () => {});
  }

  /** Splits the large leaf covering `la` (or clears it when it is bad); Abort(ENOMEM) when no frame is free. */
  private splitCovering(root: number, la: number): void {
    const leaf = this.leaf(root, la, false)!;
    const ea = this.ea(leaf[0], leaf[1]);
    if (!this.leafOk(this.ram.lo(ea), this.ram.hi(ea), leaf[2])) return this.clearBad(ea);
    if (this.split(leaf[0], leaf[1], leaf[2], false) < 0) throw new Abort(Status.ENOMEM);
  }

  /**
   * Moves the entries of [from, from+len) to [to, to+len) extent by extent (a 1 GiB or 2 MiB
   * entry whole, else the entries of one table), as move_page_tables does. Every allocation an
   * extent needs comes before any of its entries move; each extent that moved something is
   * logged (offset, bytes, level: 3 or 2 whole, 1 entry by entry) for moveBack.
   */
  private moveLoop(root: number, from: number, to: number, len: number, log: number[]): void {
    const G = SPAN[3]!;
    const M = SPAN[2]!;
    let d = 0;
    while (d < len) {
      const o = from + d;
      const n = to + d;
      if (o % G === 0 && n % G === 0 && len - d >= G) {
        const r = this.moveWhole(root, o, n, 3);
        if (r !== 0) {
          if (r === 2) log.push(d, G, 3);
          d += G;
          continue;
        }
      }
      const ext = Math.min(M - (o % M), M - (n % M), len - d);
      if (ext === M) {
        const r = this.moveWhole(root, o, n, 2);
        if (r !== 0) {
          if (r === 2) log.push(d, M, 2);
          d += M;
          continue;
        }
      }
      const st = this.descend(root, o, 1, false);
      if (st === -1) {
        this.splitCovering(root, o); // a large leaf covers o and could not move whole
        continue;
      }
      const si = indexAt(o, 1);
      let any = false;
      if (st !== 0) for (let k = 0; k < ext / 4096 && !any; k++) any = this.ram.lo(this.ea(st, si + k)) !== 0 || this.ram.hi(this.ea(st, si + k)) !== 0;
      if (any) {
        const dt = this.descend(root, n, 1, true);
        const di = indexAt(n, 1);
        for (let k = 0; k < ext / 4096; k++) {
          const sea = this.ea(st, si + k);
          const lo = this.ram.lo(sea);
          const hi = this.ram.hi(sea);
          if (lo === 0 && hi === 0) continue;
          if ((lo & P) !== 0 && !this.leafOk(lo, hi, 1)) {
            this.clearBad(sea); // a bad leaf is cleared, not moved
            continue;
          }
          this.ram.set(sea, 0, 0);
          this.ram.set(this.ea(dt, di + k), lo, hi);
        }
        log.push(d, ext, 1);
      }
      d += ext;
    }
  }

  /**
   * The entry mapping the aligned `level` block at o (a table or a large leaf) moves to the
   * empty slot for n: 2 when it moved, 1 when nothing maps the block, 0 when the extent must
   * go entry by entry (the slot at n is taken; a large leaf at o is split first).
   */
  private moveWhole(root: number, o: number, n: number, level: number): number {
    let st = this.descend(root, o, level, false);
    while (st === -1) {
      this.splitCovering(root, o); // a larger leaf covers the block
      st = this.descend(root, o, level, false);
    }
    if (st === 0) return 1;
    const sea = this.ea(st, indexAt(o, level));
    const lo = this.ram.lo(sea);
    const hi = this.ram.hi(sea);
    if ((lo & P) === 0) return 1; // nothing (or a stray non-present word) maps the block
    const isLeaf = (lo & PS) !== 0;
    if (isLeaf ? !this.leafOk(lo, hi, level) : !this.frames.usable(entryPfn(lo, hi))) {
      this.clearBad(sea);
      return 1;
    }
    const dt = this.descend(root, n, level, true);
    const dea = this.ea(dt, indexAt(n, level));
    if (this.ram.lo(dea) === 0 && this.ram.hi(dea) === 0) {
      this.ram.set(sea, 0, 0);
      this.ram.set(dea, lo, hi);
      return 2;
    }
    if (isLeaf && this.split(st, indexAt(o, level), level, false) < 0) throw new Abort(Status.ENOMEM);
    return 0;
  }

  /** Undoes one logged extent of moveLoop: its entries go from `from` back to `to` (both tables exist). */
  private moveBack(root: number, from: number, to: number, ext: number, level: number): void {
    const ft = this.descend(root, from, level, false);
    const tt = this.descend(root, to, level, false);
    const fi = indexAt(from, level);
    const ti = indexAt(to, level);
    for (let k = 0; k < (level === 1 ? ext / 4096 : 1); k++) {
      const fea = this.ea(ft, fi + k);
      const lo = this.ram.lo(fea);
      const hi = this.ram.hi(fea);
      if (lo === 0 && hi === 0) continue;
      this.ram.set(fea, 0, 0);
      this.ram.set(this.ea(tt, ti + k), lo, hi);
    }
  }

  /** core.countFrames: 4 KiB pages of [la, la+count*4096) whose present leaf maps a frame in [pfn, pfn+frames). */
  countFrames(root: number, la: number, count: number, pfn: number, frames: number): number {
    const end = la + count * 4096;
    let n = 0;
    this.forEachLeaf(root, la, end, false, (_table, _idx, lo, hi, level, va) => {
      const per = leafFrames(level);
      const base = entryPfn(lo, hi) - (entryPfn(lo, hi) % per);
      // The part of the leaf inside the range, then the part of that inside the frame range.
      const a = base + (Math.max(va, la) - va) / 4096;
      const b = base + (Math.min(va + per * 4096, end) - va) / 4096;
      const x = Math.max(a, pfn);
      const y = Math.min(b, pfn + frames);
      if (y > x) n += y - x;
    });
    return n;
  }

  /** core.cowBreak (mode 0 copy, 1 zero). */
  cowBreak(root: number, la: number, mode: number, attrLo: number, attrHi: number): number {
    const leaf = this.leaf(root, la, true);
    if (!leaf) return Status.ENOENT;
    const [table, idx, level] = leaf;
    if (level !== 1) return Status.EINVAL;
    const ea = this.ea(table, idx);
    const old = entryPfn(this.ram.lo(ea), this.ram.hi(ea));
    const nf = this.frames.alloc();
    if (nf < 0) return nf;
    if (mode === 0) this.ram.copyFrame(nf, old);
    const [lo, hi] = makeEntry(nf, (attrLo & ATTR_LO) | P, attrHi & NX);
    this.ram.set(ea, lo, hi);
    this.frames.unref(old);
    return nf;
  }

  /** core.destroyRoot. */
  destroyRoot(root: number): number {
    if (!this.frames.usable(root)) return Status.EINVAL;
    this.forEachLeaf(root, 0, TWO47, true, (table, idx, lo, hi, level) => {
      this.ram.set(this.ea(table, idx), 0, 0);
      const n = leafFrames(level);
      const base = entryPfn(lo, hi) - (entryPfn(lo, hi) % n);
      for (let f = base; f < base + n; f++) this.frames.unref(f);
    });
    // An alias inside the tables may have freed the root already.
    if (this.frames.usable(root)) this.frames.unref(root);
    return Status.OK;
  }
}
