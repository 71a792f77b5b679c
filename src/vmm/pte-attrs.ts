/**
 * From a region's protection to the hardware bits of its leaf entries (the policy Linux's
 * vm_get_page_prot encodes for x86-64). Region protections and entry bits are different
 * types on purpose: PROT_NONE has no hardware spelling, so its pages lose US (any user
 * access then faults with P=1 and the VMM answers SEGV_ACCERR).
 */
import { PTE, PTE_HI } from '../core/constants.js';

/** Region protection bits. */
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

/** Attribute words [lo, hi] for a user page of a region with `prot`; `writable` says whether this page may carry RW now. */
export function userPageAttrs(prot: number, shared: boolean, writable: boolean, nxe: boolean): [number, number] {
  let lo = prot === 0 ? 0 : PTE.US;
  if (writable && (prot & PROT_WRITE) !== 0) lo |= PTE.RW;
  if (shared) lo |= PTE.SW_SHARED;
  const hi = nxe && (prot & PROT_EXEC) === 0 ? PTE_HI.NX : 0;
  return [lo, hi >>> 0];
}

/** Masks for core.protect that turn any leaf of a region into the encoding for `prot`. */
export function protectMasks(prot: number, shared: boolean, nxe: boolean): { setLo: number; setHi: number; clrLo: number; clrHi: number } {
  const [lo, hi] = userPageAttrs(prot, shared, true, nxe);
  const lowMask = PTE.US | PTE.RW;
  return { setLo: lo & lowMask, setHi: hi, clrLo: lowMask & ~lo, clrHi: PTE_HI.NX & ~hi };
}
