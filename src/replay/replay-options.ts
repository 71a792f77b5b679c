/** Options of a trace replay as users give them, and their validated form. */
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import type { AddressSpace } from '../vmm/address-space.js';
import type { BackendName, VmOptions } from '../machine/options.js';
import type { ResolvedHierarchy, TlbArrayOptions } from '../tlb/hierarchy-options.js';
import { resolveTlb, type LevelConfig, type TlbOptions } from '../tlb/tlb-options.js';
import type { PolicyName, PolicyOptions, ReclaimPolicy } from '../reclaim/policy.js';
import type { SwapOptions } from '../reclaim/swap-area.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import { checkSnapshotOptions } from './snapshot-options.js';

/** One TLB level: total entries and ways per set (ways = entries: fully associative), and optionally its policy, page sizes, seed and latency. */
export type TlbLevelOptions = TlbArrayOptions;

/** The TLB of an experiment: the same description a machine takes (`new Machine({ cpu, tlb })`; src/tlb/tlb-options.ts). */
export type ReplayTlbOptions = TlbOptions;

/** Options of replay(). */
export interface ReplayOptions {
  tlb?: ReplayTlbOptions;
  /** A CPU preset (skylake, golden-cove, zen3, zen4, champsim, virtuoso): its TLB hierarchy, overridden field by field by `tlb`. */
  cpu?: string;
  /** Record the miss rates every N accesses (result.series). */
  seriesEvery?: number;
  /** Page size the process's memory is mapped with (default '4k'; '2m' uses transparent huge pages). */
  pageSize?: '4k' | '2m';
  /**
   * 'anon' (default): every touched page is anonymous read-write-execute memory, mapped on
   * demand. 'regions': only the regions `setup` created exist; other accesses are counted
   * as segmentation faults and skipped.
   */
  mode?: 'anon' | 'regions';
  /** Called with the fresh address space before the replay (create regions here). */
  setup?: (space: AddressSpace) => void;
  /** Called with the address space after the replay, before the machine is disposed. */
  onFinish?: (space: AddressSpace) => void;
  backend?: BackendName;
  /** Simulated RAM (default '64GiB': reserved, not committed, so only touched frames cost host memory). */
  memory?: number | string;
  /** The machine's vm tunables (swappiness, readAheadKb, faultAroundBytes, ...: MachineOptions.vm). */
  vm?: VmOptions;
  /** Stop at the first malformed line or record (default: count it as skipped and go on). */
  strict?: boolean;
  /** Called with each skipped line's error (non-strict mode). */
  onSkip?: (e: Error) => void;
  /** Called as the trace is read (every 1 MiB or chunk of records): bytes read so far and the trace's size (undefined for a stream). With `policy: 'opt'` the first pass reports, then the replay from 0 again. */
  onProgress?: (bytesRead: number, totalBytes: number | undefined) => void;
  /** Aborts the replay: it then rejects with an AbortError (name 'AbortError', code 'ABORT_ERR', as Node's APIs), having closed the trace and freed the machine. */
  signal?: AbortSignal;
  /** Resident limit of the process in pages: replay under memory pressure (pages beyond it are evicted to swap). */
  frames?: number;
  /**
   * Replacement policy under `frames` (default 'clock'); every-reference policies (lru, lfu,
   * 2q, arc, opt) see every page touch. 'opt' reads the trace twice (a first pass computes its
   * future), so it needs a file path, bytes or an array of chunks, not a stream — unless
   * `policyOptions.future` is given.
   */
  policy?: PolicyName | ReclaimPolicy;
  /** Options of a built-in policy. */
  policyOptions?: PolicyOptions;
  /** The swap device: a size ('1GiB') or { size, file?, zswap?, pageCluster? } (default with `frames`: 1 GiB in host memory). */
  swap?: number | string | SwapOptions;
  /** Flush a page's TLB entry when reclaim clears its Accessed bit (default false, as x86 Linux). */
  flushAccessed?: boolean;
  /** How to read the trace: 'auto' (default: told by its contents), or ChampSim's records ('champsim', 'champsim-cloudsuite') whatever its first records look like. */
  format?: 'auto' | 'champsim' | 'champsim-cloudsuite';
  /**
   * ChampSim's warm-up: the first `warmup` instructions replay (the TLBs, page tables and
   * memory warm up) without being counted; the counts start after them. Instructions are the
   * trace's instruction fetches (ChampSim: every record; lackey: its I lines); a trace without
   * any counts accesses instead (result.window says which).
   */
  warmup?: number;
  /** After the warm-up, replay and count this many instructions (or accesses, as `warmup`), then stop reading. */
  simulate?: number;
  /**
   * Read and drop the first `skip` instructions (or accesses, as `warmup`) before anything
   * replays: the part of the trace that a snapshot (`from`, saved by `save` with `warmup`)
   * replayed already, so that the same trace goes on where the snapshot was taken.
   */
  skip?: number;
  /**
   * CPUs of the machine (1-256, default 1). A recorded program's threads run on them
   * (docs/replay.md: placement); a trace of accesses alone runs on CPU 0. Several traces at
   * once: replay([a, b], { cpus }).
   */
  cpus?: number;
  /**
   * Start from a snapshot (a file `save` wrote, or a Snapshot of a machine with one process):
   * its machine and process continue with this trace, and the counts are the trace's. Its memory,
   * process and resident limit are the snapshot's (memory, frames, policy, swap and setup are
   * refused); the TLB is this replay's: of the snapshot's geometry it keeps its entries, of
   * another it starts empty (result.from says which; docs/snapshots.md).
   */
  from?: string | Snapshot<unknown>;
  /** Save the machine to this snapshot file when the replay ends (docs/snapshots.md); replay or sweep `from` it later. */
  save?: string;
}

/** A configuration of a sweep: replay options without callbacks or a signal (they cannot cross to a worker thread). */
export type SweepConfig = Omit<ReplayOptions, 'setup' | 'onFinish' | 'onSkip' | 'onProgress' | 'signal'>;

export { resolveLevel, type LevelConfig } from '../tlb/tlb-options.js';

/** Validated replay options. */
export interface ResolvedReplayOptions {
  tlb: LevelConfig;
  /** The per-CPU hierarchy, when the options ask for more than one unified TLB. */
  hierarchy?: ResolvedHierarchy;
  seriesEvery?: number;
  pageSize: '4k' | '2m';
  mode: 'anon' | 'regions';
  backend: BackendName;
  memory: number | string;
  vm?: VmOptions;
  strict: boolean;
  /** Resident limit and swap, when replaying under memory pressure. */
  pressure?: { frames: number; policy: PolicyName | ReclaimPolicy; policyOptions?: PolicyOptions; swap: SwapOptions; flushAccessed: boolean };
  format: 'auto' | 'champsim' | 'champsim-cloudsuite';
  /** Instructions (or accesses) replayed uncounted first, and counted after them (Infinity: to the end). */
  warmup: number;
  skip: number;
  simulate: number;
  cpus: number;
}

const KEYS = new Set(['tlb', 'cpu', 'seriesEvery', 'pageSize', 'mode', 'setup', 'onFinish', 'backend', 'memory', 'vm', 'strict', 'onSkip', 'onProgress', 'signal', 'frames', 'policy', 'policyOptions', 'swap', 'flushAccessed', 'format', 'warmup', 'simulate', 'skip', 'cpus', 'from', 'save']);
const FORMATS = ['auto', 'champsim', 'champsim-cloudsuite'];

/** Validates replay options and fills in defaults; unknown keys are EINVAL (a typo would silently change the experiment). */
export function resolveReplayOptions(o: ReplayOptions = {}): ResolvedReplayOptions {
  if (o === null || typeof o !== 'object') throw new VmmError('EINVAL', `options must be an object, got ${describe(o)}`);
  for (const k of Object.keys(o)) if (!KEYS.has(k)) throw new VmmError('EINVAL', `unknown replay option ${JSON.stringify(k)}`);
  const { tlb, hierarchy } = resolveTlb(o.tlb, o.cpu, 'options.tlb', 'options.cpu');
  const r: ResolvedReplayOptions = {
    tlb,
    pageSize: o.pageSize ?? '4k',
    mode: o.mode ?? 'anon',
    backend: o.backend ?? 'auto',
    memory: o.memory ?? '64GiB',
    ...(o.vm !== undefined ? { vm: o.vm } : {}),
    strict: o.strict ?? false,
    format: o.format ?? 'auto',
    warmup: o.warmup ?? 0,
    skip: o.skip ?? 0,
    simulate: o.simulate ?? Infinity,
    cpus: o.cpus ?? 1,
  };
  if (typeof r.cpus !== 'number' || !Number.isInteger(r.cpus) || r.cpus < 1 || r.cpus > 256) throw new VmmError('EINVAL', `options.cpus must be an integer in [1, 256], got ${describe(o.cpus)}`);
  if (!FORMATS.includes(r.format)) throw new VmmError('EINVAL', `options.format must be one of ${FORMATS.map((f) => `'${f}'`).join(', ')}, got ${describe(o.format)}`);
  for (const k of ['warmup', 'simulate', 'skip'] as const) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)) throw new VmmError('EINVAL', `options.${k} must be a whole number of instructions (or accesses), got ${describe(v)}`);
  }
  if (hierarchy) r.hierarchy = hierarchy;
  checkSnapshotOptions(o as Readonly<Record<string, unknown>>);
  if (o.seriesEvery !== undefined) {
    if (!Number.isInteger(o.seriesEvery) || o.seriesEvery < 1) throw new VmmError('EINVAL', `options.seriesEvery must be a positive integer (accesses), got ${describe(o.seriesEvery)}`);
    r.seriesEvery = o.seriesEvery;
  }
  if (r.pageSize !== '4k' && r.pageSize !== '2m') throw new VmmError('EINVAL', `options.pageSize must be '4k' or '2m', got ${describe(o.pageSize)}`);
  if (r.mode !== 'anon' && r.mode !== 'regions') throw new VmmError('EINVAL', `options.mode must be 'anon' or 'regions', got ${describe(o.mode)}`);
  if (typeof r.strict !== 'boolean') throw new VmmError('EINVAL', `options.strict must be a boolean, got ${describe(o.strict)}`);
  for (const k of ['setup', 'onFinish', 'onSkip', 'onProgress'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'function') throw new VmmError('EINVAL', `options.${k} must be a function, got ${describe(o[k])}`);
  }
  if (o.frames !== undefined) {
    if (typeof o.frames !== 'number' || !Number.isSafeInteger(o.frames) || o.frames < 1) throw new VmmError('EINVAL', `options.frames must be a positive whole number of pages, got ${describe(o.frames)}`);
    // Frames are 4 KiB pages (a textbook's frames); the machine API reclaims 2 MiB pages too (createAddressSpace({ residentLimit }) with a hugePages region).
    if (r.pageSize !== '4k') throw new VmmError('EINVAL', "options.frames needs pageSize '4k' (frames are 4 KiB pages)");
    const swap = o.swap === undefined ? { size: '1GiB' } : typeof o.swap === 'object' && o.swap !== null ? o.swap : { size: o.swap };
    r.pressure = { frames: o.frames, policy: o.policy ?? 'clock', swap, flushAccessed: o.flushAccessed ?? false, ...(o.policyOptions ? { policyOptions: o.policyOptions } : {}) };
  } else {
    for (const k of ['policy', 'policyOptions', 'swap', 'flushAccessed'] as const) if (o[k] !== undefined) throw new VmmError('EINVAL', `options.${k} needs options.frames (the resident limit in pages)`);
  }
  return r;
}
