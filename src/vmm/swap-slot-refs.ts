/** The references a resident set drops on swap slots and on the swap-cache pages that hold their copies. */
import type { ResidentContext } from './resident-context.js';

/** Drops one reference to `slot`; a freed slot takes its swap-cache page with it. */
export function putSlot(ctx: ResidentContext, slot: number): void {
  if (ctx.swap!.put(slot)) dropCachePage(ctx, slot);
}

/** Drops the swap-cache page of `slot` (its copy is stale or its slot is gone). */
export function dropCachePage(ctx: ResidentContext, slot: number): void {
  if (ctx.swapCache.size === 0) return;
  const f = ctx.swapCache.deleteSlot(slot);
  if (f === undefined) return;
  ctx.readahead.delete(slot);
  ctx.frames.unref(f);
}
