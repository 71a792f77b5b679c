/**
 * The swap cache: pages that are in memory and also own a swap slot (Linux's swapper_space).
 * A page enters it when read back from swap (and stays while its swap copy is valid, so a
 * clean page can later be dropped without a write) or when read ahead. A fault that finds its
 * slot here is a minor fault. Both directions are kept: slot -> frame for faults, frame -> slot
 * for eviction and freeing.
 */
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
