/**
 * The numbers the TypeScript model and native/hierarchy.h share: the fixed slots of a per-CPU
 * TLB hierarchy, the encoding of its configuration and the layout of its statistics array.
 * A slot is one hardware array (one name, one size, one associativity, one policy); a slot
 * with 0 entries is absent. The order of the slots is the lookup order within a level.
 */

/** The structures of a hierarchy, by slot. */
export const Slot = { L1I: 0, L1I_2M: 1, L1D: 2, L1D_2M: 3, L1D_1G: 4, STLB: 5, STLB_1G: 6, L2I: 7, PWC_PML4: 8, PWC_PDPT: 9, PWC_PD: 10, COUNT: 11 } as const;

/** Each slot's stable name (result rows, CSV columns, option keys). */
export const SLOT_NAMES = ['l1i', 'l1i-2m', 'l1d', 'l1d-2m', 'l1d-1g', 'stlb', 'stlb-1g', 'l2i', 'pwc-pml4e', 'pwc-pdpte', 'pwc-pde'] as const;
export type SlotName = (typeof SLOT_NAMES)[number];

/**
 * TLB slots per level: the instruction L1, the data L1, the second level, and the separate
 * second-level instruction TLB (AMD's L2 ITLB): when present, fetches that miss the L1I look
 * it up instead of the second level, which then serves data only.
 */
export const LEVEL_SLOTS = { l1i: [0, 1], l1d: [2, 3, 4], stlb: [5, 6], l2i: [7] } as const;

/** Replacement policies. */
export const Policy = { LRU: 0, PLRU: 1, FIFO: 2, RANDOM: 3 } as const;
export const POLICY_NAMES = ['lru', 'plru', 'fifo', 'random'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** Page-size bits of a slot's `sizes` mask. */
export const SizeBit = { K4: 1, M2: 2, G1: 4 } as const;

/** Per slot in the config array: entries, ways, policy, sizes mask, random seed. */
export const CONF_FIELDS = 5;
export const CONF_LENGTH = Slot.COUNT * CONF_FIELDS;

/** Per slot in the stats array. */
export const SlotStat = { HITS: 0, MISSES: 1, FILLS: 2, EVICTIONS: 3, FIELDS: 4 } as const;

/** Hierarchy-wide statistics, after the slots'. Walk references are by level read (PML4E first). */
export const HierStat = {
  L1I_MISSES: 44,
  L1D_MISSES: 45,
  /** Second-level lookups by side (_I: fetches, made in the L2 ITLB when there is one; _D: data). */
  STLB_HITS_I: 46,
  STLB_MISSES_I: 47,
  STLB_HITS_D: 48,
  STLB_MISSES_D: 49,
  WALKS_I: 50,
  WALKS_D: 51,
  REFS_PML4E: 52,
  REFS_PDPTE: 53,
  REFS_PDE: 54,
  REFS_PTE: 55,
  ASSISTS: 56,
  FAULT_WALKS: 57,
  /** Touches that hit no TLB level (each began a walk). */
  MISSES_ALL: 58,
  LENGTH: 60,
} as const;

/** hierInvalidate operations (SDM Vol. 3A §4.10.4.1): INVLPG and the four INVPCID types. */
export const HierOp = { INVLPG: 0, INVPCID_ADDRESS: 1, INVPCID_CONTEXT: 2, INVPCID_ALL_GLOBAL: 3, INVPCID_ALL: 4 } as const;

/** hierTraceBatch flag: the touch at `start` retries one that faulted (its lookups are already counted). */
export const HIER_RETRY = 8;

/** Values per entry in a hierDump: key, physical base, flags, stamp. */
export const DUMP_ENTRY = 4;
