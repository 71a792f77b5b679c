/**
 * The entries of one address space's page tables over a range, read straight from the tables
 * in simulated RAM (no core call per table or page): what /proc's smaps, pagemap and status
 * need of every page at once — all bits of each entry (software bits included), swap entries
 * as they are, large leaves once. Tables are read as 32-bit words through the RAM windows the
 * frame layer caches, so a walk costs a few ns a present entry. A table pointer naming frame 0
 * or a frame beyond RAM is no table the core made (a bad entry the core would clear) and is
 * skipped; leaves are reported as they are, whatever frame they name.
 */
import type { Frames } from './frames.js';

/**
 * Called for each entry the walk reports, in address order: `la` is the first address the
 * entry maps (a large leaf may start below the range), `lo`/`hi` its two words, `size` the
 * bytes it maps (4096 for every 4 KiB-level entry, present or not; 2 MiB or 1 GiB for a large leaf).
 */
export type EntryVisitor = (la: number, lo: number, hi: number, size: number) => void;

const TWO47 = 2 ** 47;
const SPAN = [0, 4096, 2 ** 21, 2 ** 30, 2 ** 39]; // bytes one entry of a level maps
const P = 1;
const PS = 0x80;

/** Reads tables as 32-bit words, caching one view per 2 MiB RAM window. */
class TableWords {
  private readonly words: Uint32Array[] = [];
  constructor(private readonly frames: Frames) {}

  /** The words of the window holding frame `pfn`; the table's first word is at index (pfn & 511) * 1024. */
  of(pfn: number): Uint32Array {
    const i = (pfn / 512) | 0;
    let w = this.words[i];
    if (w === undefined) {
      const v = this.frames.view(pfn);
      w = this.words[i] = new Uint32Array(v.buffer, v.byteOffset, v.byteLength >>> 2);
    }
    return w;
  }
}

/** Frame number of an entry (bits 12-51). */
export function entryFrame(lo: number, hi: number): number {
  return (lo >>> 12) + (hi & 0xfffff) * 1048576;
}

/**
 * Visits every non-zero 4 KiB-level entry (present pages and swap entries) and every present
 * 2 MiB / 1 GiB leaf meeting [start, end) under the top-level table `root`, in address order.
 * `start` and `end` are 4 KiB-aligned linear addresses in the user half.
 */
export function scanEntries(frames: Frames, root: number, start: number, end: number, visit: EntryVisitor): void {
  if (!(start < end)) return;
  const words = new TableWords(frames);
  const total = frames.total;
  const last = Math.min(end, TWO47) - 1;
  // Descends level by level; `base` is the address the table's entry 0 maps.
  const walk = (table: number, level: number, base: number): void => {
    const span = SPAN[level]!;
    const first = start > base ? Math.floor((start - base) / span) : 0;
    const stop = Math.min(511, Math.floor((last - base) / span));
    const w = words.of(table);
    const off = (table & 511) * 1024;
    for (let i = first; i <= stop; i++) {
      const lo = w[off + 2 * i]!;
      const hi = w[off + 2 * i + 1]!;
      const la = base + i * span;
      if (level === 1) {
        if (lo !== 0 || hi !== 0) visit(la, lo, hi, 4096);
        continue;
      }
      if ((lo & P) === 0) continue;
      if (level <= 3 && (lo & PS) !== 0) {
        visit(la, lo, hi, span);
        continue;
      }
      const child = entryFrame(lo, hi);
      if (child <= 0 || child >= total) continue; // not a table the core made
      walk(child, level - 1, la);
    }
  };
  walk(root, 4, 0);
}
