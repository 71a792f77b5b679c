/**
 * Hardware page flags as users see them. They are an object rather than a bitmask because
 * NX is bit 63 and JS bitwise operators stop at 32 bits. Software state (COW, shared) is a
 * separate type: it lives in the OS-available bits and is never a hardware permission.
 */
import { PTE, PTE_HI } from './core/constants.js';
import { VmmError } from './errors.js';
import { describe } from './address.js';

/** Flags of a mapping, all optional booleans (present is implied). */
export interface PageFlags {
  writable?: boolean;
  user?: boolean;
  noExecute?: boolean;
  global?: boolean;
  writeThrough?: boolean;
  cacheDisable?: boolean;
}

/** Flags read back from a leaf entry: every hardware bit, plus what the CPU set. */
export interface EntryFlags extends Required<PageFlags> {
  accessed: boolean;
  dirty: boolean;
}

/** Software state kept in OS-available entry bits. */
export interface SoftwareBits {
  /** Copy-on-write: a write fault copies (or reuses) the frame. */
  cow: boolean;
  /** The page belongs to a shared mapping. */
  shared: boolean;
}

const FLAG_BITS: ReadonlyArray<readonly [keyof PageFlags, number, number]> = [
  ['writable', PTE.RW, 0],
  ['user', PTE.US, 0],
  ['writeThrough', PTE.PWT, 0],
  ['cacheDisable', PTE.PCD, 0],
  ['global', PTE.G, 0],
  ['noExecute', 0, PTE_HI.NX],
];

/** Every low-word bit a PageFlags object can set. */
export const FLAG_MASK_LO = PTE.RW | PTE.US | PTE.PWT | PTE.PCD | PTE.G;
/** Every high-word bit a PageFlags object can set. */
export const FLAG_MASK_HI = PTE_HI.NX;

/** Validates a PageFlags object and encodes it as entry words [lo, hi]; EINVAL names the bad key. */
export function encodeFlags(flags: unknown, arg = 'flags'): [number, number] {
  if (flags === undefined) return [0, 0];
  if (flags === null || typeof flags !== 'object' || Array.isArray(flags)) {
    throw new VmmError('EINVAL', `${arg} must be an object like { writable: true, user: true }, got ${describe(flags)}`);
  }
  let lo = 0;
  let hi = 0;
  for (const key of Object.keys(flags)) {
    const spec = FLAG_BITS.find((f) => f[0] === key);
    if (!spec) {
      throw new VmmError('EINVAL', `${arg}.${key} is not a page flag (expected ${FLAG_BITS.map((f) => f[0]).join(', ')})`);
    }
    const v = (flags as Record<string, unknown>)[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw new VmmError('EINVAL', `${arg}.${key} must be a boolean, got ${describe(v)}`);
    if (v) {
      lo |= spec[1];
      hi |= spec[2];
    }
  }
  return [lo, hi >>> 0];
}

/** Decodes the hardware flags of a leaf entry. */
export function decodeFlags(lo: number, hi: number): EntryFlags {
  return {
    writable: (lo & PTE.RW) !== 0,
    user: (lo & PTE.US) !== 0,
    noExecute: (hi & PTE_HI.NX) !== 0,
    global: (lo & PTE.G) !== 0,
    writeThrough: (lo & PTE.PWT) !== 0,
    cacheDisable: (lo & PTE.PCD) !== 0,
    accessed: (lo & PTE.A) !== 0,
    dirty: (lo & PTE.D) !== 0,
  };
}

/** Decodes the software bits of a leaf entry. */
export function decodeSoftware(lo: number): SoftwareBits {
  return { cow: (lo & PTE.SW_COW) !== 0, shared: (lo & PTE.SW_SHARED) !== 0 };
}

/** The raw 64-bit entry as a bigint. */
export function entryBigInt(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
