/**
 * The reverse map of page cache pages (Linux's rmap walk over a file's i_mmap): for a batch of
 * pages, every page-table entry that maps one of them, found through each file's interval tree
 * of mappings, grouped by address space so that each space gets one bulk read and one bulk
 * change for the whole batch — never a call per page and mapping. An entry maps a page only
 * when it maps the page's very frame: a MAP_PRIVATE mapping may hold its own copy there.
 */
import { PAGE_SIZE, PageBit, PTE } from '../../core/constants.js';
import type { PageTable } from '../../machine/page-table.js';
import type { CachePage } from '../file/cache-page.js';
import type { FileMapping, Inode } from '../file/inode.js';

/** What the reverse map needs of an address space's VMM. */
export interface MappingSpace {
  readonly pages: PageTable;
  /** Resident pages of its MAP_SHARED mappings, which an unmap lowers. */
  sharedPages: number;
  /** Its resident set, when it has one: mlocked pages are never unmapped by reclaim. */
  readonly resident?: { isLocked(vpn: number): boolean } | undefined;
  /** The region at an address, for VM_EXEC (folio_referenced reports vm_flags). */
  regionAt(la: number): { prot: number } | undefined;
}

/** The entries of one address space that may map pages of a batch. */
export interface SpaceEntries {
  space: MappingSpace;
  /** Linear address of each entry. */
  las: number[];
  /** Batch index of the page each entry would map. */
  owner: number[];
  /** Whether its mapping is MAP_SHARED (counted in the space's sharedPages). */
  shared: boolean[];
}

/** Where the pages of a batch may be mapped, grouped by space. */
export function entriesOf(pages: readonly CachePage[]): SpaceEntries[] {
  const bySpace = new Map<object, SpaceEntries>();
  for (let k = 0; k < pages.length; k++) {
    const p = pages[k]!;
    p.inode.mappingsOf(p.index, p.index, (m: FileMapping) => {
      let e = bySpace.get(m.vm);
      if (!e) bySpace.set(m.vm, (e = { space: m.vm as MappingSpace, las: [], owner: [], shared: [] }));
      e.las.push(m.start + (p.index - m.pgoff) * PAGE_SIZE);
      e.owner.push(k);
      e.shared.push(m.shared);
    });
  }
  return [...bySpace.values()];
}

/** Scratch buffers of one bulk read. */
class Scratch {
  las = new Float64Array(64);
  bits = new Uint8Array(64);
  frames = new Float64Array(64);
  ensure(n: number): void {
    if (n <= this.las.length) return;
    let len = this.las.length;
    while (len < n) len *= 2;
    this.las = new Float64Array(len);
    this.bits = new Uint8Array(len);
    this.frames = new Float64Array(len);
  }
}
const scratch = new Scratch();

/** One bulk read of a space's entries: bits and frames in the scratch buffers, valid until the next read. */
function read(e: SpaceEntries): Scratch {
  const n = e.las.length;
  scratch.ensure(n);
  for (let j = 0; j < n; j++) scratch.las[j] = e.las[j]!;
  e.space.pages.pageBits(scratch.las, n, scratch.bits, scratch.frames);
  return scratch;
}

/** What folio_referenced found for each page of a batch. */
export interface Referenced {
  /** Young entries mapping it (their Accessed bits now cleared). */
  young: Int32Array;
  /** Entries mapping it. */
  mapped: Int32Array;
  /** A mapping of it is executable (VM_EXEC). */
  exec: Uint8Array;
  /** A mapping of it is mlocked (VM_LOCKED). */
  locked: Uint8Array;
  /** A mapping of it has it dirty (pte_dirty: folio_mark_dirty at unmap). */
  dirty: Uint8Array;
}

/**
 * folio_referenced for a batch: counts each page's young entries and clears their Accessed bits
 * (ptep_clear_flush_young, which on x86 flushes nothing), one read and one clear per space.
 */
export function referenced(pages: readonly CachePage[], entries: readonly SpaceEntries[]): Referenced {
  const n = pages.length;
  const out: Referenced = { young: new Int32Array(n), mapped: new Int32Array(n), exec: new Uint8Array(n), locked: new Uint8Array(n), dirty: new Uint8Array(n) };
  for (const e of entries) {
    const s = read(e);
    const clear: number[] = [];
    for (let j = 0; j < e.las.length; j++) {
      const k = e.owner[j]!;
      if ((s.bits[j]! & PageBit.PRESENT) === 0 || s.frames[j] !== pages[k]!.pfn) continue;
      out.mapped[k]!++;
      if ((s.bits[j]! & PageBit.DIRTY) !== 0) out.dirty[k] = 1;
      const la = e.las[j]!;
      if (e.space.resident?.isLocked(la / PAGE_SIZE)) out.locked[k] = 1;
      if (((e.space.regionAt(la)?.prot ?? 0) & 4) !== 0) out.exec[k] = 1;
      if ((s.bits[j]! & PageBit.ACCESSED) !== 0) {
        out.young[k]!++;
        clear.push(la);
      }
    }
    if (clear.length > 0) e.space.pages.clearAccessedList(Float64Array.from(clear), clear.length);
  }
  return out;
}

/**
 * try_to_unmap for a batch: clears every entry that maps a page of the batch whose `go[k]` is
 * set (one bulk unmap and one TLB invalidation per space; each frame loses the entry's
 * reference). Returns, per page, whether any of its entries had it dirty.
 */
export function unmapPages(pages: readonly CachePage[], entries: readonly SpaceEntries[], go: Uint8Array): Uint8Array {
  const dirty = new Uint8Array(pages.length);
  for (const e of entries) {
    const s = read(e);
    const las: number[] = [];
    let shared = 0;
    for (let j = 0; j < e.las.length; j++) {
      const k = e.owner[j]!;
      if (!go[k] || (s.bits[j]! & PageBit.PRESENT) === 0 || s.frames[j] !== pages[k]!.pfn) continue;
      if ((s.bits[j]! & PageBit.DIRTY) !== 0) dirty[k] = 1;
      las.push(e.las[j]!);
      if (e.shared[j]) shared++;
    }
    if (las.length === 0) continue;
    const list = Float64Array.from(las);
    const zeros = new Uint32Array(las.length);
    e.space.pages.swapOutList(list, las.length, zeros, zeros);
    e.space.pages.invalidateList(list, las.length);
    e.space.sharedPages -= shared;
  }
  return dirty;
}

/**
 * folio_mkclean for a batch being written back: every MAP_SHARED entry that maps a page of it
 * loses RW and Dirty (so the next write faults and dirties the page again), one protect per
 * run of neighbouring entries. MAP_PRIVATE entries map cache pages read-only already.
 */
export function mkclean(pages: readonly CachePage[]): void {
  const bySpace = new Map<object, { space: MappingSpace; las: number[] }>();
  for (const p of pages) {
    p.inode.mappingsOf(p.index, p.index, (m) => {
      if (!m.shared) return;
      let e = bySpace.get(m.vm);
      if (!e) bySpace.set(m.vm, (e = { space: m.vm as MappingSpace, las: [] }));
      e.las.push(m.start + (p.index - m.pgoff) * PAGE_SIZE);
    });
  }
  for (const { space, las } of bySpace.values()) {
    las.sort((a, b) => a - b);
    let i = 0;
    while (i < las.length) {
      let j = i + 1;
      while (j < las.length && las[j] === las[j - 1]! + PAGE_SIZE) j++;
      space.pages.protect(las[i]!, j - i, CLEAN);
      i = j;
    }
    const list = Float64Array.from(las);
    space.pages.invalidateList(list, list.length);
  }
}

/** folio_mkclean's change: read-only and clean. */
const CLEAN = { setLo: 0, setHi: 0, clearLo: PTE.RW | PTE.D, clearHi: 0 };

/**
 * unmap_mapping_range with even_cows (truncation): every entry of every mapping of `inode` over
 * page offsets [first, ∞) goes — shared ones and private copies alike — one unmap per mapping.
 */
export function zapFrom(inode: Inode, first: number): void {
  inode.mappingsOf(first, Number.MAX_SAFE_INTEGER, (m) => {
    const from = Math.max(first, m.pgoff);
    const la = m.start + (from - m.pgoff) * PAGE_SIZE;
    const pages = (m.end - la) / PAGE_SIZE;
    if (pages <= 0) return;
    const space = m.vm as MappingSpace;
    const n = space.pages.unmap(la, pages);
    if (m.shared) space.sharedPages -= n;
    space.pages.invalidate(la, pages);
  });
}
