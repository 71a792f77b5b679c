/** Machine options as users give them, and their validated, resolved form. */
import { Feature } from '../core/constants.js';
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { strictOptions } from '../strict-options.js';
import type { SwapOptions } from '../reclaim/swap-options.js';
import type { OomKill } from '../reclaim/oom-report.js';
import { resolveTlb, type TlbOptions } from '../tlb/tlb-options.js';
import type { ResolvedHierarchy } from '../tlb/hierarchy-options.js';
import { DEFAULT_SHOOTDOWN_COST, type ShootdownCost } from './shootdown-cost.js';
import { SINGLE_PAGE_FLUSH_CEILING } from './tlb-policy.js';

/** Which core runs the hot paths. 'auto' picks native when the addon loads, else js. */
export type BackendName = 'native' | 'js' | 'auto';

/** How remote TLBs are invalidated (docs/multiprocessor.md). */
export type ShootdownMechanism = 'ipi' | 'invlpgb' | 'none';

/** Options of the TLB shootdown machinery. */
export interface ShootdownOptions {
  /**
   * 'ipi' (default): Linux's IPIs (native_flush_tlb_multi). 'invlpgb': AMD's broadcast INVLPGB
   * for processes Linux gives a global ASID (active on more than 3 CPUs at once), IPIs for the
   * others. 'none': a what-if — remote CPUs are flushed as the IPIs would, with no IPI and no cost.
   */
  mechanism?: ShootdownMechanism;
  /** KVM's paravirtual flush (kvm_flush_tlb_multi): no IPI to an idle (preempted) vCPU; the host flushes its whole TLB at its next entry. Default false (native Linux). */
  paravirt?: boolean;
  /** tlb_single_page_flush_ceiling: a range of more pages than this is flushed whole (default 33). */
  ceiling?: number;
  /** INVLPGB's per-instruction page limit (invlpgb_count_max, from CPUID 0x80000008 EDX; default 8). */
  invlpgbCountMax?: number;
  /** Cycles per event (defaults: DEFAULT_SHOOTDOWN_COST, docs/multiprocessor.md). */
  cost?: Partial<ShootdownCost>;
}

/** Validated shootdown options. */
export interface ResolvedShootdown {
  mechanism: ShootdownMechanism;
  paravirt: boolean;
  ceiling: number;
  invlpgbCountMax: number;
  cost: ShootdownCost;
}

/** Options of `new Machine()`. */
export interface MachineOptions {
  /** Simulated RAM in bytes, or a string like '1GiB', '64GiB', '512MiB' (default 1 GiB). */
  memory?: number | string;
  /** Number of CPUs, 1 to 256 (default 1). They share physical memory, page tables and the VMM; each has its own TLB, CR3, ASIDs and counters. */
  cpus?: number;
  /** Each CPU's TLB hierarchy from a preset (skylake, golden-cove, zen3, zen4, champsim, virtuoso), overridden field by field by `tlb` (docs/tlb-hierarchy.md). */
  cpu?: string;
  /**
   * Each CPU's TLB: `{ entries, ways }` for one unified TLB (default 64 entries, 4 ways; ways =
   * entries is fully associative), or any L1/second-level/walk-cache array (or `cpu`) for the
   * hierarchy replay uses — the same description (TlbOptions).
   */
  tlb?: TlbOptions;
  /** How CPUs tag address spaces: 'linux' (default; 6 dynamic ASIDs per CPU, as Linux) or 'static' (a PCID per space for its life). */
  asids?: 'linux' | 'static';
  /** TLB shootdowns: mechanism, KVM's paravirtual flush, the single-page flush ceiling, the cost model. */
  shootdown?: ShootdownOptions;
  /** Paging features. Defaults: nx, pcid and wp on; smep and smap off. */
  features?: { nx?: boolean; smep?: boolean; smap?: boolean; pcid?: boolean; wp?: boolean };
  /** Backend (default 'auto'). */
  backend?: BackendName;
  /**
   * 'lazy' (default): host memory is committed when a frame is first touched, so a huge machine
   * costs nothing up front. 'eager': all of it is committed at construction, so no access pays
   * a host page fault — steadier timings for benchmarks, as a real machine's RAM exists already.
   */
  hostMemory?: 'lazy' | 'eager';
  /** vm.max_map_count: the most regions one address space may have (default 65530, as Linux); beyond it mmap, mprotect and munmap fail with ENOMEM. */
  maxMapCount?: number;
  /** Size of /dev/shm (tmpfs size=), where named shared memory objects keep their pages: bytes or a string like '512MiB' (default half of memory, as tmpfs). */
  shmSize?: number | string;
  /** A swap device: `{ size, file?, zswap?, pageCluster? }` (none by default; see docs/reclaim.md). With it, every process's pages are reclaimable and the machine reclaims as Linux does. */
  swap?: SwapOptions;
  /** Free-page watermarks in pages (default: computed as Linux computes them from the memory size). Needs swap. */
  watermarks?: { min?: number; low?: number; high?: number };
  /** Called at each OOM kill, global or memory cgroup (the event is also in machine.oomKills()). */
  onOomKill?: (event: OomKill) => void;
  /**
   * vm.overcommit_memory (`mode`: 0 heuristic, the default; 1 always; 2 never), vm.overcommit_ratio
   * (default 50) and vm.overcommit_kbytes (default 0); machine.setOvercommit() changes them later.
   */
  overcommit?: { mode?: 0 | 1 | 2; ratio?: number; kbytes?: number };
  /**
   * Address-space layout randomization (randomize_va_space 2): `{ seed }` randomizes each new
   * process image's stack, mmap base and heap with Linux's entropy, reproducibly from the seed.
   * Off by default (false): the layout is Linux's with randomization disabled.
   */
  aslr?: false | { seed: number };
  /** The VMM's tunables, named after Linux's sysctls (see VmOptions; defaults are Linux's). */
  vm?: VmOptions;
}

/**
 * The VMM's tunables as users give them: Linux's /proc/sys/vm names in camel case (and the
 * block device's read_ahead_kb, debugfs's fault_around_bytes). Each defaults to Linux's value.
 */
export interface VmOptions {
  /** vm.swappiness, 0-200 (default 60): how much reclaim prefers swapping anonymous pages over dropping file pages (100: equal cost). */
  swappiness?: number;
  /** vm.dirty_ratio, percent (default 20): above it, writers are throttled until writeback catches up. */
  dirtyRatio?: number;
  /** vm.dirty_background_ratio, percent (default 10): above it, the flusher writes back in the background. */
  dirtyBackgroundRatio?: number;
  /** vm.dirty_expire_centisecs (default 3000): dirty data older than this is written by the flusher's next run. */
  dirtyExpireCentisecs?: number;
  /** vm.dirty_writeback_centisecs (default 500): the flusher's period in simulated time; 0 disables periodic writeback. */
  dirtyWritebackCentisecs?: number;
  /** read_ahead_kb of the disk (default 128): the largest file readahead window; 0 disables readahead. */
  readAheadKb?: number;
  /** fault_around_bytes (default 65536): a read fault maps the cached pages of this aligned window; 4096 or less disables it. */
  faultAroundBytes?: number;
  /** vm.page-cluster, 0-10 (default 3): swap readahead reads up to 2^pageCluster slots (also settable as swap.pageCluster). */
  pageCluster?: number;
  /**
   * /sys/kernel/mm/lru_gen/enabled (default false): the multi-generation LRU for file pages (the
   * page cache's generations replace its active and inactive lists), for shared memory, and as
   * the replacement policy of processes that do not name one ('mglru').
   */
  lruGen?: boolean;
}

/** Validated options. */
export interface ResolvedOptions {
  memoryBytes: number;
  cpus: number;
  tlbEntries: number;
  tlbWays: number;
  tlbSets: number;
  /** Each CPU's TLB hierarchy, when the options ask for one. */
  hierarchy?: ResolvedHierarchy;
  asids: 'linux' | 'static';
  shootdown: ResolvedShootdown;
  features: number;
  backend: BackendName;
  hostMemory: 'lazy' | 'eager';
  maxMapCount: number;
  shmBytes: number;
}

/** Linux's DEFAULT_MAX_MAP_COUNT (USHRT_MAX - 5): vm.max_map_count's default. */
const DEFAULT_MAX_MAP_COUNT = 65530;

const MIN_MEMORY = 2 ** 21;
const MAX_MEMORY = 2 ** 40;
const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, kib: 2 ** 10, m: 2 ** 20, mib: 2 ** 20, g: 2 ** 30, gib: 2 ** 30, t: 2 ** 40, tib: 2 ** 40 };

/** Parses '64GiB' / '512m' / 4096 into bytes; EINVAL names `arg`. */
export function parseSize(value: unknown, arg: string): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new VmmError('EINVAL', `${arg} ${value} is not a non-negative integer byte count`);
    return value;
  }
  if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
    const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
    if (!m || unit === undefined) throw new VmmError('EINVAL', `${arg} ${JSON.stringify(value)} is not a size like '1GiB' or '512MiB'`);
    const bytes = Number(m[1]) * unit;
    if (!Number.isSafeInteger(bytes)) throw new VmmError('EINVAL', `${arg} ${JSON.stringify(value)} is not a whole number of bytes`);
    return bytes;
  }
  throw new VmmError('EINVAL', `${arg} must be a number of bytes or a string like '1GiB', got ${describe(value)}`);
}

function flag(v: unknown, arg: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new VmmError('EINVAL', `${arg} must be a boolean, got ${describe(v)}`);
  return v;
}

/** Validates machine options and fills in defaults. */
export function resolveOptions(opts: MachineOptions = {}): ResolvedOptions {
  strictOptions(opts, 'options', ['memory', 'cpus', 'cpu', 'tlb', 'asids', 'shootdown', 'features', 'backend', 'hostMemory', 'maxMapCount', 'shmSize', 'swap', 'watermarks', 'onOomKill', 'overcommit', 'aslr', 'vm']);
  const memoryBytes = parseSize(opts.memory ?? 2 ** 30, 'options.memory');
  if (memoryBytes % 4096 !== 0) throw new VmmError('EINVAL', `options.memory ${memoryBytes} is not a multiple of 4096`);
  if (memoryBytes < MIN_MEMORY || memoryBytes > MAX_MEMORY) {
    throw new VmmError('EINVAL', `options.memory ${memoryBytes} is out of range [2 MiB, 1 TiB]`);
  }
  const cpus = opts.cpus ?? 1;
  if (typeof cpus !== 'number' || !Number.isInteger(cpus) || cpus < 1 || cpus > 256) throw new VmmError('EINVAL', `options.cpus must be an integer in [1, 256], got ${describe(opts.cpus)}`);
  const { tlb, hierarchy } = resolveTlb(opts.tlb, opts.cpu, 'options.tlb', 'options.cpu');
  const entries = tlb.entries;
  const ways = tlb.ways;
  const asids = opts.asids ?? 'linux';
  if (asids !== 'linux' && asids !== 'static') throw new VmmError('EINVAL', `options.asids must be 'linux' or 'static', got ${describe(opts.asids)}`);
  const shootdown = resolveShootdown(opts.shootdown);
  if (asids === 'static' && shootdown.mechanism === 'invlpgb') throw new VmmError('EINVAL', "options.shootdown.mechanism 'invlpgb' needs options.asids 'linux' (INVLPGB flushes the global ASIDs Linux hands out)");
  const f = opts.features ?? {};
  strictOptions(f, 'options.features', ['nx', 'smep', 'smap', 'pcid', 'wp']);
  let features = 0;
  if (flag(f.nx, 'options.features.nx', true)) features |= Feature.NXE;
  if (flag(f.smep, 'options.features.smep', false)) features |= Feature.SMEP;
  if (flag(f.smap, 'options.features.smap', false)) features |= Feature.SMAP;
  if (flag(f.pcid, 'options.features.pcid', true)) features |= Feature.PCIDE;
  if (flag(f.wp, 'options.features.wp', true)) features |= Feature.WP;
  const backend = opts.backend ?? 'auto';
  if (backend !== 'native' && backend !== 'js' && backend !== 'auto') {
    throw new VmmError('EINVAL', `options.backend must be 'native', 'js' or 'auto', got ${describe(backend)}`);
  }
  const hostMemory = opts.hostMemory ?? 'lazy';
  if (hostMemory !== 'lazy' && hostMemory !== 'eager') throw new VmmError('EINVAL', `options.hostMemory must be 'lazy' or 'eager', got ${describe(hostMemory)}`);
  const maxMapCount = opts.maxMapCount === undefined ? DEFAULT_MAX_MAP_COUNT : opts.maxMapCount;
  // A sysctl int: 0 to INT_MAX.
  if (!Number.isSafeInteger(maxMapCount) || maxMapCount < 0 || maxMapCount > 2 ** 31 - 1) throw new VmmError('EINVAL', `options.maxMapCount must be an integer in [0, 2^31 - 1], got ${describe(maxMapCount)}`);
  // Whole pages, as tmpfs counts blocks; the default is tmpfs's: half of RAM.
  const shmBytes = opts.shmSize === undefined ? Math.floor(memoryBytes / 2 / 4096) * 4096 : Math.ceil(parseSize(opts.shmSize, 'options.shmSize') / 4096) * 4096;
  return { memoryBytes, cpus, tlbEntries: entries, tlbWays: ways, tlbSets: entries / ways, ...(hierarchy ? { hierarchy } : {}), asids, shootdown, features, backend, hostMemory, maxMapCount, shmBytes };
}

const COST_KEYS = Object.keys(DEFAULT_SHOOTDOWN_COST);

/** Validates the shootdown options and fills in defaults. */
function resolveShootdown(o: ShootdownOptions | undefined): ResolvedShootdown {
  const s = o ?? {};
  strictOptions(s, 'options.shootdown', ['mechanism', 'paravirt', 'ceiling', 'invlpgbCountMax', 'cost']);
  const mechanism = s.mechanism ?? 'ipi';
  if (mechanism !== 'ipi' && mechanism !== 'invlpgb' && mechanism !== 'none') throw new VmmError('EINVAL', `options.shootdown.mechanism must be 'ipi', 'invlpgb' or 'none', got ${describe(s.mechanism)}`);
  const paravirt = flag(s.paravirt, 'options.shootdown.paravirt', false);
  const ceiling = s.ceiling ?? SINGLE_PAGE_FLUSH_CEILING;
  // The debugfs knob takes any int >= 0 (tlbflush_write_file refuses negatives).
  if (typeof ceiling !== 'number' || !Number.isSafeInteger(ceiling) || ceiling < 0) throw new VmmError('EINVAL', `options.shootdown.ceiling must be a whole number of pages >= 0, got ${describe(s.ceiling)}`);
  const invlpgbCountMax = s.invlpgbCountMax ?? 8;
  if (typeof invlpgbCountMax !== 'number' || !Number.isInteger(invlpgbCountMax) || invlpgbCountMax < 1 || invlpgbCountMax > 65536) throw new VmmError('EINVAL', `options.shootdown.invlpgbCountMax must be an integer in [1, 65536], got ${describe(s.invlpgbCountMax)}`);
  const cost: ShootdownCost = { ...DEFAULT_SHOOTDOWN_COST };
  if (s.cost !== undefined) {
    strictOptions(s.cost, 'options.shootdown.cost', COST_KEYS);
    for (const k of COST_KEYS as (keyof ShootdownCost)[]) {
      const v = s.cost[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new VmmError('EINVAL', `options.shootdown.cost.${k} must be a non-negative number of cycles, got ${describe(v)}`);
      cost[k] = v;
    }
  }
  return { mechanism, paravirt, ceiling, invlpgbCountMax, cost };
}
