/**
 * The typed page operations of one address space's page tables: what the VMM (and reclaim)
 * may do to page tables, each one core call over a range or a typed array, never one per page.
 * Attributes are typed values (PageAttrs, ProtectChange), a leaf is read as a Leaf, and the
 * core's positional arguments, status codes and result slots stay inside this file.
 *
 * Page-table changes never touch the TLB by themselves (as on hardware). The TLB follows as
 * Linux makes it follow: unmap and protect record what they cleared or changed in a TlbGather
 * (mmu_gather) that `finish` flushes once; `flushPage`, `flushRange` and `flushMm` are
 * flush_tlb_page, flush_tlb_range and flush_tlb_mm; reclaim's unmaps go through `unmapped` and
 * `flushUnmapBatch` (try_to_unmap's batch). The machine turns each into shootdowns
 * (src/machine/arch-tlb.ts). `residentPages` counts the 4 KiB user-half pages these operations
 * mapped (kernel-half pages are shared by every space and belong to none).
 */
import { PAGE_SIZE, PTE, Result, Status } from '../core/constants.js';
import { hex } from '../hex.js';
import { VmmError } from '../errors.js';
import { TlbFlush } from './tlb-flush.js';
import { fromLinear } from '../address.js';
import type { Mmu, CpuSpace } from './mmu.js';
import type { TlbGather } from './tlb-gather.js';

/** Hardware and software attribute bits of leaf entries, as two 32-bit words (the address bits are the operation's). */
export interface PageAttrs {
  /** Low word: RW US PWT PCD A D G and software bits 9-11 (P and PS are the operation's). */
  readonly lo: number;
  /** High word: NX (bit 63) and software bits 52-62. */
  readonly hi: number;
}

/** A change of leaf attributes: entry = (entry & ~clear) | set, on the attribute bits. */
export interface ProtectChange {
  readonly setLo: number;
  readonly setHi: number;
  readonly clearLo: number;
  readonly clearHi: number;
  /** Then, on entries whose new low word has any of these bits, `thenClearLo` is cleared too (0: no condition). */
  readonly ifLo?: number;
  /** Low-word bits cleared on the entries that `ifLo` selects. */
  readonly thenClearLo?: number;
}

/** How fork copies a leaf: the parent's becomes (leaf & ~parentClearLo) | parentSetLo, the child's is that with childClearLo cleared. */
export interface ForkBits {
  readonly parentClearLo: number;
  readonly parentSetLo: number;
  readonly childClearLo: number;
}

/** One present leaf entry, decoded. */
export interface Leaf {
  /** First frame of the page. */
  readonly pfn: number;
  /** Page size in bytes: 4096, 2 MiB or 1 GiB. */
  readonly pageSize: number;
  /** Entry low word (flags and software bits included). */
  readonly lo: number;
  /** Entry high word. */
  readonly hi: number;
  /** Physical address of the byte that was looked up. */
  readonly physical: number;
}

const SHIFT_OF_SIZE: Record<number, number> = { 4096: 12, [2 ** 21]: 21, [2 ** 30]: 30 };
const TWO47 = 2 ** 47;
const HUGE_PAGE = 2 ** 21;

/** The page tables of one address space, operated on in ranges. */
export class PageTable {
  /** 4 KiB user-half pages mapped through these operations, the zero page's mappings included. */
  residentPages = 0;
  /**
   * Of those, the pages that map the OS's zero page(s): the layer above keeps this count (only it
   * knows those frames), because Linux's RSS leaves zero-page mappings out (they are "special").
   */
  zeroPages = 0;

  /** Linux's RSS: resident pages less zero-page mappings. */
  get rss(): number {
    return this.residentPages - this.zeroPages;
  }
  /**
   * A 2 MiB or 1 GiB leaf was mapped through these operations (or copied in by fork): until
   * then no range operation can meet one, and callers may skip looking for large leaves to split.
   */
  largeLeaves = false;

  constructor(
    private readonly cpu: Mmu,
    private readonly space: CpuSpace,
  ) {}

  /** Records a user-half leaf mapped global (mapPage can; Linux never does): PCID flushes keep such entries. */
  private noteGlobal(la: number, lo: number): void {
    if ((lo & PTE.G) !== 0 && la < TWO47) this.cpu.userGlobals = true;
  }

  /** Frame number of the top-level table. */
  get root(): number {
    return this.space.rootFrame;
  }

  /**
   * Maps `pages` pages of `pageSize` bytes from `la` to fresh zeroed frames (aligned runs for
   * large pages). False when frames run out (nothing changed); EEXIST when a slot is taken.
   */
  mapZeroed(la: number, pages: number, attrs: PageAttrs, pageSize = PAGE_SIZE): boolean {
    if (pageSize !== PAGE_SIZE) this.largeLeaves = true;
    this.noteGlobal(la, attrs.lo);
    return this.mapped(this.cpu.core.map(this.space.rootFrame, la, pages, SHIFT_OF_SIZE[pageSize]!, attrs.lo, attrs.hi, -1), la, pages * (pageSize / PAGE_SIZE), 'map');
  }

  /**
   * Maps `pages` pages of `pageSize` bytes from `la` to the consecutive frames from `pfn` (each
   * allocated; each gains a reference). False when a page table cannot be allocated; EEXIST
   * when a slot is taken, EINVAL when a frame is not allocated.
   */
  mapFrames(la: number, pfn: number, pages: number, attrs: PageAttrs, pageSize = PAGE_SIZE): boolean {
    if (pageSize !== PAGE_SIZE) this.largeLeaves = true;
    this.noteGlobal(la, attrs.lo);
    return this.mapped(this.cpu.core.map(this.space.rootFrame, la, pages, SHIFT_OF_SIZE[pageSize]!, attrs.lo, attrs.hi, pfn), la, pages * (pageSize / PAGE_SIZE), 'map');
  }

  /** Maps frames.length 4 KiB pages from `la`, page k to frame frames[k] (each gains a reference); as mapFrames. */
  mapFrameList(la: number, frames: Float64Array, attrs: PageAttrs): boolean {
    this.noteGlobal(la, attrs.lo);
    return this.mapped(this.cpu.core.mapList(this.space.rootFrame, la, frames, attrs.lo, attrs.hi), la, frames.length, 'map');
  }

  /**
   * Unmaps every present leaf of [la, la + pages*4096) (splitting partly covered large
   * leaves); each frame loses a reference. Returns the 4 KiB pages unmapped; ENOMEM (a split
   * failed, nothing changed) throws. `gather` records the leaves cleared and tables freed (for
   * finish); without one the caller answers for the TLB.
   */
  unmap(la: number, pages: number, gather?: TlbGather): number {
    const n = this.cpu.core.unmap(this.space.rootFrame, la, pages);
    if (n < 0) throw this.cpu.statusError(n, 'unmap', range(la, pages));
    if (la < TWO47) this.residentPages -= n;
    if (gather) this.gathered(gather, true);
    return n;
  }

  /**
   * Applies `change` to every present leaf of [la, la + pages*4096), splitting partly covered
   * large leaves. False on ENOMEM (a split failed). `gather` records the leaves whose change
   * needs a flush (x86's pte_needs_flush: a permission or cache bit changed, Dirty cleared).
   */
  protect(la: number, pages: number, change: ProtectChange, gather?: TlbGather): boolean {
    const st = this.cpu.core.protect(this.space.rootFrame, la, pages, change.setLo, change.setHi, change.clearLo, change.clearHi, change.ifLo ?? 0, change.thenClearLo ?? 0);
    if (st === Status.ENOMEM) return false;
    if (st < 0) throw this.cpu.statusError(st, 'protect', range(la, pages));
    if ((change.setLo & PTE.G) !== 0) this.noteGlobal(la, PTE.G);
    if (gather) this.gathered(gather, false);
    return true;
  }

  /** Adds the span the core reported for the last unmap or protect (result E..H) to `gather`. */
  private gathered(gather: TlbGather, unmap: boolean): void {
    const r = this.cpu.result;
    gather.add(r[Result.F]!, r[Result.G]!, r[Result.H]!, unmap && r[Result.E]! > 0);
  }

  /** tlb_finish_mmu: one flush of what `gather` recorded (flush_tlb_mm_range at its stride), none when it recorded nothing. */
  finish(gather: TlbGather): void {
    if (gather.empty) return;
    this.cpu.flushRange(this.space, gather.start, gather.end, gather.strideShift, gather.freedTables);
  }

  /** The present leaf that maps `la` (a pure walk: no TLB, no A/D), or undefined. */
  leaf(la: number): Leaf | undefined {
    const st = this.cpu.core.translate(this.space.rootFrame, la);
    if (st < 0) return undefined;
    const r = this.cpu.result;
    const shift = r[Result.D]!;
    // No float `%` or `**` here: V8 compiles them to calls (fmod, pow), dearer than the rest of a COW fault's TS work.
    const pageSize = shift === 12 ? 4096 : shift === 21 ? 2097152 : 1073741824;
    const physical = r[Result.A]!;
    return { pfn: Math.floor(physical / pageSize) * (pageSize / 4096), pageSize, lo: r[Result.B]!, hi: r[Result.C]!, physical };
  }

  /**
   * Splits the large leaf covering `la` down to 4 KiB entries (same frames and bits). False on
   * ENOMEM. Linux's __split_huge_pmd invalidates the huge entry first (pmdp_invalidate →
   * flush_pmd_tlb_range, on x86 the generic flush_tlb_range of the 2 MiB: 512 pages at a 4 KiB
   * stride, so a full flush, with freed_tables set).
   */
  splitLeaf(la: number): boolean {
    const before = this.leaf(la);
    // A protect of one page that changes nothing splits the leaf that covers it partly.
    if (!this.protect(la - (la % PAGE_SIZE), 1, NO_CHANGE)) return false;
    if (before !== undefined && before.pageSize > PAGE_SIZE) {
      const base = la - (la % HUGE_PAGE);
      this.flushRange(base, base + HUGE_PAGE, 12, true);
    }
    return true;
  }

  /**
   * The copy-on-write break of the 4 KiB leaf at `la`: a fresh frame holding a copy of the old
   * one (or zeros, for a write to the zero page) with `attrs`; the old frame loses a reference.
   * False when no frame is free (nothing changed).
   */
  breakCow(la: number, attrs: PageAttrs, zeroFill: boolean): boolean {
    const st = this.cpu.core.cowBreak(this.space.rootFrame, la, zeroFill ? 1 : 0, attrs.lo, attrs.hi);
    if (st === Status.ENOMEM) return false;
    if (st < 0) throw this.cpu.statusError(st, 'cowBreak', `va ${hex(fromLinear(la))}`);
    return true;
  }

  /**
   * Copies the present leaves of [la, la + pages*4096) into `child` for fork, changing the bits
   * as `bits` says (the caller's policy: shared as they are, or copy-on-write). Returns the pages
   * copied; ENOMEM throws (the child is then destroyed by the caller).
   */
  forkInto(child: PageTable, la: number, pages: number, bits: ForkBits): number {
    const n = this.cpu.core.fork(this.space.rootFrame, child.root, la, pages, bits.parentClearLo, bits.parentSetLo, bits.childClearLo);
    if (n < 0) throw this.cpu.statusError(n, 'fork', `copying ${range(la, pages)}`);
    if (la < TWO47) child.residentPages += n;
    if (this.largeLeaves) child.largeLeaves = true;
    return n;
  }

  /** The 4 KiB pages of [la, la + pages*4096) mapped to frames in [pfn, pfn + frames) (the VMM counts zero-page mappings with it). */
  countFrames(la: number, pages: number, pfn: number, frames: number): number {
    const n = this.cpu.core.countFrames(this.space.rootFrame, la, pages, pfn, frames);
    if (n < 0) throw this.cpu.statusError(n, 'countFrames', range(la, pages));
    return n;
  }

  /**
   * Moves the entries of [from, from + pages*4096) to [to, ...) (mremap): present pages keep
   * their frames, bits and reference counts, swap entries move as they are, whole tables move
   * where both sides are aligned alike. `to` must be free of entries (EEXIST throws); false on
   * ENOMEM (nothing moved). The caller invalidates `from`.
   */
  moveRange(from: number, to: number, pages: number): boolean {
    const st = this.cpu.core.moveRange(this.space.rootFrame, from, to, pages);
    if (st === Status.ENOMEM) return false;
    if (st < 0) throw this.cpu.statusError(st, 'moveRange', `${range(from, pages)} to ${hex(fromLinear(to))}`);
    return true;
  }

  /** Counts the leaves of [la, la + pages*4096) whose Accessed bit is set (clearing it with `clear`): { leaves, pages } (4 KiB pages they cover). */
  scanAccessed(la: number, pages: number, clear: boolean): { leaves: number; pages: number } {
    const n = this.cpu.core.scanAccessed(this.space.rootFrame, la, pages, clear);
    if (n < 0) throw this.cpu.statusError(n, 'scanAccessed', range(la, pages));
    return { leaves: n, pages: this.cpu.result[Result.A]! };
  }

  /** Reference count of frame `pfn` (0 when free). */
  refCount(pfn: number): number {
    return this.cpu.core.refCount(pfn);
  }

  /** flush_tlb_page: the page at `la` (a COW break's ptep_clear_flush). */
  flushPage(la: number): void {
    this.cpu.flushRange(this.space, la, la + PAGE_SIZE, 12, false);
  }

  /** flush_tlb_mm_range of [start, end) at `strideShift` (flush_tlb_range is stride 12 with freed_tables, as x86's macro passes). */
  flushRange(start: number, end: number, strideShift: number, freedTables: boolean): void {
    this.cpu.flushRange(this.space, start, end, strideShift, freedTables);
  }

  /** Drops the TLB entries that may translate [la, la + pages*4096) in this space: flush_tlb_range. */
  invalidate(la: number, pages: number): void {
    if (pages > 0) this.cpu.flushRange(this.space, la, la + pages * PAGE_SIZE, 12, true);
  }

  /** flush_tlb_mm: every TLB entry of this space (fork's dup_mmap ends with it). */
  flush(): void {
    this.cpu.flushMm(this.space);
  }

  /** An mmu_gather flush of the pages las[0..count) (MADV_COLD's young pages cleared): their span, at 4 KiB. */
  flushPages(las: Float64Array, count: number): void {
    if (count <= 0) return;
    let lo = Infinity;
    let hi = 0;
    for (let i = 0; i < count; i++) {
      if (las[i]! < lo) lo = las[i]!;
      if (las[i]! > hi) hi = las[i]!;
    }
    this.cpu.flushRange(this.space, lo, hi + PAGE_SIZE, 12, false);
  }

  // ------------------------------------------------------------ reclaim: lists of 4 KiB pages

  /** For pages las[0..count): bits[i] = PageBit flags (A, D, present, swap entry, large), frames[i] = frame or -1. One core call. */
  pageBits(las: Float64Array, count: number, bits: Uint8Array, frames: Float64Array): void {
    const st = this.cpu.core.pageBits(this.space.rootFrame, las, count, bits, frames);
    if (st < 0) throw this.cpu.statusError(st, 'pageBits', `${count} pages`);
  }

  /** Clears the Accessed bit of the present leaves at las[0..count) (TLB untouched); returns how many had it. */
  clearAccessedList(las: Float64Array, count: number): number {
    const n = this.cpu.core.clearAccessedList(this.space.rootFrame, las, count);
    if (n < 0) throw this.cpu.statusError(n, 'clearAccessedList', `${count} pages`);
    return n;
  }

  /** Replaces the present 4 KiB leaves at las[0..count) by the non-present entries (lo, hi), dropping their frames' references. Returns frames freed. */
  swapOutList(las: Float64Array, count: number, lo: Uint32Array, hi: Uint32Array): number {
    const n = this.cpu.core.swapOutList(this.space.rootFrame, las, count, lo, hi);
    if (n < 0) throw this.cpu.statusError(n, 'swapOutList', `${count} pages`);
    this.residentPages -= count;
    return n;
  }

  /** The raw 4 KiB-level entry for `la` as [lo, hi] (present or not), or undefined when no table holds it or a large leaf maps it. */
  readEntry(la: number): [number, number] | undefined {
    const st = this.cpu.core.readEntry(this.space.rootFrame, la);
    if (st < 0) return undefined;
    return [this.cpu.result[Result.B]!, this.cpu.result[Result.C]!];
  }

  /** Writes non-present entries (swap entries; 0 clears) at las[0..count), creating tables as needed. False on ENOMEM. */
  writeEntries(las: Float64Array, count: number, lo: Uint32Array, hi: Uint32Array): boolean {
    const n = this.cpu.core.writeEntries(this.space.rootFrame, las, count, lo, hi);
    if (n === Status.ENOMEM) return false;
    if (n < 0) throw this.cpu.statusError(n, 'writeEntries', `${count} pages`);
    return true;
  }

  /**
   * Maps `la` over its non-present entry to frame `pfn` (a swap-cache hit; it gains a
   * reference) or, with pfn = -1, to a fresh frame holding bytes[offset, +4096). Returns the
   * frame, or -1 when no frame (or table) is free (nothing changed).
   */
  swapIn(la: number, pfn: number, attrs: PageAttrs, bytes: Uint8Array | null, offset: number): number {
    const f = this.cpu.core.swapIn(this.space.rootFrame, la, pfn, attrs.lo, attrs.hi, bytes, offset);
    if (f === Status.ENOMEM) return -1;
    if (f < 0) throw this.cpu.statusError(f, 'swapIn', `va ${hex(fromLinear(la))}`);
    this.residentPages++;
    return f;
  }

  /**
   * Reclaim unmapped the pages las[0..count) (try_to_unmap_one, TTU_BATCH_FLUSH): their flush
   * joins the machine's batch when another CPU may hold them, else each page is flushed now
   * (ptep_clear_flush). The batch goes out at flushUnmapBatch.
   */
  invalidateList(las: Float64Array, count: number): void {
    this.cpu.unmapPages(this.space, las, count);
  }

  /** try_to_unmap_flush: the machine's pending reclaim batch is flushed once. */
  flushUnmapBatch(): void {
    this.cpu.flushUnmapBatch();
  }

  // ------------------------------------------------------------ changes that return the TLB flush they oblige
  // One failure shape: each either completes and returns its TlbFlush (src/machine/tlb-flush.ts),
  // or throws a VmmError having changed nothing (ENOMEM: no frame for a page table).

  /**
   * try_to_unmap's change: the present 4 KiB leaves at las[0..count) become the non-present
   * entries (lo, hi) — swap entries, or 0 for none — and their frames lose a reference.
   * Returns the flush of those pages (the list is copied).
   */
  unmapEntries(las: Float64Array, count: number, lo: Uint32Array, hi: Uint32Array): TlbFlush {
    if (count === 0) return TlbFlush.none();
    this.swapOutList(las, count, lo, hi);
    return TlbFlush.list(this, las.slice(0, count), count);
  }

  /** `change` on every present leaf of [la, la + pages*4096) (splitting partly covered large leaves); its flush. */
  protectPages(la: number, pages: number, change: ProtectChange): TlbFlush {
    if (!this.protect(la, pages, change)) throw new VmmError('ENOMEM', `protect ${range(la, pages)}: no frame for a page table to split a large page`);
    return TlbFlush.range(this, la, pages);
  }

  /** Every present leaf of [la, la + pages*4096) goes (unmap); the 4 KiB pages unmapped and their flush. */
  unmapPages(la: number, pages: number): { pages: number; flush: TlbFlush } {
    const n = this.unmap(la, pages);
    return { pages: n, flush: n > 0 ? TlbFlush.range(this, la, pages) : TlbFlush.none() };
  }

  /** The large leaf covering `la` becomes 4 KiB entries (same frames and bits); the flush of the large page (Linux's pmdp_invalidate). */
  splitHuge(la: number): TlbFlush {
    const leaf = this.leaf(la);
    if (!this.splitLeaf(la)) throw new VmmError('ENOMEM', `split of the large page at ${hex(fromLinear(la))}: no frame for a page table`);
    if (!leaf || leaf.pageSize === PAGE_SIZE) return TlbFlush.none();
    const base = la - (la % leaf.pageSize);
    return TlbFlush.range(this, base, leaf.pageSize / PAGE_SIZE);
  }

  private mapped(st: number, la: number, pages4k: number, op: string): boolean {
    if (st === Status.ENOMEM) return false;
    if (st < 0) throw this.cpu.statusError(st, op, range(la, pages4k));
    if (la < TWO47) this.residentPages += pages4k;
    return true;
  }
}

const NO_CHANGE: ProtectChange = { setLo: 0, setHi: 0, clearLo: 0, clearHi: 0 };

function range(la: number, pages: number): string {
  return `[${hex(fromLinear(la))}, +${hex(pages * PAGE_SIZE)})`;
}

