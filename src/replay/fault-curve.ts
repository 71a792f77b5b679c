/**
 * The fault-rate curve of a trace: one replay per (policy, frames) under that resident limit,
 * and, from one pass over the trace's page touches, Mattson's exact LRU count for every size
 * (which the `lru` replays must equal); the `opt` replays take that pass's touches as their
 * future, so they need no pass of their own. "Faults" are page-ins, as textbooks count them:
 * first touches plus re-references after eviction.
 */
import { VmmError } from '../errors.js';
import { replay } from './replay.js';
import type { BackendName } from '../machine/options.js';
import type { PolicyName } from '../reclaim/policy.js';
import type { SwapOptions } from '../reclaim/swap-options.js';
import { isPolicyName, POLICY_NAMES } from '../reclaim/registry.js';
import { stackDistances } from '../reclaim/stack-distance.js';
import { OptFuture } from '../reclaim/policies/opt-future.js';
import { pageTouches } from './page-touches.js';

/** One point of the curve. */
export interface FaultCurveRow {
  policy: string;
  frames: number;
  /** Page-ins: pages brought into memory (first touches and re-references after eviction). */
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

/** Replays `trace` (a file path or its bytes: it is read once per point, plus once for the touches) for every policy and size. */
export async function faultCurve(trace: string | Uint8Array, options: { frames: number[]; policies: PolicyName[]; swap?: string | number | SwapOptions; backend?: BackendName }): Promise<FaultCurve> {
  const { frames, policies } = options;
  if (!Array.isArray(frames) || frames.length === 0 || !frames.every((f) => Number.isSafeInteger(f) && f >= 1)) throw new VmmError('EINVAL', `frames must be a non-empty list of positive whole numbers, got ${JSON.stringify(frames)}`);
  if (!Array.isArray(policies) || policies.length === 0) throw new VmmError('EINVAL', `policies must be a non-empty list (${POLICY_NAMES.join(', ')})`);
  for (const p of policies) {
    if (!isPolicyName(p)) throw new VmmError('EINVAL', `unknown policy ${JSON.stringify(p)} (known: ${POLICY_NAMES.join(', ')})`);
  }
  const pages = await pageTouches(trace);
  const sd = stackDistances(pages);
  // OPT's future is the same touches: built once, shared by every opt replay (it is read-only).
  const future = policies.includes('opt') ? OptFuture.from(pages, 'skip') : undefined;
  const rows: FaultCurveRow[] = [];
  for (const policy of policies) {
    for (const f of frames) {
      let resident = 0;
      const r = await replay(trace, { frames: f, policy, ...(policy === 'opt' ? { policyOptions: { future } } : {}), swap: options.swap ?? '1GiB', backend: options.backend ?? 'auto', onFinish: (s) => (resident = s.vm.resident!.tracked.size + s.vm.resident!.locked.size) });
      const faults = resident + r.evictions!.clean + r.evictions!.dirty;
      rows.push({ policy, frames: f, faults, faultRate: pages.length > 0 ? faults / pages.length : 0, majorFaults: r.faults.major, swapIn: r.swap!.in, swapOut: r.swap!.out });
    }
  }
  return { touches: pages.length, rows, mattson: frames.map((f) => sd.faults(f)) };
}
