/** The references reclaim (a resident set, shared memory) drops on swap slots and on the swap-cache pages that hold their copies. */
import type { ResidentContext } from './resident-context.js';

/** What the two need of the machine. */
export type SlotContext = Pick<ResidentContext, 'swap' | 'swapCache' | 'readahead' | 'frames'>;

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
