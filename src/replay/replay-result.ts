/** What a replay reports: one plain, JSON-ready object. */
import type { TraceFormat } from '../trace/trace-reader-types.js';
import type { WindowResult } from './measure-window.js';
import type { ProgramResult } from './program/program-result.js';

/** Hits and misses of one TLB array (one row per structure). */
export interface TlbLevelResult {
  /** 'tlb' (the unified TLB), or a hierarchy array: 'l1i', 'l1i-2m', 'l1d', 'l1d-2m', 'l1d-1g', 'stlb', 'stlb-1g', 'l2i', 'pwc-pml4e', 'pwc-pdpte', 'pwc-pde'. */
  name: string;
  /** The level the array belongs to (hierarchy rows). */
  level?: 'l1i' | 'l1d' | 'stlb' | 'l2i' | 'pwc';
  entries: number;
  ways: number;
  /** Page sizes held, e.g. '4k+2m' (for a walk cache, the entry it caches: 'pml4', 'pdpt', 'pd'). */
  pageSize?: string;
  policy?: string;
  hits: number;
  /** A level's misses are counted at the array holding the page's size (docs/tlb-hierarchy.md). */
  misses: number;
  missRate?: number;
  fills?: number;
  evictions?: number;
}

/** Level totals of a TLB hierarchy. */
export interface LevelTotals {
  present: boolean;
  lookups: number;
  hits: number;
  misses: number;
  missRate: number;
}

/** What a replay through a TLB hierarchy adds. */
export interface HierarchyResult {
  cpu?: string;
  l1i: LevelTotals;
  l1d: LevelTotals;
  /** The shared second level: data, and fetches when there is no L2 ITLB (`byKind` splits them). */
  stlb: LevelTotals & { byKind: { instruction: { hits: number; misses: number }; data: { hits: number; misses: number } } };
  /** The second-level instruction TLB (AMD's L2 ITLB), which fetches look up instead of `stlb`; `present: false` without one. */
  l2i: LevelTotals;
  /** Walks the hierarchy started, by kind; those that faulted; hits that needed a walk (a write through a clean or read-only entry). */
  walks: { instruction: number; data: number; faulting: number; assists: number };
  /** Memory references of walks by the level read. */
  walkReferences: { pml4e: number; pdpte: number; pde: number; pte: number; total: number; perWalk: number };
  cost: {
    translationCycles: number;
    cyclesPerAccess: number;
    /** Cycles a lookup that reached the second level costs beyond its L1 lookup (second level, walk caches, walk references); without a second level, per L1 miss. */
    averageMissCycles: number;
    averageWalkCycles: number;
    latencies: Record<string, number>;
    walkReference: number[];
  };
  /** Misses per 1000 instructions (instruction-fetch records), when the trace has them. */
  mpki?: { l1i: number; l1d: number; stlb: number; l2i?: number; walks: number };
}

/**
 * Miss rates over time: one point per `every` accesses (rates within the window). With a
 * hierarchy each point has the L1I, L1D and second-level rates (`stlbMissRate`: the L2 ITLB's
 * lookups included); with the single TLB, `tlbMissRate`. `missesPerAccess`: TLB misses of the
 * last level (walks started) per trace record.
 */
export interface SeriesResult {
  every: number;
  points: Array<{ accesses: number; l1iMissRate?: number; l1dMissRate?: number; stlbMissRate?: number; tlbMissRate?: number; missesPerAccess: number }>;
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
  trace: {
    source: string;
    format: TraceFormat | 'records';
    gzip: boolean;
    compression?: 'none' | 'gzip' | 'xz' | 'zstd';
    records: number;
    skipped: number;
    ignoredLines: number;
    bytes: number;
    /** `vmsim replay --record`: milliseconds of the replay's wall time not spent computing (waiting for valgrind to produce the trace); left out of nsPerAccess. */
    waitMs?: number;
  };
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
    /** With a TLB hierarchy: level totals, walks by kind and level, cost, MPKI. */
    hierarchy?: HierarchyResult;
  };
  /** With seriesEvery: miss rates per window. */
  series?: SeriesResult;
  /**
   * With `warmup` or `simulate` (ChampSim's windows): what N counted ('instructions': the
   * trace's instruction fetches; 'accesses' for a trace without any) and how many ran
   * uncounted, then counted. Every count in this result is the counted window's; `pagesTouched`,
   * `bytesTouched`, `framesUsed` and `regions` are the whole run's.
   */
  window?: WindowResult;
  /** A recorded program's replay (a trace with processes): each process and thread, each CPU, the system calls' agreement with the recording. The totals above are the whole tree's. */
  program?: ProgramResult;
  /** Page walks, including the walks of faulting accesses and their retries. */
  walks: number;
  /** With paging-structure caches: memory references made by walks, and each cache's hits. */
  pwc?: { walkReferences: number; levels: PwcLevelResult[] };
  /**
   * Page faults, split two ways: by what they did (`total` = `pageIns` + `writeProtect` +
   * `segv`) and as Linux counts them (`minor` + `major` = `pageIns` + `writeProtect`, perf's
   * page-faults). A textbook (and faultCurve) counts `pageIns` only.
   */
  faults: {
    /** Page faults the hardware raised. */
    total: number;
    /**
     * Faults on a not-present page, each of which brought a page in (a 4 KiB page, or 2 MiB with
     * pageSize '2m'): first touches, and with `frames` re-references after eviction (then equal to `resident.pageIns`).
     */
    pageIns: number;
    /** Write faults on a present read-only page: a write to a page mapped as the zero page, or to a copy-on-write page (`cow`). They bring no page in. */
    writeProtect: number;
    /** Faults resolved without I/O (demand zero, zero page, writes to zero-page and COW pages, swap-cache hits), as Linux's min_flt. */
    minor: number;
    /** Faults that read the page back from swap (0 without a resident limit), as Linux's maj_flt. */
    major: number;
    /** Write faults on copy-on-write pages (a write to a zero-page mapping is not one). */
    cow: number;
    /** Accesses refused (SIGSEGV); the replay skipped them. */
    segv: number;
  };
  /** Under a resident limit (`frames`): pages read from / written to swap (zswap included), evictions without and with a write. */
  swap?: { in: number; out: number; zswap?: { storedPages: number; compressedBytes: number; ratio: number } };
  evictions?: { clean: number; dirty: number };
  /**
   * Under a resident limit (`frames`): the limit, the policy, the pages resident at the end, and
   * page-ins (`pages` + evictions: first touches + re-references after eviction, a textbook's
   * page faults and faultCurve's `faults`; equal to `faults.pageIns`).
   */
  resident?: { frames: number; policy: string; pages: number; pageIns: number };
  /** First few refused accesses. */
  segfaults: Array<{ address: string; access: string; cause: string }>;
  pageSize: '4k' | '2m';
  /**
   * Distinct pages accessed (leaf entries with the Accessed bit set; a 2 MiB page counts once,
   * so with pageSize '2m' this mixes sizes: `pagesTouchedBySize` splits it). Under a resident
   * limit (`frames`), the distinct pages the replay faulted in, counted as they came (most are
   * evicted by the end); a page `setup` left resident that the trace only hit is not among them.
   */
  pagesTouched: number;
  /** `pagesTouched` by page size: 2 MiB pages (THPs, only with pageSize '2m') and 4 KiB pages (where a 2 MiB page did not fit). */
  pagesTouchedBySize: { '4k': number; '2m': number };
  /** Bytes those pages cover (a 2 MiB page counts 2 MiB). */
  bytesTouched: number;
  /** Physical frames the replay allocated (data pages and page tables). */
  framesUsed: number;
  /** Regions of the process at the end. */
  regions: number;
  backend: 'native' | 'js';
  /** A replay from a snapshot (options.from): which, and whether its TLBs were kept or, of another geometry than this replay's, started empty. Counts are the trace's; pagesTouched and bytesTouched are the process's since it began. */
  from?: { snapshot: string; tlbs: 'kept' | 'emptied' };
  timeMs: number;
  nsPerAccess: number;
}
