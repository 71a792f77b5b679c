/**
 * Constants shared by every backend: x86-64 entry bits, status codes, feature bits,
 * and the indices of the shared counter and result arrays. The C++ core mirrors
 * these numbers in native/constants.h; a test checks the two agree.
 */

/** Page-table entry bits in the low 32-bit word of a 64-bit entry. */
export const PTE = {
  P: 1 << 0,
  RW: 1 << 1,
  US: 1 << 2,
  PWT: 1 << 3,
  PCD: 1 << 4,
  A: 1 << 5,
  D: 1 << 6,
  PS: 1 << 7,
  G: 1 << 8,
  /** Software (OS-available bit 9): page is copy-on-write; RW is clear while it is set. */
  SW_COW: 1 << 9,
  /** Software (OS-available bit 10): page belongs to a shared mapping. */
  SW_SHARED: 1 << 10,
  /** Software (OS-available bit 11): reserved for the swap/reclaim work. */
  SW_SPARE: 1 << 11,
  /** PAT bit of a 2 MiB / 1 GiB leaf (bit 12); the PAT bit of a 4 KiB entry is bit 7. */
  PAT_LARGE: 1 << 12,
} as const;

/** Bits of the high 32-bit word of an entry (entry bit N is high bit N-32). */
export const PTE_HI = {
  /** Execute-disable, entry bit 63. */
  NX: 1 << 31 >>> 0,
  /** Frame-number bits 32..51 of the entry live in the low 20 bits of the high word. */
  ADDR_MASK: 0x000f_ffff,
} as const;

/** Status codes the core returns: 0 is success, failures are negative errno values. */
export const Status = {
  OK: 0,
  ENOENT: -2,
  ENOMEM: -12,
  EFAULT: -14,
  EEXIST: -17,
  EINVAL: -22,
} as const;

/** Paging features (control-register bits), as a bitmask passed to the core. */
export const Feature = {
  /** IA32_EFER.NXE: bit 63 of entries is execute-disable (else reserved). */
  NXE: 1 << 0,
  /** CR4.SMEP: supervisor instruction fetch from a user page faults. */
  SMEP: 1 << 1,
  /** CR4.SMAP: supervisor data access to a user page faults unless AC is set. */
  SMAP: 1 << 2,
  /** CR4.PCIDE: TLB entries are tagged with the 12-bit PCID. */
  PCIDE: 1 << 3,
  /** CR0.WP: supervisor writes obey read-only pages. */
  WP: 1 << 4,
} as const;

/** x86 page-fault error-code bits. */
export const PFEC = {
  P: 1 << 0,
  W: 1 << 1,
  U: 1 << 2,
  RSVD: 1 << 3,
  I: 1 << 4,
} as const;

/** Access kinds as stored in batch arrays. */
export const AccessKind = { READ: 0, WRITE: 1, EXECUTE: 2 } as const;

/** Indices into the shared Float64Array of counters. */
export const Counter = {
  HITS: 0,
  MISSES: 1,
  WALKS: 2,
  /** Whole-TLB or whole-PCID flushes (CR3 loads that flush, invpcid types 1-3). */
  FLUSHES: 3,
  /** Single-address invalidations (invlpg, invpcid type 0, fault invalidation). */
  INVLPG: 4,
  EVICTIONS: 5,
  /** Page faults raised by the access path. */
  FAULTS: 6,
  READS: 7,
  WRITES: 8,
  EXECUTES: 9,
  /** Bad page-table entries (naming a frame beyond RAM, frame 0 or a free frame) that an operation cleared. */
  BAD_ENTRIES: 10,
  /** Number of counters. */
  LENGTH: 16,
} as const;

/** Indices into the shared Float64Array that carries multi-value results out of the core. */
export const Result = {
  /** translate: physical address of the byte; access fault: faulting linear address (CR2). */
  A: 0,
  /** translate: leaf entry low word; access fault: error code. */
  B: 1,
  /** translate: leaf entry high word; access fault: access kind. */
  C: 2,
  /** translate: page-size shift (12, 21 or 30); unmap: frames freed. */
  D: 3,
  /** unmap: page tables freed; protect: leaves whose change needs a TLB flush (x86's pte_needs_flush). */
  E: 4,
  /** unmap, protect: start of the span to flush (the leaves cleared or changed, and each freed table's region base; 0 when nothing). */
  F: 5,
  /** unmap, protect: end of that span (exclusive). */
  G: 6,
  /** unmap, protect: the levels involved (FlushLevel bits), as Linux's mmu_gather records cleared_ptes/pmds/puds/p4ds. */
  H: 7,
  LENGTH: 8,
} as const;

/** Bits of Result.H: a 4 KiB leaf (PTE), a 2 MiB leaf or a freed page table (PMD), a 1 GiB leaf or a freed PD (PUD), a freed PDPT (P4D). */
export const FlushLevel = { PTE: 1, PMD: 2, PUD: 4, P4D: 8 } as const;

/**
 * The operations of core.tlbOps: TlbOp.FIELDS numbers each, [op, cpu, a, b, c, d].
 * INVLPG [pcid (0..4096), la, count, shift (12, 21, 30)]: INVLPG at la + k * 2^shift for k < count.
 * FLUSH_PCID [pcid]: INVPCID single context. FLUSH_ALL [includeGlobal 0|1]. LOAD_CR3 [root, pcid, noFlush 0|1].
 */
export const TlbOp = { INVLPG: 0, FLUSH_PCID: 1, FLUSH_ALL: 2, LOAD_CR3: 3, FIELDS: 6 } as const;

/** TLB entry flag bits (the `flags` Uint8Array of the TLB arrays). */
export const TlbFlag = {
  VALID: 1 << 0,
  WRITABLE: 1 << 1,
  USER: 1 << 2,
  NX: 1 << 3,
  DIRTY: 1 << 4,
  GLOBAL: 1 << 5,
} as const;

/** Page-size classes used in TLB keys. */
export const SizeClass = { K4: 0, M2: 1, G1: 2 } as const;

/** The PCID tag stored in the key of a global TLB entry (PCIDs are 0..4095). */
export const GLOBAL_TAG = 4096;

/** log2 of PAGE_SIZE. */
export const PAGE_SHIFT = 12;
/** Size of a frame and of a small page. */
export const PAGE_SIZE = 4096;
/** Start of the kernel half in linear addresses (the user half is [0, 2^47)). */
export const TWO47 = 2 ** 47;
/** Size of the 48-bit linear address space. */
export const TWO48 = 2 ** 48;
/** Bits of a 64-bit entry that hold the frame's physical address (12-51). */
export const ADDR_MASK = 0x000f_ffff_ffff_f000;
/** Low-word attribute bits a leaf takes from its caller: RW US PWT PCD A D G and bits 9-11 (not P, PS, PAT_LARGE). */
export const ATTR_LO = 0xf7e;
/** Intermediate entries the core creates in the user half: P|RW|US|A|D (leaves carry the protection). */
export const INTER_USER = 0x67;
/** Intermediate entries of the kernel half: P|RW|A|D. */
export const INTER_KERNEL = 0x63;

/**
 * The packed trace record (src/trace/trace-record.ts): two uint32 words, lo = address bits 0-31,
 * hi = address bits 32-47 | kind << KIND_SHIFT | (size - 1) << SIZE_SHIFT, bits from RESERVED_SHIFT zero.
 */
export const TraceRecord = { ADDR_HI_MASK: 0xffff, KIND_SHIFT: 16, KIND_MASK: 3, SIZE_SHIFT: 18, SIZE_MASK: 0xfff, RESERVED_SHIFT: 30 } as const;
/** Bytes of simulated RAM per RAM chunk exposed to JS (the last chunk may be shorter). */
export const CHUNK_SHIFT = 30;
export const CHUNK_BYTES = 2 ** CHUNK_SHIFT;

/** Indices of the record counts traceBatch adds into its `out` array. */
export const TraceOut = {
  LOADS: 0,
  STORES: 1,
  INSTRS: 2,
  MODIFIES: 3,
  /** Records that crossed a page boundary (two accesses). */
  SPLITS: 4,
  LENGTH: 5,
} as const;

/** Flags of core.pageBits per page (ACCESSED and DIRTY equal the reclaim policies' ACCESSED/DIRTY; SHARED: the frame has more than one reference). */
export const PageBit = { ACCESSED: 1, DIRTY: 2, PRESENT: 4, LARGE: 8, SWAP: 16, SHARED: 32, WRITABLE: 64 } as const;
