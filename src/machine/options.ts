/** Machine options as users give them, and their validated, resolved form. */
import { Feature } from '../core/constants.js';
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { strictOptions } from '../strict-options.js';
import type { SwapOptions } from '../reclaim/swap-options.js';
import type { OomKill } from '../reclaim/oom-report.js';

/** Which core runs the hot paths. 'auto' picks native when the addon loads, else js. */
export type BackendName = 'native' | 'js' | 'auto';

/** Options of `new Machine()`. */
export interface MachineOptions {
  /** Simulated RAM in bytes, or a string like '1GiB', '64GiB', '512MiB' (default 1 GiB). */
  memory?: number | string;
  /** TLB shape: total entries and ways per set (ways = entries is fully associative). Default 64 entries, 4 ways. */
  tlb?: { entries?: number; ways?: number };
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
  tlbEntries: number;
  tlbWays: number;
  tlbSets: number;
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
  strictOptions(opts, 'options', ['memory', 'tlb', 'features', 'backend', 'hostMemory', 'maxMapCount', 'shmSize', 'swap', 'watermarks', 'onOomKill', 'vm']);
  const memoryBytes = parseSize(opts.memory ?? 2 ** 30, 'options.memory');
  if (memoryBytes % 4096 !== 0) throw new VmmError('EINVAL', `options.memory ${memoryBytes} is not a multiple of 4096`);
  if (memoryBytes < MIN_MEMORY || memoryBytes > MAX_MEMORY) {
    throw new VmmError('EINVAL', `options.memory ${memoryBytes} is out of range [2 MiB, 1 TiB]`);
  }
  const tlb = opts.tlb ?? {};
  strictOptions(tlb, 'options.tlb', ['entries', 'ways']);
  const entries = tlb.entries ?? 64;
  const ways = tlb.ways ?? Math.min(4, entries);
  if (!Number.isInteger(entries) || entries < 1 || entries > 1 << 20) throw new VmmError('EINVAL', `options.tlb.entries ${String(entries)} must be an integer in [1, 1048576]`);
  if (!Number.isInteger(ways) || ways < 1 || ways > entries) throw new VmmError('EINVAL', `options.tlb.ways ${String(ways)} must be an integer in [1, entries=${entries}]`);
  if (entries % ways !== 0) throw new VmmError('EINVAL', `options.tlb.entries ${entries} is not a multiple of options.tlb.ways ${ways}`);
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
  return { memoryBytes, tlbEntries: entries, tlbWays: ways, tlbSets: entries / ways, features, backend, hostMemory, maxMapCount, shmBytes };
}
