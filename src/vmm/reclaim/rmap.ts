/**
 * The reverse map: for a batch of pages (each a frame), every page-table entry that maps it —
 * one structure for the three kinds of page reclaim evicts:
 * - a page cache page (a regular file's, or a tmpfs/shmem page): its inode's i_mmap, an
 *   interval tree of the mappings by the file offsets they cover (src/vmm/file/inode.ts),
 *   gives each (address space, address) that may map it — never a scan of regions;
 * - a private anonymous page: the process evicting it, at its address, and — when its entry
 *   says the frame is COW-shared (since a fork) — the same address in every other process of
 *   its fork family (Linux's anon_vma chain; a fork child's resident set is made with its
 *   parent's configuration object, which names the family).
 * An entry maps a page only when it maps that very frame (a MAP_PRIVATE mapping may hold its
 * own copy there; a fork relative may have broken COW). The entries are grouped by address
 * space, so that each space gets one bulk read (pageBits), one clear of the Accessed bits and
 * one unmap for the whole batch — never a call per page and mapping. Changes return the TLB
 * flushes they oblige (src/machine/tlb-flush.ts).
 */
import { PAGE_SIZE, PageBit, PTE } from '../../core/constants.js';
import type { PageTable } from '../../machine/page-table.js';
import { TlbFlush } from '../../machine/tlb-flush.js';
import type { Inode } from '../file/inode.js';
import type { PageFile } from '../file/cache-page.js';
import type { FileMapping } from '../file/file-mapping.js';
import { batchF64, batchI32, batchU8 } from './batch-arrays.js';

/** What the reverse map needs of an address space's VMM. */
export interface RmapSpace {
  readonly pages: PageTable;
  /** Resident pages of its MAP_SHARED mappings, which an unmap lowers. */
  sharedPages: number;
  /** Its resident set, when it has one: pages in mlocked ranges are never unmapped by reclaim; truncation forgets a private mapping's copies. */
  readonly resident?: { isLocked(vpn: number): boolean; forget?(start: number, end: number): void } | undefined;
  /** The region at an address, for VM_EXEC (folio_referenced reports vm_flags). */
  regionAt(la: number): { prot: number } | undefined;
  /** True when `la` lies in a VM_LOCKED region (a space without a resident set has mlocked file pages too). */
  isLockedAt?(la: number): boolean;
}

/** The entries of one address space that may map pages of the batch (typed arrays, grown as entries come). */
class Group {
  /** Entries. */
  size = 0;
  /** Linear address of each entry. */
  las: Float64Array;
  /** Batch index of the page each entry would map. */
  owner: Int32Array;
  /** 1 when its mapping is MAP_SHARED (counted in the space's sharedPages). */
  shared: Uint8Array;
  /** After walk: the entry maps its page's frame (1), or not (0). */
  hit: Uint8Array;
  /** After walk: the entry's PageBit flags. */
  bits: Uint8Array;
  /** Entries [0, known) were read by the caller already (their bits and hits are set). */
  known = 0;

  constructor(
    readonly space: RmapSpace,
    capacity: number,
  ) {
    this.las = batchF64(capacity);
    this.owner = batchI32(capacity);
    this.shared = batchU8(capacity);
    this.hit = batchU8(capacity);
    this.bits = batchU8(capacity);
  }

  /** Room for `more` entries. */
  reserve(more: number): void {
    const need = this.size + more;
    if (need <= this.las.length) return;
    let len = Math.max(8, this.las.length);
    while (len < need) len *= 2;
    const m = this.size;
    const las = batchF64(len);
    las.set(this.las.subarray(0, m));
    this.las = las;
    const owner = batchI32(len);
    owner.set(this.owner.subarray(0, m));
    this.owner = owner;
    const shared = batchU8(len);
    shared.set(this.shared.subarray(0, m));
    this.shared = shared;
    const hit = batchU8(len);
    hit.set(this.hit.subarray(0, m));
    this.hit = hit;
    const bits = batchU8(len);
    bits.set(this.bits.subarray(0, m));
    this.bits = bits;
  }
}

/** Scratch buffers of one bulk read or change. */
let scratchLas = new Float64Array(64);
let scratchBits = new Uint8Array(64);
let scratchFrames = new Float64Array(64);
let scratchLo = new Uint32Array(64);
let scratchHi = new Uint32Array(64);
function ensureScratch(n: number): void {
  if (n <= scratchLas.length) return;
  let len = scratchLas.length;
  while (len < n) len *= 2;
  scratchLas = new Float64Array(len);
  scratchBits = new Uint8Array(len);
  scratchFrames = new Float64Array(len);
  scratchLo = new Uint32Array(len);
  scratchHi = new Uint32Array(len);
}

/** The entries that map a batch of pages, and what a walk of them found (folio_referenced's view). */
export class Rmap {
  private readonly groups: Group[] = [];
  private readonly bySpace = new Map<RmapSpace, Group>();
  /** Entries mapping each page (after walk). */
  readonly mapped: Int32Array;
  /** Young entries mapping each page (after walk; their Accessed bits cleared when asked). */
  readonly young: Int32Array;
  /** A mapping has the page dirty (pte_dirty: passed to the page at unmap). */
  readonly dirty: Uint8Array;
  /** A mapping of it is mlocked (VM_LOCKED: unevictable). */
  readonly locked: Uint8Array;
  /** A mapping of it is executable (VM_EXEC; with walk's wantExec). */
  readonly exec: Uint8Array;
  /** A mapping maps it with a 2 MiB (or larger) leaf: only a split lets the page go. */
  readonly large: Uint8Array;

  constructor(
    /** The frame of each page of the batch. */
    readonly pfns: Float64Array,
    /** Pages in the batch. */
    readonly n: number,
  ) {
    this.mapped = batchI32(n);
    this.young = batchI32(n);
    this.dirty = batchU8(n);
    this.locked = batchU8(n);
    this.exec = batchU8(n);
    this.large = batchU8(n);
  }

  /** The reverse map of page cache pages: each (inode, index) through its inode's i_mmap. */
  static ofInodePages(pages: ReadonlyArray<{ readonly inode: PageFile; readonly index: number }>, pfns: Float64Array, n = pages.length): Rmap {
    const rm = new Rmap(pfns, n);
    let k = 0;
    let index = 0;
    // One callback for the batch (not a closure per page); a space's group is sized for the batch at once.
    const add = (m: FileMapping): void => rm.add(m.vm as RmapSpace, m.start + (index - m.pgoff) * PAGE_SIZE, k, m.shared, n);
    for (; k < n; k++) {
      const p = pages[k]!;
      index = p.index;
      p.inode.mappingsOf(index, index, add);
    }
    return rm;
  }

  /** Adds a possible mapping of page `owner` at `la` in `space` (`capacity`: the entries its group is first made for). */
  add(space: RmapSpace, la: number, owner: number, shared: boolean, capacity = 8): void {
    const g = this.group(space, capacity);
    g.reserve(1);
    const j = g.size++;
    g.las[j] = la;
    g.owner[j] = owner;
    g.shared[j] = shared ? 1 : 0;
  }

  /**
   * Adds entries of `space` the caller has read already: las[0..count), page k = owners[k],
   * with their PageBit flags and frames (an entry hits when it is present and maps its page's frame).
   */
  addRead(space: RmapSpace, las: Float64Array, count: number, owners: ArrayLike<number>, bits: Uint8Array, frames: Float64Array, shared: boolean): void {
    const g = this.group(space, count);
    if (g.size !== g.known) throw new Error('rmap: entries read by the caller must be added first');
    g.reserve(count);
    const pfns = this.pfns;
    for (let k = 0; k < count; k++) {
      const j = g.size + k;
      const o = owners[k]!;
      const b = bits[k]!;
      g.las[j] = las[k]!;
      g.owner[j] = o;
      g.shared[j] = shared ? 1 : 0;
      g.bits[j] = b;
      g.hit[j] = (b & PageBit.PRESENT) !== 0 && frames[k] === pfns[o] ? 1 : 0;
    }
    g.size += count;
    g.known = g.size;
  }

  private group(space: RmapSpace, capacity: number): Group {
    let g = this.bySpace.get(space);
    if (!g) {
      g = new Group(space, capacity);
      this.bySpace.set(space, g);
      this.groups.push(g);
    }
    return g;
  }

  /** Address spaces with entries in the batch. */
  get spaces(): number {
    return this.groups.length;
  }

  /**
   * folio_referenced for the batch: one bulk read per space of the entries not read yet, then
   * for each page the entries that map its frame, young ones (Accessed), dirty ones, whether a
   * mapping is mlocked, executable (with `wantExec`) or a large leaf. With `clearYoung` the young
   * entries' Accessed bits are cleared, one bulk call per space (ptep_clear_flush_young, which on
   * x86 flushes nothing).
   */
  walk(clearYoung: boolean, wantExec = true): this {
    const pfns = this.pfns;
    for (const g of this.groups) {
      const m = g.size;
      const unread = m - g.known;
      if (unread > 0) {
        ensureScratch(unread);
        scratchLas.set(g.las.subarray(g.known, m));
        g.space.pages.pageBits(scratchLas, unread, scratchBits, scratchFrames);
        for (let j = 0; j < unread; j++) {
          const b = scratchBits[j]!;
          const at = g.known + j;
          g.bits[at] = b;
          g.hit[at] = (b & PageBit.PRESENT) !== 0 && scratchFrames[j] === pfns[g.owner[at]!] ? 1 : 0;
        }
        g.known = m;
      }
      let clears = 0;
      const resident = g.space.resident;
      for (let j = 0; j < m; j++) {
        if (!g.hit[j]) continue;
        const k = g.owner[j]!;
        const b = g.bits[j]!;
        this.mapped[k]!++;
        if ((b & PageBit.DIRTY) !== 0) this.dirty[k] = 1;
        if ((b & PageBit.LARGE) !== 0) this.large[k] = 1;
        const la = g.las[j]!;
        if (g.space.isLockedAt ? g.space.isLockedAt(la) : resident?.isLocked(la / PAGE_SIZE)) this.locked[k] = 1;
        if (wantExec && ((g.space.regionAt(la)?.prot ?? 0) & 4) !== 0) this.exec[k] = 1;
        if ((b & PageBit.ACCESSED) !== 0) {
          this.young[k]!++;
          if (clearYoung) {
            ensureScratch(clears + 1);
            scratchLas[clears++] = la;
          }
        }
      }
      if (clears > 0) g.space.pages.clearAccessedList(scratchLas, clears);
    }
    return this;
  }

  /** The union of A and D over the entries that map page k (after walk), as PageBit flags. */
  accessBits(k: number): number {
    return (this.young[k]! > 0 ? PageBit.ACCESSED : 0) | (this.dirty[k]! ? PageBit.DIRTY : 0);
  }

  /** Every entry that maps its page (after walk): `f(space, k, la)`. */
  forEachHit(f: (space: RmapSpace, k: number, la: number) => void): void {
    for (const g of this.groups) for (let j = 0; j < g.size; j++) if (g.hit[j]) f(g.space, g.owner[j]!, g.las[j]!);
  }

  /** Pages k with only[k] set keep only their entries in `space`: the others are left out of unmap (and of nothing else). */
  restrictTo(space: RmapSpace, only: Uint8Array): void {
    for (const g of this.groups) {
      if (g.space === space) continue;
      for (let j = 0; j < g.size; j++) if (only[g.owner[j]!]) g.hit[j] = 0;
    }
  }

  /**
   * try_to_unmap for the batch (after walk): every entry that maps a page k with go[k] set is
   * replaced by the non-present entry (lo[k], hi[k]) — a swap entry — or, without lo/hi, cleared;
   * each frame loses the entry's reference. One bulk change per space; returns the flushes.
   */
  unmap(go: Uint8Array, lo?: Uint32Array, hi?: Uint32Array): TlbFlush[] {
    const flushes: TlbFlush[] = [];
    for (const g of this.groups) {
      let count = 0;
      let shared = 0;
      const m = g.size;
      ensureScratch(m);
      for (let j = 0; j < m; j++) {
        const k = g.owner[j]!;
        if (!g.hit[j] || !go[k]) continue;
        scratchLas[count] = g.las[j]!;
        scratchLo[count] = lo ? lo[k]! : 0;
        scratchHi[count] = hi ? hi[k]! : 0;
        count++;
        shared += g.shared[j]!;
        g.hit[j] = 0; // unmapped: a second unmap of the batch leaves it alone
      }
      if (count === 0) continue;
      flushes.push(g.space.pages.unmapEntries(scratchLas, count, scratchLo, scratchHi));
      g.space.sharedPages -= shared;
    }
    return flushes;
  }
}

/**
 * folio_mkclean for pages being written back: every MAP_SHARED entry that maps one of them
 * loses RW and Dirty (so the next write faults and dirties the page again), one protect per run
 * of neighbouring entries. MAP_PRIVATE entries map cache pages read-only already. Returns the flushes.
 */
export function mkclean(pages: ReadonlyArray<{ readonly inode: PageFile; readonly index: number }>): TlbFlush[] {
  const bySpace = new Map<object, { space: RmapSpace; las: number[] }>();
  for (const p of pages) {
    p.inode.mappingsOf(p.index, p.index, (m) => {
      if (!m.shared) return;
      let e = bySpace.get(m.vm);
      if (!e) bySpace.set(m.vm, (e = { space: m.vm as RmapSpace, las: [] }));
      e.las.push(m.start + (p.index - m.pgoff) * PAGE_SIZE);
    });
  }
  const flushes: TlbFlush[] = [];
  for (const { space, las } of bySpace.values()) {
    las.sort((a, b) => a - b);
    let i = 0;
    while (i < las.length) {
      let j = i + 1;
      while (j < las.length && las[j] === las[j - 1]! + PAGE_SIZE) j++;
      flushes.push(space.pages.protectPages(las[i]!, j - i, CLEAN));
      i = j;
    }
  }
  return flushes;
}

/** folio_mkclean's change: read-only and clean. */
const CLEAN = { setLo: 0, setHi: 0, clearLo: PTE.RW | PTE.D, clearHi: 0 };

/**
 * unmap_mapping_range with even_cows (truncation): every entry of every mapping of `inode` over
 * page offsets [first, ∞) goes — shared ones and private copies alike — one unmap per mapping.
 * Returns the flushes.
 */
export function zapFrom(inode: Inode, first: number): TlbFlush[] {
  const flushes: TlbFlush[] = [];
  inode.mappingsOf(first, Number.MAX_SAFE_INTEGER, (m) => {
    const from = Math.max(first, m.pgoff);
    const la = m.start + (from - m.pgoff) * PAGE_SIZE;
    const pages = (m.end - la) / PAGE_SIZE;
    if (pages <= 0) return;
    const space = m.vm as RmapSpace;
    // even_cows: a private mapping's copies (anonymous pages, maybe in swap) go too.
    if (!m.shared) space.resident?.forget?.(la, m.end);
    const r = space.pages.unmapPages(la, pages);
    if (m.shared) space.sharedPages -= r.pages;
    flushes.push(r.flush);
  });
  return flushes;
}
