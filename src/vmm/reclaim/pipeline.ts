/**
 * The eviction pipeline: one for anonymous, shared memory (shmem) and file pages, as Linux's
 * shrink_folio_list is one. A reclaim domain hands it a batch of victims of one kind (chosen by
 * its replacement policy or its LRU lists) through an EvictionSource, and for the batch:
 * 1. classify — the batch's reverse map (rmap.ts) is walked once; the source decides each page
 *    from what the walk found: kept (referenced, mlocked, held by someone the reverse map does
 *    not know: the source puts it back, activated where its lists do that), or evicted with a
 *    destination: none (a clean page — a file page whose bytes are on the disk, the zero page,
 *    a MADV_FREE page not written since), its swap copy (a clean page whose slot is still
 *    valid: no write), or a swap slot to write (an anonymous or shmem page);
 * 2. prepare the destinations, in batch order: a slot taken and the page written (zswap or the
 *    device; to the in-memory device in runs of slots, one copy each);
 * 3. unmap from every mapping through the reverse map: each entry becomes the page's swap entry
 *    (anonymous) or none (shmem, file), one bulk change per address space, and the TLB flushes
 *    that obliges are done — commit takes the proof (src/machine/tlb-flush.ts);
 * 4. commit — the source records where each page went and lets its frame go (a file page found
 *    dirty, by its flag or an entry's Dirty bit, is marked for immediate reclaim and activated
 *    instead: file pages are written back by the flusher, never from here) — or put back.
 * One failure rule: when the destination of a page cannot be prepared — no free slot, or the
 * write throws (a swap file's I/O error) — that page and every later page of the batch are put
 * back untouched; the pages before it are unmapped and committed as decided; a thrown error is
 * rethrown once they are.
 */
import { encodeSwapEntryInto } from '../../reclaim/swap-entry.js';
import type { SwapArea } from '../../reclaim/swap-area.js';
import type { Frames } from '../../machine/frames.js';
import { flushAll, type Flushed } from '../../machine/tlb-flush.js';
import type { Rmap } from './rmap.js';
import { dropCachePage, type SlotContext } from './swap-cache.js';

/** What classify decided for a page. */
export const enum Fate {
  /** Stays (the source put it back). */
  KEEP = 0,
  /** Evicted with no destination (nothing to keep: clean, or zeros). */
  DROP = 1,
  /** Evicted to its slot's valid copy (no write). */
  REUSE = 2,
  /** Evicted to a slot after a write (slots[k] >= 0: that slot, else a fresh one). */
  WRITE = 3,
}

/** A batch of victims of one kind, as a reclaim domain hands it to the pipeline. */
export interface EvictionSource {
  /** Pages in the batch. */
  readonly n: number;
  /** The batch's reverse map (its pfns are the victims' frames), walked. */
  rmap(): Rmap;
  /** classify needs the frames' reference counts (read in one call for the batch; else it gets 0). */
  readonly needsRefs: boolean;
  /**
   * Decides page k from the walk and its frame's reference count; a kept page is put back by
   * the source now. For REUSE and WRITE it sets slots[k] (-1: take a fresh slot).
   */
  classify(k: number, rm: Rmap, refs: number, slots: Float64Array): Fate;
  /** Mappings of an evicted page get its swap entry (anonymous pages) rather than none. */
  readonly swapEntries: boolean;
  /** Page k went to `where` (counted by the source). */
  wrote(k: number, where: 'zswap' | 'device'): void;
  /** Page k could not be prepared (or a page before it could not): back to its list, untouched. */
  putBack(k: number): void;
  /**
   * Page k is unmapped everywhere (rm.dirty[k]: an entry had it dirty): the source records
   * where it went and lets its frame go. Returns whether it was reclaimed (a dirty file page is not).
   */
  commit(k: number, fate: Fate, slot: number, rm: Rmap, proof: Flushed): boolean;
}

/** What the pipeline needs of the machine. */
export interface PipelineContext extends SlotContext {
  readonly frames: Frames;
  readonly swap: SwapArea | undefined;
}

/** The pipeline's outcome for a batch. */
export interface BatchResult {
  /** Pages reclaimed (their frames let go). */
  reclaimed: number;
  /** Pages evicted from memory with a write to swap. */
  written: number;
  /** What a write threw (the batch stopped there): the caller counts what was done, then throws it. */
  failure?: unknown;
}

/** Buffers of one batch (the pipeline runs one batch at a time: reclaim never recurses). */
class Buffers {
  refs = new Float64Array(64);
  slots = new Float64Array(64);
  fates = new Uint8Array(64);
  fresh = new Uint8Array(64);
  lo = new Uint32Array(64);
  hi = new Uint32Array(64);
  writeSlots = new Float64Array(64);
  writeFrames = new Float64Array(64);
  ensure(n: number): void {
    if (n <= this.refs.length) return;
    let len = this.refs.length;
    while (len < n) len *= 2;
    this.refs = new Float64Array(len);
    this.slots = new Float64Array(len);
    this.fates = new Uint8Array(len);
    this.fresh = new Uint8Array(len);
    this.lo = new Uint32Array(len);
    this.hi = new Uint32Array(len);
    this.writeSlots = new Float64Array(len);
    this.writeFrames = new Float64Array(len);
  }
}
const buf = new Buffers();

/** Runs a batch through the pipeline (see the file's comment); a write's error comes back as `failure`, after what could be was committed. */
export function evictBatch(ctx: PipelineContext, src: EvictionSource): BatchResult {
  const n = src.n;
  if (n === 0) return { reclaimed: 0, written: 0 };
  buf.ensure(n);
  const { refs, slots, fates, fresh, lo, hi } = buf;
  // 1. classify
  const rm = src.rmap();
  if (src.needsRefs) ctx.frames.refCounts(rm.pfns, n, refs);
  for (let k = 0; k < n; k++) {
    slots[k] = -1;
    fresh[k] = 0;
    fates[k] = src.classify(k, rm, refs[k]!, slots);
  }
  // 2. prepare the destinations, in order; the first that fails stops the batch there.
  const swap = ctx.swap;
  const direct = swap !== undefined && swap.framesDirect;
  let writes = 0;
  let stop = n;
  let failure: unknown;
  let written = 0;
  for (let k = 0; k < n; k++) {
    if (fates[k] !== Fate.WRITE) continue;
    let slot = slots[k]!;
    if (slot < 0) {
      slot = swap ? swap.slots.alloc() : -1;
      if (slot < 0) {
        stop = k; // swap is full (or there is none)
        break;
      }
      slots[k] = slot;
      fresh[k] = 1;
    }
    dropCachePage(ctx, slot); // a copy read ahead from this slot is stale now
    const pfn = rm.pfns[k]!;
    if (direct) {
      buf.writeSlots[writes] = slot;
      buf.writeFrames[writes++] = pfn;
      src.wrote(k, 'device');
    } else {
      let where: 'zswap' | 'device';
      try {
        where = swap!.write(slot, ctx.frames.view(pfn), ctx.frames.offset(pfn)) as 'zswap' | 'device';
      } catch (e) {
        if (fresh[k]) swap!.put(slot);
        failure = e;
        stop = k;
        break;
      }
      src.wrote(k, where);
    }
    written++;
  }
  for (let k = stop; k < n; k++) {
    if (fates[k] === Fate.KEEP) continue;
    fates[k] = Fate.KEEP;
    src.putBack(k);
  }
  // Before the entries change: the frames are still mapped (and referenced) here.
  if (writes > 0) {
    const fr = ctx.frames;
    swap!.writeFrames(buf.writeSlots, buf.writeFrames, writes, (frames, start, count, dst, off, zero) => fr.copyOut(frames, start, count, dst, off, zero));
  }
  // 3. unmap from every mapping, and the flushes that obliges.
  const go = fates.subarray(0, n);
  if (src.swapEntries) {
    for (let k = 0; k < n; k++) {
      if (fates[k] === Fate.REUSE || fates[k] === Fate.WRITE) encodeSwapEntryInto(slots[k]!, lo, hi, k);
      else lo[k] = hi[k] = 0;
    }
  }
  const proof = flushAll(src.swapEntries ? rm.unmap(go, lo, hi) : rm.unmap(go));
  // 4. commit
  let reclaimed = 0;
  for (let k = 0; k < n; k++) if (fates[k] !== Fate.KEEP && src.commit(k, fates[k] as Fate, slots[k]!, rm, proof)) reclaimed++;
  return failure === undefined ? { reclaimed, written } : { reclaimed, written, failure };
}
