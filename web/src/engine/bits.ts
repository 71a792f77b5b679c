/** Address and entry arithmetic for the page's views: splitting addresses, decoding entries. */

/** Bits of an x86-64 paging-structure entry, in the order the page lists them. */
export interface EntryBit {
  /** Short name (the SDM's). */
  name: string;
  /** Bit number in the 64-bit entry. */
  bit: number;
  /** What it means, in a few words. */
  meaning: string;
}

/** The named bits of an entry (bit 7 is PS above level 1 and PAT in a PTE). */
export const ENTRY_BITS: readonly EntryBit[] = [
  { name: 'P', bit: 0, meaning: 'present' },
  { name: 'RW', bit: 1, meaning: 'writable' },
  { name: 'US', bit: 2, meaning: 'user may access' },
  { name: 'PWT', bit: 3, meaning: 'write-through' },
  { name: 'PCD', bit: 4, meaning: 'cache disabled' },
  { name: 'A', bit: 5, meaning: 'accessed (set by the walk)' },
  { name: 'D', bit: 6, meaning: 'dirty (set by a write)' },
  { name: 'PS', bit: 7, meaning: 'page size: a large page, not a table' },
  { name: 'G', bit: 8, meaning: 'global (kept across CR3 loads)' },
  { name: 'COW', bit: 9, meaning: 'OS bit 9: copy-on-write (vmsim)' },
  { name: 'SHR', bit: 10, meaning: 'OS bit 10: shared mapping (vmsim)' },
  { name: 'AVL', bit: 11, meaning: 'OS bit 11' },
  { name: 'NX', bit: 63, meaning: 'no execute' },
];

/** Bit `b` of a 64-bit entry. */
export function bit(entry: bigint, b: number): boolean {
  return ((entry >> BigInt(b)) & 1n) === 1n;
}

/** The physical address an entry points to (bits 12–51; bits 12–20 or 12–29 below a large leaf are PAT/reserved). */
export function entryAddress(entry: bigint, level: number, large: boolean): number {
  const mask = large ? (level === 3 ? 0x000f_ffff_c000_0000n : 0x000f_ffff_ffe0_0000n) : 0x000f_ffff_ffff_f000n;
  return Number(entry & mask);
}

/** Hex with a 0x prefix, padded to `digits`. */
export function hex(n: number | bigint, digits = 0): string {
  return '0x' + n.toString(16).padStart(digits, '0');
}

/** A virtual address in its canonical 64-bit form: a kernel address (negative, sign-extended) as 0xffff8880... */
export function vaHex(va: number, digits = 0): string {
  return va < 0 ? hex(BigInt(va) + 2n ** 64n) : hex(va, digits);
}

/** The four 9-bit indices (PML4, PDPT, PD, PT) and the 12-bit offset of a 48-bit linear address. */
export function splitAddress(va: number): { indices: [number, number, number, number]; offset: number } {
  const idx = (level: number) => Math.floor(va / 2 ** (12 + 9 * (level - 1))) % 512;
  return { indices: [idx(4), idx(3), idx(2), idx(1)], offset: va % 4096 };
}

/** Parses a user's address: hex with 0x, or decimal; undefined when it is neither or outside 0..2^48. */
export function parseAddress(text: string): number | undefined {
  const t = text.trim().replace(/_/g, '').toLowerCase();
  const v = /^0x[0-9a-f]+$/.test(t) ? parseInt(t.slice(2), 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  return Number.isSafeInteger(v) && v >= 0 && v < 2 ** 48 ? v : undefined;
}
