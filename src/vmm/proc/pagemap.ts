/**
 * /proc/PID/pagemap (Documentation/admin-guide/mm/pagemap.rst; pte_to_pagemap_entry and
 * pagemap_pmd_range in fs/proc/task_mmu.c): one 64-bit entry per virtual page. Bits 0-54 the
 * frame number of a present page, or for a swapped one the swap type (bits 0-4) and offset
 * (bits 5-54); 55 soft-dirty; 56 the page is mapped exactly once; 61 a file or shared
 * anonymous page; 62 swapped; 63 present. Checked against this machine's kernel: the zero page
 * reads as present with no other flag, the huge zero page as present and file-backed, a shared
 * memory page as present, file-backed and exclusive when only this entry maps it.
 */
import { scanEntries, entryFrame } from '../../machine/table-scan.js';
import { PTE } from '../../core/constants.js';
import { decodeSwapEntry } from '../../reclaim/swap-entry.js';
import type { ProcSpace } from './proc-state.js';
import { SOFT_DIRTY } from '../pte-attrs.js';
import { isObjectPage } from './rss-counts.js';

/** Bits of an entry's high word (entry bit N is high-word bit N - 32). */
const HI_SOFT_DIRTY = 1 << 23; // bit 55
const HI_EXCLUSIVE = 1 << 24; // bit 56
const HI_FILE = 1 << 29; // bit 61
const HI_SWAP = 1 << 30; // bit 62
const HI_PRESENT = 1 << 31; // bit 63
const TWO32 = 2 ** 32;
/** MAX_SWAPFILES_SHIFT: the swap type's width below the offset. */
const SWAP_TYPE_BITS = 5;

/** One pagemap entry decoded. */
export interface PagemapEntry {
  /** Bit 63: a page is mapped. */
  present: boolean;
  /** Bit 62: the page is in swap. */
  swapped: boolean;
  /** Bit 61: a file page or shared anonymous (shmem) page, not private anonymous memory. */
  file: boolean;
  /** Bit 56: mapped exactly once (this entry alone maps it). */
  exclusive: boolean;
  /** Bit 55: written since the last clear_refs 4 (or its region is new since). */
  softDirty: boolean;
  /** Bits 0-54 of a present page: its frame number (0 when frame numbers are hidden). */
  pfn?: number;
  /** Bits 0-4 of a swapped page: the swap area (0: vmsim has one). */
  swapType?: number;
  /** Bits 5-54 of a swapped page: the slot. */
  swapOffset?: number;
}

/** Decodes one 64-bit pagemap entry. */
export function decodePagemapEntry(e: bigint): PagemapEntry {
  const frame = Number(e & ((1n << 55n) - 1n));
  const out: PagemapEntry = { present: (e >> 63n) % 2n === 1n, swapped: (e >> 62n) % 2n === 1n, file: (e >> 61n) % 2n === 1n, exclusive: (e >> 56n) % 2n === 1n, softDirty: (e >> 55n) % 2n === 1n };
  if (out.present) out.pfn = frame;
  else if (out.swapped) {
    out.swapType = frame % 2 ** SWAP_TYPE_BITS;
    out.swapOffset = Math.floor(frame / 2 ** SWAP_TYPE_BITS);
  }
  return out;
}

/**
 * Fills words[2i], words[2i+1] (low, high word) with the entry of page `first + i` for i in
 * [0, pages); `showPfn` false leaves frame numbers and swap locations 0, as the kernel does for
 * a reader without CAP_SYS_ADMIN.
 */
export function pagemapWords(vm: ProcSpace, first: number, pages: number, words: Uint32Array, showPfn: boolean): void {
  const start = first * 4096;
  const end = start + pages * 4096;
  const sd = vm.proc.softDirty;
  // Pages inside regions: soft-dirty while their region has VM_SOFTDIRTY (pagemap_pte_hole), the rest zero.
  for (const r of vm.regions.overlapping(start, end)) {
    const a = Math.max(r.start, start) / 4096 - first;
    const b = Math.min(r.end, end) / 4096 - first;
    for (let i = a; i < b; i++) if (sd === undefined || !sd.isClean(first + i)) words[2 * i + 1] = HI_SOFT_DIRTY;
  }
  const ctx = vm.ctx;
  const total = ctx.frames.total;
  // Present pages mapped by an entry whose mapcount decides bit 56: their frames, for one refcount call.
  const idx: number[] = [];
  const frames: number[] = [];
  const objectRefs: number[] = [];
  scanEntries(ctx.frames, vm.pages.root, start, end, (la, lo, hi, size) => {
    const r = vm.regions.find(Math.max(la, start));
    if (r === undefined) return; // outside every region: pagemap reads 0 there
    const s = Math.max(la, start, r.start);
    const e = Math.min(la + size, end, r.end);
    if ((lo & PTE.P) === 0) {
      const slot = decodeSwapEntry(lo, hi);
      const i = s / 4096 - first;
      let h = words[2 * i + 1]! | HI_SWAP;
      if (sd !== undefined && !sd.swapWasClean(first + i, slot)) h |= HI_SOFT_DIRTY;
      if (showPfn) {
        const v = slot * 2 ** SWAP_TYPE_BITS; // type 0
        words[2 * i] = v % TWO32;
        h |= Math.floor(v / TWO32) & 0x7fffff;
      }
      words[2 * i + 1] = h;
      return;
    }
    let pfn = entryFrame(lo, hi);
    if (size > 4096) pfn = pfn - (pfn % (size / 4096)) + (s - la) / 4096;
    const dirty = (lo & SOFT_DIRTY) !== 0 ? HI_SOFT_DIRTY : 0;
    const hugeZero = size > 4096 && ctx.isZeroFrame(pfn);
    const zero = !hugeZero && ctx.isZeroFrame(pfn);
    for (let p = s; p < e; p += 4096, pfn++) {
      const i = p / 4096 - first;
      let h = words[2 * i + 1]! | HI_PRESENT | dirty;
      if (showPfn) words[2 * i] = pfn % TWO32;
      // vm_normal_page() has no page for the 4 KiB zero page; pagemap_pmd_range takes the huge zero page's (not anonymous).
      if (hugeZero) h |= HI_FILE;
      else if (!zero && pfn > 0 && pfn < total) {
        const object = isObjectPage(vm, r, p, pfn);
        if (object) h |= HI_FILE;
        idx.push(i);
        frames.push(pfn);
        objectRefs.push(object ? 1 : 0);
      }
      words[2 * i + 1] = h;
    }
  });
  if (frames.length === 0) return;
  const list = Float64Array.from(frames);
  const refs = new Float64Array(list.length);
  ctx.frames.refCounts(list, list.length, refs);
  const cache = ctx.swapCache.size > 0 ? ctx.swapCache : undefined;
  for (let k = 0; k < list.length; k++) {
    let mapcount = refs[k]! - objectRefs[k]!;
    if (cache !== undefined && cache.slotOf(list[k]!) !== undefined) mapcount--;
    if (mapcount === 1) words[2 * idx[k]! + 1]! |= HI_EXCLUSIVE;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The pagemap entries of pages [first, first + pages) as the file holds them: 64-bit words. */
export function pagemap(vm: ProcSpace, first: number, pages: number, showPfn: boolean): BigUint64Array {
  const out = new BigUint64Array(pages);
  if (LITTLE_ENDIAN) {
    pagemapWords(vm, first, pages, new Uint32Array(out.buffer), showPfn);
    return out;
  }
  const words = new Uint32Array(2 * pages);
  pagemapWords(vm, first, pages, words, showPfn);
  for (let i = 0; i < pages; i++) out[i] = (BigInt(words[2 * i + 1]!) << 32n) | BigInt(words[2 * i]!);
  return out;
}
