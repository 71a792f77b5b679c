/**
 * The page-table pages of one address space's user half, as Linux's mm_pgtables_bytes counts
 * them (PUD, PMD and PTE tables; the top-level table is not counted, nor the kernel half that
 * every space shares). Read straight from the tables in simulated RAM (no core call per table):
 * the core keeps no per-space count, and only the OOM killer and oom_score need the number.
 */
import { PAGE_SIZE } from '../core/constants.js';
import type { Frames } from './frames.js';

/** Entries of the top-level table that belong to the user half (256-511 are the shared kernel half). */
const USER_ENTRIES = 256;

/** Page-table pages below the root `root` in its user half: 0 for an empty space. */
export function userTablePages(frames: Frames, root: number): number {
  const seen = new Set<number>();
  // Level 4 (PML4) entries point to PUD tables, level 3 to PMD tables, level 2 to PTE tables.
  const visit = (table: number, level: number, entries: number): void => {
    const view = frames.view(table);
    const base = frames.offset(table);
    for (let i = 0; i < entries; i++) {
      const o = base + i * 8;
      const lo = view[o]! | (view[o + 1]! << 8) | (view[o + 2]! << 16) | (view[o + 3]! << 24);
      if ((lo & 1) === 0) continue; // not present
      if (level < 4 && (lo & 0x80) !== 0) continue; // PS: a 1 GiB or 2 MiB leaf, no table below
      const hi = view[o + 4]! | (view[o + 5]! << 8) | ((view[o + 6]! & 0x0f) << 16);
      const child = ((lo >>> 12) & 0xfffff) + hi * 2 ** 20;
      // A frame outside RAM (or frame 0) is no table the core made; a table met twice counts once.
      if (child <= 0 || child >= frames.total || seen.has(child)) continue;
      seen.add(child);
      if (level > 2) visit(child, level - 1, PAGE_SIZE / 8);
    }
  };
  visit(root, 4, USER_ENTRIES);
  return seen.size;
}
