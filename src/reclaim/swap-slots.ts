/**
 * The swap slot allocator: Linux's swap_map. Slot 0 holds the swap header (as mkswap writes
 * it), so a device of N pages has N - 1 usable slots, as /proc/swaps reports. Each slot has a
 * reference count: one per page-table entry or swap-cache page that holds it (a page swapped
 * out after fork is one slot referenced from both children's entries). Allocation is
 * next-fit from the last slot given (Linux's cluster_next on a rotating disk), so pages
 * evicted together sit in neighbouring slots and readahead finds them.
 */
import { VmmError } from '../errors.js';

/** Reference counts of the slots of one swap area. */
export class SwapSlots {
  /** Slots including the header slot 0. */
  readonly pages: number;
  private readonly count: Uint32Array;
  /** One bit per slot, set when in use (slot 0 always set): word scans skip full regions fast. */
  private readonly usedBits: Uint32Array;
  private nextSlot = 1;
  private inUse = 0;

  constructor(pages: number) {
    if (!Number.isSafeInteger(pages) || pages < 2 || pages > 2 ** 32) throw new VmmError('EINVAL', `swap must hold at least 2 pages (the header and one slot) and at most 2^32, got ${pages}`);
    this.pages = pages;
    this.count = new Uint32Array(pages);
    this.usedBits = new Uint32Array(Math.ceil(pages / 32));
    this.usedBits[0] = 1;
    // Bits past the end count as used so the scan never returns them.
    const tail = pages % 32;
    if (tail !== 0) this.usedBits[this.usedBits.length - 1]! |= ~((1 << tail) - 1) >>> 0;
  }

  /** Usable slots (pages - 1). */
  get total(): number {
    return this.pages - 1;
  }
  /** Slots in use. */
  get used(): number {
    return this.inUse;
  }
  /** Free slots. */
  get free(): number {
    return this.pages - 1 - this.inUse;
  }
  /** Linux's vm_swap_full(): more than half the slots in use. */
  get halfFull(): boolean {
    return this.free * 2 < this.total;
  }
  /** References to `slot` (0 when free). */
  refs(slot: number): number {
    return this.count[slot] ?? 0;
  }

  /** Takes a free slot with one reference; -1 when the device is full. */
  alloc(): number {
    if (this.inUse === this.pages - 1) return -1;
    const words = this.usedBits.length;
    let w = this.nextSlot >>> 5;
    // First word: ignore the bits below nextSlot.
    let bits = (this.usedBits[w]! | ((1 << (this.nextSlot & 31)) - 1)) >>> 0;
    for (let i = 0; i <= words; i++) {
      if (bits !== 0xffffffff) {
        const b = 31 - Math.clz32(~bits & (bits + 1)); // lowest zero bit
        const slot = w * 32 + b;
        this.usedBits[w]! |= 1 << b;
        this.count[slot] = 1;
        this.inUse++;
        this.nextSlot = slot + 1 < this.pages ? slot + 1 : 1;
        return slot;
      }
      w = w + 1 < words ? w + 1 : 0;
      bits = this.usedBits[w]! >>> 0;
    }
    return -1;
  }

  /** Adds a reference to a slot in use (another entry now holds it: swap_duplicate). */
  dup(slot: number): void {
    this.check(slot);
    this.count[slot]!++;
  }

  /** Drops one reference (swap_free); returns true when the slot became free. */
  put(slot: number): boolean {
    this.check(slot);
    if (--this.count[slot]! > 0) return false;
    this.usedBits[slot >>> 5]! &= ~(1 << (slot & 31));
    this.inUse--;
    return true;
  }

  private check(slot: number): void {
    if (!Number.isInteger(slot) || slot < 1 || slot >= this.pages || this.count[slot] === 0) {
      throw new VmmError('EINVAL', `swap slot ${slot} is not in use`);
    }
  }
}
