/**
 * From a region's protection to the hardware bits of its leaf entries (the policy Linux's
 * protection_map[] / vm_get_page_prot encode for x86-64), computed once per machine: a region's
 * page attributes (its vm_page_prot) are a lookup by protection and sharing, never recomputed
 * at a fault. Region protections and entry bits are different types on purpose: PROT_NONE has
 * no hardware spelling, so its pages lose US (any user access then faults with P=1 and the VMM
 * answers SEGV_ACCERR).
 */
import { PTE, PTE_HI } from '../core/constants.js';
import type { ForkBits, PageAttrs, ProtectChange } from '../machine/page-table.js';

/**
 * Linux's _PAGE_SOFT_DIRTY (_PAGE_BIT_SOFTW3, bit 11; the core's SW_SPARE): set with Dirty by
 * every write-fault path (pte_mkdirty sets both on x86), cleared with RW by clear_refs 4.
 */
export const SOFT_DIRTY = PTE.SW_SPARE;

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
  /** A write fault on a present page that is not COW (write-protected by clear_refs 4, or stale): writable, Accessed, Dirty, soft-dirty (wp_page_reuse). */
  readonly wpReuse: ProtectChange;
  /**
   * The attributes where soft-dirty tracking write-protects (a region whose VM_SOFTDIRTY
   * clear_refs 4 cleared, vma_wants_writenotify): a read fault maps the page read-only
   * (`writable` without RW), mprotect grants no write permission, so every write faults.
   */
  readonly softDirtyWp: PageProt;
}

/** Attribute words [lo, hi] for a user page of a region with `prot`; `writable` says whether this page may carry RW now. */
function userPageAttrs(prot: number, shared: boolean, writable: boolean, nxe: boolean): PageAttrs {
  let lo = prot === 0 ? 0 : PTE.US;
  // A page mapped writable is soft-dirty (Linux's invariant once tracking write-protects: every writable entry has the bit).
  if (writable && (prot & PROT_WRITE) !== 0) lo |= PTE.RW | SOFT_DIRTY;
  if (shared) lo |= PTE.SW_SHARED;
  const hi = nxe && (prot & PROT_EXEC) === 0 ? PTE_HI.NX : 0;
  return { lo, hi: hi >>> 0 };
}

/** A private page shared copy-on-write with another space keeps RW clear whatever its region allows (Linux's anon-exclusive rule). */
const COW_STAYS_READONLY = { ifLo: PTE.SW_COW, thenClearLo: PTE.RW } as const;

/** fork of a private range: both sides lose RW and carry the COW bit; the child's copy starts not Accessed. */
export const FORK_PRIVATE: ForkBits = { parentClearLo: PTE.RW, parentSetLo: PTE.SW_COW, childClearLo: PTE.A };
/** fork of a shared range: entries as they are; the child's copy starts neither Accessed nor Dirty. */
export const FORK_SHARED: ForkBits = { parentClearLo: 0, parentSetLo: 0, childClearLo: PTE.A | PTE.D };

/** protection_map[]: the PageProt of every (protection, shared) pair, indexed by `prot | (shared ? 8 : 0)`. */
export function protectionMap(nxe: boolean): readonly PageProt[] {
  const map: PageProt[] = [];
  for (let i = 0; i < 16; i++) {
    const prot = i & 7;
    const shared = (i & 8) !== 0;
    const w = userPageAttrs(prot, shared, true, nxe);
    const ro = userPageAttrs(prot, shared, false, nxe);
    const lowMask = PTE.US | PTE.RW;
    const writableDirty = { lo: w.lo | PTE.A | PTE.D | SOFT_DIRTY, hi: w.hi };
    const change: ProtectChange = { setLo: w.lo & lowMask, setHi: w.hi, clearLo: lowMask & ~w.lo, clearHi: PTE_HI.NX & ~w.hi, ...(shared ? {} : COW_STAYS_READONLY) };
    const wpReuse: ProtectChange = { setLo: (w.lo & lowMask) | PTE.A | PTE.D | ((w.lo & PTE.RW) !== 0 ? SOFT_DIRTY : 0), setHi: w.hi, clearLo: lowMask & ~w.lo, clearHi: PTE_HI.NX & ~w.hi };
    const base = { writableDirty, readOnly: ro, wpReuse };
    // Its own write-protected form is itself (a plain field, not a getter: a snapshot copies fields).
    const wp = { ...base, writable: ro, change: { ...change, setLo: change.setLo & ~PTE.RW } } as { softDirtyWp: PageProt } & Omit<PageProt, 'softDirtyWp'>;
    wp.softDirtyWp = wp;
    map.push({ ...base, writable: w, change, softDirtyWp: wp });
  }
  return map;
}

/** Index of a region's entry in the protection map. */
export function protIndex(prot: number, shared: boolean): number {
  return prot | (shared ? 8 : 0);
}
