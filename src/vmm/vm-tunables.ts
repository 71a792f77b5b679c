/**
 * The machine's /proc/sys/vm knobs (and the two that live elsewhere on Linux: a block device's
 * read_ahead_kb and debugfs's fault_around_bytes), validated once at machine construction.
 * Names are the sysctls' in camel case; ranges are the kernel's (proc_dointvec_minmax bounds).
 */
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { strictOptions } from '../strict-options.js';
import type { VmOptions } from '../machine/options.js';

/** The resolved tunables. */
export interface VmTunables {
  /** vm.swappiness: 0-200 (MAX_SWAPPINESS), the relative cost of swapping anonymous pages against reloading file pages. */
  readonly swappiness: number;
  /** vm.dirty_ratio: percent of dirtyable memory at which writers are throttled. */
  readonly dirtyRatio: number;
  /** vm.dirty_background_ratio: percent of dirtyable memory at which the flusher starts writing back. */
  readonly dirtyBackgroundRatio: number;
  /** vm.dirty_expire_centisecs: dirty data older than this is written by the periodic flusher. */
  readonly dirtyExpireCentisecs: number;
  /** vm.dirty_writeback_centisecs: the flusher's period (0: no periodic writeback). */
  readonly dirtyWritebackCentisecs: number;
  /** /sys/block/DEV/queue/read_ahead_kb: the largest readahead window, in KiB (0: no readahead). */
  readonly readAheadKb: number;
  /** fault_around_bytes (debugfs): the read fault-around window, rounded down to a power of two pages. */
  readonly faultAroundBytes: number;
  /** vm.page-cluster: swap readahead reads up to 2^pageCluster slots (0: none). */
  readonly pageCluster: number;
  /** /sys/kernel/mm/lru_gen/enabled: the multi-generation LRU for page cache and shared memory pages, and processes' default policy. */
  readonly lruGen: boolean;
}

/** Linux's defaults. */
export const VM_DEFAULTS: VmTunables = Object.freeze({
  swappiness: 60,
  dirtyRatio: 20,
  dirtyBackgroundRatio: 10,
  dirtyExpireCentisecs: 3000,
  dirtyWritebackCentisecs: 500,
  readAheadKb: 128,
  faultAroundBytes: 65536,
  pageCluster: 3,
  lruGen: false,
});

const KEYS = Object.keys(VM_DEFAULTS);

/** The largest fault-around window: one page table's pages (PTRS_PER_PTE * PAGE_SIZE), as fault_around_bytes_set allows. */
const MAX_FAULT_AROUND = 512 * 4096;

function intIn(v: unknown, key: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new VmmError('EINVAL', `options.vm.${key} must be a whole number from ${min} to ${max}, got ${describe(v)}`);
  return v;
}

function bool(v: unknown, key: string): boolean {
  if (typeof v !== 'boolean') throw new VmmError('EINVAL', `options.vm.${key} must be true or false, got ${describe(v)}`);
  return v;
}

/** Validates `options.vm` (EINVAL naming the key) and fills in Linux's defaults. */
export function resolveVmTunables(given: VmOptions | undefined): VmTunables {
  strictOptions(given, 'options.vm', KEYS);
  const g = (given ?? {}) as Record<string, unknown>;
  const pick = (k: Exclude<keyof VmTunables, 'lruGen'>, min: number, max: number): number => (g[k] === undefined ? VM_DEFAULTS[k] : intIn(g[k], k, min, max));
  return {
    swappiness: pick('swappiness', 0, 200),
    dirtyRatio: pick('dirtyRatio', 0, 100),
    dirtyBackgroundRatio: pick('dirtyBackgroundRatio', 0, 100),
    dirtyExpireCentisecs: pick('dirtyExpireCentisecs', 0, 2 ** 31 - 1),
    dirtyWritebackCentisecs: pick('dirtyWritebackCentisecs', 0, 2 ** 31 - 1),
    readAheadKb: pick('readAheadKb', 0, 2 ** 31 - 1),
    faultAroundBytes: pick('faultAroundBytes', 0, MAX_FAULT_AROUND),
    pageCluster: pick('pageCluster', 0, 10),
    lruGen: g.lruGen === undefined ? false : bool(g.lruGen, 'lruGen'),
  };
}

/** fault_around_pages: fault_around_bytes rounded down to a power of two, in pages, at least 1 (1: no fault-around). */
export function faultAroundPages(bytes: number): number {
  let p = 1;
  while (p * 2 * 4096 <= bytes) p *= 2;
  return p;
}
