/** What a replay reports: one plain, JSON-ready object. */

/** Hits and misses of one TLB level. */
export interface TlbLevelResult {
  /** 'tlb' (unified), or 'l1i', 'l1d', 'l2'. */
  name: string;
  entries: number;
  ways: number;
  hits: number;
  misses: number;
}

/** Hits and misses of one paging-structure cache. */
export interface PwcLevelResult {
  name: 'pml4' | 'pdpt' | 'pd';
  entries: number;
  hits: number;
  misses: number;
}

/** The outcome of replay(). Counts are exact; `timeMs` is the only measured value. */
export interface ReplayResult {
  trace: { source: string; format: 'lackey' | 'binary' | 'records'; gzip: boolean; records: number; skipped: number; ignoredLines: number; bytes: number };
  /** Trace records replayed (each is one instruction fetch, load, store or modify). */
  accesses: number;
  byKind: { instructions: number; loads: number; stores: number; modifies: number };
  /** Records that crossed a page boundary (each makes two TLB lookups). */
  pageCrossing: number;
  tlb: {
    /** TLB lookups: one per page a record touches. */
    lookups: number;
    /** Lookups that hit some level. */
    hits: number;
    /** Lookups that missed every level (each needed a page walk). */
    misses: number;
    missRate: number;
    /** Accesses re-executed after a resolved page fault: counted here, not as lookups or misses (machine.stats().tlb.retries counts the same). */
    retries: number;
    levels: TlbLevelResult[];
  };
  /** Page walks, including the walks of faulting accesses and their retries. */
  walks: number;
  /** With paging-structure caches: memory references made by walks, and each cache's hits. */
  pwc?: { walkReferences: number; levels: PwcLevelResult[] };
  faults: {
    /** Page faults the hardware raised. */
    total: number;
    /** Resolved by mapping a page (demand zero, zero page, shared page). */
    minor: number;
    /** Faults that read the page back from swap (0 without a resident limit). */
    major: number;
    /** Write faults on copy-on-write pages. */
    cow: number;
    /** Accesses refused (SIGSEGV); the replay skipped them. */
    segv: number;
  };
  /** Under a resident limit (`frames`): pages read from / written to swap (zswap included), evictions without and with a write. */
  swap?: { in: number; out: number; zswap?: { storedPages: number; compressedBytes: number; ratio: number } };
  evictions?: { clean: number; dirty: number };
  /** The limit, the policy, the pages resident at the end, and page-ins (first touches + re-references after eviction: a textbook's page faults). */
  resident?: { frames: number; policy: string; pages: number; pageIns: number };
  /** First few refused accesses. */
  segfaults: Array<{ address: string; access: string; cause: string }>;
  pageSize: '4k' | '2m';
  /** Distinct pages accessed (leaf entries with the Accessed bit set; a 2 MiB page counts once). */
  pagesTouched: number;
  /** Bytes those pages cover. */
  bytesTouched: number;
  /** Physical frames the replay allocated (data pages and page tables). */
  framesUsed: number;
  /** Regions of the process at the end. */
  regions: number;
  backend: 'native' | 'js';
  timeMs: number;
  nsPerAccess: number;
}
