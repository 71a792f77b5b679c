/**
 * From a region's protection to the hardware bits of its leaf entries (the policy Linux's
 * protection_map[] / vm_get_page_prot encode for x86-64), computed once per machine: a region's
 * page attributes (its vm_page_prot) are a lookup by protection and sharing, never recomputed
 * at a fault. Region protections and entry bits are different types on purpose: PROT_NONE has
 * no hardware spelling, so its pages lose US (any user access then faults with P=1 and the VMM
 * answers SEGV_ACCERR).
 */
import { PTE, PTE_HI } from '../core/constants.js';
import type { PageAttrs, ProtectChange } from '../machine/page-table.js';

/** Region protection bits. */
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

/** The page-table attributes of a region with one protection and sharing (Linux's vm_page_prot and its uses). */
export interface PageProt {
  /** A page that may be written now (RW when the protection has write). */
  readonly writable: PageAttrs;
  /** `writable` with Accessed and Dirty set: a page that is being written now (a write fault, MAP_POPULATE). */
  readonly writableDirty: PageAttrs;
  /** A page mapped read-only whatever the protection (the zero page, a COW page, a private object page). */
  readonly readOnly: PageAttrs;
  /** The change mprotect applies to every leaf of the region (COW entries keep RW clear when private). */
  readonly change: ProtectChange;
}

/** Attribute words [lo, hi] for a user page of a region with `prot`; `writable` says whether this page may carry RW now. */
function userPageAttrs(prot: number, shared: boolean, writable: boolean, nxe: boolean): PageAttrs {
  let lo = prot === 0 ? 0 : PTE.US;
  if (writable && (prot & PROT_WRITE) !== 0) lo |= PTE.RW;
  if (shared) lo |= PTE.SW_SHARED;
  const hi = nxe && (prot & PROT_EXEC) === 0 ? PTE_HI.NX : 0;
  return { lo, hi: hi >>> 0 };
}

/** protection_map[]: the PageProt of every (protection, shared) pair, indexed by `prot | (shared ? 8 : 0)`. */
export function protectionMap(nxe: boolean): readonly PageProt[] {
  const map: PageProt[] = [];
  for (let i = 0; i < 16; i++) {
    const prot = i & 7;
    const shared = (i & 8) !== 0;
    const w = userPageAttrs(prot, shared, true, nxe);
    const lowMask = PTE.US | PTE.RW;
    map.push({
      writable: w,
      writableDirty: { lo: w.lo | PTE.A | PTE.D, hi: w.hi },
      readOnly: userPageAttrs(prot, shared, false, nxe),
      change: { setLo: w.lo & lowMask, setHi: w.hi, clearLo: lowMask & ~w.lo, clearHi: PTE_HI.NX & ~w.hi, keepCowReadOnly: !shared },
    });
  }
  return map;
}

/** Index of a region's entry in the protection map. */
export function protIndex(prot: number, shared: boolean): number {
  return prot | (shared ? 8 : 0);
}
