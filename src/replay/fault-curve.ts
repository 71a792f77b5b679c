/**
 * The fault-rate curve of a trace: one replay per (policy, frames) under that resident limit,
 * and, from one pass over the trace's page touches, Mattson's exact LRU count for every size
 * (which the `lru` replays must equal); the `opt` replays take that pass's touches as their
 * future, so they need no pass of their own. "Faults" are page-ins, as textbooks count them:
 * first touches plus re-references after eviction (replay's `resident.pageIns`, = `faults.pageIns`).
 */
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { strictOptions } from '../strict-options.js';
import { checkSignal, throwIfAborted } from '../abort.js';
import { replay } from './replay.js';
import type { BackendName } from '../machine/options.js';
import type { PolicyName } from '../reclaim/policy.js';
import type { SwapOptions } from '../reclaim/swap-options.js';
import { isPolicyName, POLICY_NAMES } from '../reclaim/registry.js';
import { stackDistances } from '../reclaim/stack-distance.js';
import { OptFuture } from '../reclaim/policies/opt-future.js';
import { pageTouches, type ReplayFormat } from './page-touches.js';
import type { OnRunProgress } from './run-progress.js';

/** One point of the curve. */
export interface FaultCurveRow {
  policy: string;
  frames: number;
  /** Page-ins: pages brought into memory (first touches and re-references after eviction); replay's `resident.pageIns`. */
  faults: number;
  /** faults / page touches. */
  faultRate: number;
  majorFaults: number;
  swapIn: number;
  swapOut: number;
}

/** The curve and Mattson's LRU counts. */
export interface FaultCurve {
  /** Page touches of the trace (a record crossing a page touches two). */
  touches: number;
  rows: FaultCurveRow[];
  /** mattson[i] = exact LRU faults with frames[i] frames. */
  mattson: number[];
}

/** Options of faultCurve(). */
export interface FaultCurveOptions {
  /** Resident limits to replay under, in pages. */
  frames: number[];
  /** Replacement policies, one replay per policy and size. */
  policies: PolicyName[];
  /** The swap device of every replay (default '1GiB'). */
  swap?: string | number | SwapOptions;
  backend?: BackendName;
  /** Aborts the curve: it then rejects with an AbortError (as Node's APIs), the replay running then stopped and cleaned up. */
  signal?: AbortSignal;
  /** Called as each pass reads the trace: the touches pass ('read'), then each row's replay ('run'). */
  onProgress?: OnRunProgress;
  /** How to read the trace (default 'auto'; 'champsim', 'champsim-cloudsuite': ChampSim's records). */
  format?: ReplayFormat;
}

const KEYS = ['frames', 'policies', 'swap', 'backend', 'signal', 'onProgress', 'format'];

/** Replays `trace` (a file path or its bytes: it is read once per point, plus once for the touches) for every policy and size. */
export async function faultCurve(trace: string | Uint8Array, options: FaultCurveOptions): Promise<FaultCurve> {
  strictOptions(options, 'options', KEYS);
  const { frames, policies } = options ?? ({} as Partial<FaultCurveOptions>);
  if (!Array.isArray(frames) || frames.length === 0 || !frames.every((f) => Number.isSafeInteger(f) && f >= 1)) throw new VmmError('EINVAL', `frames must be a non-empty list of positive whole numbers, got ${JSON.stringify(frames)}`);
  if (!Array.isArray(policies) || policies.length === 0) throw new VmmError('EINVAL', `policies must be a non-empty list (${POLICY_NAMES.join(', ')})`);
  for (const p of policies) {
    if (!isPolicyName(p)) throw new VmmError('EINVAL', `unknown policy ${JSON.stringify(p)} (known: ${POLICY_NAMES.join(', ')})`);
  }
  const signal = checkSignal(options.signal, 'options.signal');
  const onProgress = options.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new VmmError('EINVAL', `options.onProgress must be a function, got ${describe(onProgress)}`);
  throwIfAborted(signal);
  const total = policies.length * frames.length;
  const report = (phase: 'read' | 'run', index: number, done: number) => (onProgress ? (bytesRead: number, totalBytes: number | undefined) => onProgress({ phase, index, bytesRead, totalBytes, done, total }) : undefined);
  const pages = await pageTouches(trace, false, report('read', -1, 0), signal, options.format);
  const sd = stackDistances(pages);
  // OPT's future is the same touches: built once, shared by every opt replay (it is read-only).
  const future = policies.includes('opt') ? OptFuture.from(pages, 'skip') : undefined;
  const rows: FaultCurveRow[] = [];
  for (const policy of policies) {
    for (const f of frames) {
      const index = rows.length;
      const progress = report('run', index, index);
      const r = await replay(trace, { frames: f, policy, ...(policy === 'opt' ? { policyOptions: { future } } : {}), swap: options.swap ?? '1GiB', backend: options.backend ?? 'auto', ...(options.format ? { format: options.format } : {}), ...(signal ? { signal } : {}), ...(progress ? { onProgress: progress } : {}) });
      const faults = r.resident!.pageIns;
      rows.push({ policy, frames: f, faults, faultRate: pages.length > 0 ? faults / pages.length : 0, majorFaults: r.faults.major, swapIn: r.swap!.in, swapOut: r.swap!.out });
    }
  }
  return { touches: pages.length, rows, mattson: frames.map((f) => sd.faults(f)) };
}
