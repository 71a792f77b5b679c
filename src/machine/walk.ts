/** space.walk(): the entries a hardware page walk reads, decoded, as a student or an emulator author wants to see them. */
import { CHUNK_BYTES, PAGE_SIZE } from '../core/constants.js';
import { decodeFlags, entryBigInt, type EntryFlags } from '../page-flags.js';
import type { PhysicalMemory } from './physical-memory.js';

/** Flags of a paging-structure entry as walk() decodes them (at upper levels, `dirty` and `global` are bits the CPU ignores). */
export interface WalkFlags extends EntryFlags {
  present: boolean;
  /** PS: this entry maps a 2 MiB (level 2) or 1 GiB (level 3) page instead of pointing to a table. */
  largePage: boolean;
}

/** One paging-structure entry a walk visited. */
export interface WalkStep {
  /** 4 for the PML4 entry down to 1 for the PTE. */
  level: 4 | 3 | 2 | 1;
  /** Index of the entry in its table (address bits 39-47, 30-38, 21-29 or 12-20). */
  index: number;
  /** Physical address of the entry. */
  entryAddress: number;
  /** The raw 64-bit entry. */
  entry: bigint;
  flags: WalkFlags;
}

/**
 * The entries a walk of linear address `la` from the top-level table in frame `rootFrame`
 * visits, top first, ending at a leaf, a not-present entry, or an entry that points outside RAM.
 */
export function walkEntries(phys: PhysicalMemory, rootFrame: number, la: number): WalkStep[] {
  const steps: WalkStep[] = [];
  let table = rootFrame * PAGE_SIZE;
  for (let level = 4; level >= 1; level--) {
    const index = Math.floor(la / 2 ** (12 + 9 * (level - 1))) % 512;
    const entryAddress = table + index * 8;
    const dv = phys.viewAt(entryAddress);
    const o = entryAddress % CHUNK_BYTES;
    const lo = dv.getUint32(o, true);
    const hi = dv.getUint32(o + 4, true);
    const present = (lo & 1) !== 0;
    const largePage = level > 1 && level < 4 && (lo & 0x80) !== 0;
    steps.push({ level: level as 4 | 3 | 2 | 1, index, entryAddress, entry: entryBigInt(lo, hi), flags: { present, largePage, ...decodeFlags(lo, hi) } });
    if (!present || largePage || level === 1) break;
    table = ((lo & 0xfffff000) >>> 0) + (hi & 0xfffff) * 2 ** 32;
    if (table + PAGE_SIZE > phys.size) break; // points outside RAM: nothing more to read
  }
  return steps;
}
