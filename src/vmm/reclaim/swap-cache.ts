/**
 * The swap cache (Linux's swapper_space): pages that are in memory and also own a swap slot.
 * Two kinds of membership, as vmsim keeps them:
 * - a page no entry maps, or one shared by several holders of its slot, is here by slot, with
 *   a frame reference of its own (SwapCache): a page read ahead (swap_cluster_readahead, also
 *   `readahead` below until a fault uses it), or swapped in by one of several processes that
 *   hold the slot. A fault that finds its slot here is a minor fault;
 * - a page one process maps alone keeps its slot in that process's page states (CACHED in
 *   src/vmm/page-states.ts) while it stays clean: evicting it again reuses the copy (no write).
 * The references to slots and to swap-cache pages are dropped here (putSlot, dropCachePage),
 * and reclaim's cheapest pages — swap-cache pages nobody maps — are dropped by shrink.
 */
import type { Frames } from '../../machine/frames.js';
import type { SwapArea } from '../../reclaim/swap-area.js';

/** What dropping slot and cache references needs of the machine (a ResidentContext is one). */
export interface SlotContext {
  readonly swap: SwapArea | undefined;
  readonly swapCache: SwapCache;
  readonly readahead: Set<number>;
  readonly frames: Frames;
}

/** Drops one reference to `slot`; a freed slot takes its swap-cache page with it. */
export function putSlot(ctx: SlotContext, slot: number): void {
  if (ctx.swap!.put(slot)) dropCachePage(ctx, slot);
}

/** Drops the swap-cache page of `slot` (its copy is stale or its slot is gone). */
export function dropCachePage(ctx: SlotContext, slot: number): void {
  if (ctx.swapCache.size === 0) return;
  const f = ctx.swapCache.deleteSlot(slot);
  if (f === undefined) return;
  ctx.readahead.delete(slot);
  ctx.frames.unref(f);
}

/** Drops up to `n` swap-cache pages that no entry maps (oldest first); returns how many (reclaim's cheapest pages: no write, no unmap). */
export function shrinkSwapCache(ctx: SlotContext, n: number): number {
  let dropped = 0;
  if (n <= 0 || ctx.swapCache.size === 0) return 0;
  for (const [slot, f] of [...ctx.swapCache.entries()]) {
    if (dropped >= n) break;
    if (ctx.frames.refCount(f) !== 1) continue;
    ctx.swapCache.deleteSlot(slot);
    ctx.readahead.delete(slot);
    ctx.frames.unref(f);
    dropped++;
  }
  return dropped;
}

/** Pages in memory that hold a copy of a swap slot, by slot and by frame. */
export class SwapCache {
  private readonly bySlot = new Map<number, number>();
  private readonly byFrame = new Map<number, number>();

  /** Pages in the cache. */
  get size(): number {
    return this.bySlot.size;
  }
  /** Adds frame as the in-memory copy of slot. */
  add(slot: number, frame: number): void {
    this.bySlot.set(slot, frame);
    this.byFrame.set(frame, slot);
  }
  /** The frame holding slot's page, or undefined. */
  frameOf(slot: number): number | undefined {
    return this.bySlot.get(slot);
  }
  /** The slot whose copy frame is, or undefined. */
  slotOf(frame: number): number | undefined {
    return this.byFrame.get(frame);
  }
  /** Removes the entry of slot; returns its frame. */
  deleteSlot(slot: number): number | undefined {
    const f = this.bySlot.get(slot);
    if (f === undefined) return undefined;
    this.bySlot.delete(slot);
    this.byFrame.delete(f);
    return f;
  }
  /** Removes the entry of frame; returns its slot. */
  deleteFrame(frame: number): number | undefined {
    const s = this.byFrame.get(frame);
    if (s === undefined) return undefined;
    this.byFrame.delete(frame);
    this.bySlot.delete(s);
    return s;
  }
  /** Every (slot, frame) pair. */
  entries(): IterableIterator<[slot: number, frame: number]> {
    return this.bySlot.entries();
  }
}
