/**
 * Swap-in for a resident set: a not-present fault whose entry holds a swap slot maps the page
 * back, from the swap cache (a minor fault) or from zswap or the device (a major fault, which
 * also reads ahead as swapin_nr_pages decides; see src/reclaim/swap-readahead.ts).
 */
import { PAGE_SIZE, PTE } from '../core/constants.js';
import { VmmError } from '../errors.js';
import type { PageAttrs, PageTable } from '../machine/page-table.js';
import { decodeSwapEntry } from '../reclaim/swap-entry.js';
import type { ReclaimCounters } from '../reclaim/reclaim-stats.js';
import type { PageProt } from './pte-attrs.js';
import type { ResidentContext } from './resident-context.js';
import { CACHED, SWAPPED, type PageStates } from './page-states.js';
import { putSlot } from './reclaim/swap-cache.js';

/** The swap-in of one process (its page tables, its page states and counters). */
export class SwapIn {
  /** A page read out of zswap or a file device before it is mapped. */
  private readonly buffer = new Uint8Array(PAGE_SIZE);

  constructor(
    private readonly pages: PageTable,
    private readonly ctx: ResidentContext,
    private readonly st: PageStates,
    private readonly counters: ReclaimCounters,
  ) {}

  /**
   * Maps `slot`'s page back at `la`. From the swap cache (a page read ahead, or swapped in by
   * another process holding the same slot) it is a minor fault; else the page is read from
   * zswap or the device (major) and its neighbouring slots are read ahead. A page whose slot
   * other entries still hold comes back shared and read-only (COW), as Linux maps a swap-cache
   * page: sharing survives eviction. Returns the fault's kind, or undefined when no frame is free.
   */
  page(la: number, vpn: number, slot: number, write: boolean, pp: PageProt): 'major' | 'minor' | undefined {
    const swap = this.ctx.swap!;
    const entry = this.pages.readEntry(la);
    if (!entry || decodeSwapEntry(entry[0], entry[1]) !== slot) throw new VmmError('EFAULT', `reclaim: the entry of page ${vpn} does not hold swap slot ${slot} (internal inconsistency)`);
    // A zswap load is exclusive: make sure the frame exists before reading the page out.
    if (this.ctx.frames.freeCount() === 0) return undefined;
    const cow: PageAttrs = { lo: pp.readOnly.lo | PTE.SW_COW, hi: pp.readOnly.hi };
    const cachedFrame = this.ctx.swapCache.frameOf(slot);
    if (cachedFrame !== undefined) {
      // Shared while another entry holds the slot or another page table maps the frame (beyond the cache's own reference).
      const shared = swap.slots.refs(slot) > 1 || this.ctx.frames.refCount(cachedFrame) > 1;
      // Exclusive once this entry's reference goes (putSlot drops the cache page with the slot): writable then.
      this.pages.swapIn(la, cachedFrame, shared ? cow : write ? { lo: pp.writable.lo | PTE.D, hi: pp.writable.hi } : pp.writable, null, 0);
      this.counters.swapcache_hit++, this.ctx.reclaim.swapcache_hit++;
      if (this.ctx.readahead.delete(slot)) {
        this.counters.swap_ra_hit++, this.ctx.reclaim.swap_ra_hit++;
        swap.readahead.hit(); // the next window grows from it
      }
      this.st.delete(vpn, SWAPPED);
      if (!shared && !write && !swap.slots.halfFull) {
        // Keep the clean copy (this entry's slot reference moves to the per-process cache).
        this.ctx.swapCache.deleteSlot(slot);
        this.ctx.frames.unref(cachedFrame);
        this.st.setSlot(vpn, CACHED, slot);
      } else putSlot(this.ctx, slot);
      return 'minor';
    }
    const shared = swap.slots.refs(slot) > 1;
    // From the in-memory device the core copies straight out of the device's storage (one copy, not two).
    const view = swap.readView(slot);
    const from = view !== undefined ? 'device' : swap.read(slot, this.buffer, 0);
    if (from === 'device') this.counters.pswpin++, this.ctx.reclaim.pswpin++;
    else this.counters.zswpin++, this.ctx.reclaim.zswpin++;
    const dirty = write || from === 'zswap';
    // A page of zeros needs no copy: the core's fresh frame is zeroed (and an untouched host page stays uncommitted).
    const bytes = view !== undefined ? view : from === 'device' && swap.device.holdsZeros(slot) ? null : this.buffer;
    const offset = view ? swap.device.pageOffset(slot) : 0;
    const pfn = this.pages.swapIn(la, -1, shared ? cow : dirty ? { lo: pp.writable.lo | PTE.D, hi: pp.writable.hi } : pp.writable, bytes, offset);
    if (pfn < 0) throw new VmmError('ENOMEM', 'swap-in: no page table frame'); // cannot happen: the entry's table exists
    this.st.delete(vpn, SWAPPED);
    if (shared) {
      // The other holders of the slot will find this page in the swap cache.
      this.ctx.swapCache.add(slot, pfn);
      this.ctx.frames.ref(pfn);
      putSlot(this.ctx, slot);
    } else if (dirty || swap.slots.halfFull) putSlot(this.ctx, slot);
    // Keep the swap copy while the page is clean, unless swap is getting full (vm_swap_full).
    else this.st.setSlot(vpn, CACHED, slot);
    this.readAhead(slot);
    return 'major';
  }

  /** swap_cluster_readahead around `slot`, counted as this process's. */
  private readAhead(slot: number): void {
    const n = readAround(this.ctx, slot);
    this.counters.swap_ra += n;
    this.ctx.reclaim.swap_ra += n;
  }
}

/**
 * swap_cluster_readahead: the in-use device slots of the window swapin_nr_pages chose around
 * `slot` go to the swap cache (anonymous and shared memory page-ins alike, as in Linux).
 * Returns the pages read (the caller counts them).
 */
export function readAround(ctx: Pick<ResidentContext, 'swap' | 'swapCache' | 'readahead' | 'frames' | 'reclaimer'>, slot: number): number {
  const swap = ctx.swap!;
  if (swap.pageCluster === 0) return 0;
  const [first, last] = swap.window(slot);
  const want: number[] = [];
  for (let t = first; t <= last; t++) {
    if (t === slot || swap.slots.refs(t) === 0 || ctx.swapCache.frameOf(t) !== undefined || swap.zswap?.has(t)) continue;
    want.push(t);
  }
  const fr = ctx.frames;
  const reserve = ctx.reclaimer?.watermarks.low ?? 0;
  if (want.length === 0 || fr.freeCount() - want.length <= reserve + 2) return 0;
  const frames = new Float64Array(want.length);
  if (!fr.allocList(frames, want.length)) return 0;
  let lo = Infinity;
  let hi = -1;
  let read = 0;
  for (; read < want.length; read++) {
    const t = want[read]!;
    const f = frames[read]!;
    // allocList's frames are zeroed: a slot of zeros needs no read.
    if (!swap.device.holdsZeros(t)) {
      try {
        swap.device.read(t, fr.view(f), fr.offset(f));
      } catch {
        // Readahead is a guess: a slot that cannot be read (a file cut short) is left on the device, as a
        // failed readahead page never becomes uptodate in Linux; the fault that needs it reports the error.
        lo = Math.min(lo, f);
        hi = Math.max(hi, f);
        break;
      }
    }
    ctx.swapCache.add(t, f);
    ctx.readahead.add(t);
    lo = Math.min(lo, f);
    hi = Math.max(hi, f);
  }
  for (let i = read; i < want.length; i++) fr.unref(frames[i]!);
  // One call marks the frames written (so they are zeroed when next allocated); frames between them are marked too, harmlessly.
  if (hi >= 0) fr.noteWritten(lo, hi - lo + 1);
  swap.pswpin += read;
  return read;
}

/**
 * MADV_WILLNEED's read_swap_cache_async for each of `slots`: pages in the device (not already in
 * the swap cache, not in zswap) are read into the swap cache, as far as frames allow above the
 * low watermark. Returns the pages read.
 */
export function prefetch(ctx: Pick<ResidentContext, 'swap' | 'swapCache' | 'frames' | 'reclaimer'>, slots: readonly number[]): number {
  const swap = ctx.swap!;
  const want = slots.filter((t) => ctx.swapCache.frameOf(t) === undefined && !swap.zswap?.has(t));
  const fr = ctx.frames;
  const reserve = ctx.reclaimer?.watermarks.low ?? 0;
  const n = Math.max(0, Math.min(want.length, fr.freeCount() - reserve - 2));
  if (n === 0) return 0;
  const frames = new Float64Array(n);
  if (!fr.allocList(frames, n)) return 0;
  for (let i = 0; i < n; i++) {
    const t = want[i]!;
    const f = frames[i]!;
    if (!swap.device.holdsZeros(t)) swap.device.read(t, fr.view(f), fr.offset(f));
    fr.noteWritten(f, 1);
    ctx.swapCache.add(t, f);
  }
  swap.pswpin += n;
  return n;
}
