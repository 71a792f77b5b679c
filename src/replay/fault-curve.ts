/**
 * The fault-rate curve of a trace: one replay per (policy, frames) under that resident limit,
 * and, from one pass over the trace's page touches, Mattson's exact LRU count for every size
 * (which the `lru` replays must equal). "Faults" are page-ins, as textbooks count them: first
 * touches plus re-references after eviction.
 */
import { VmmError } from '../errors.js';
import { openTrace } from '../trace/trace-reader.js';
import { replay } from './replay.js';
import type { BackendName } from '../machine/options.js';
import type { PolicyName } from '../reclaim/policy.js';
import type { SwapOptions } from '../reclaim/swap-options.js';
import { isPolicyName, POLICY_NAMES } from '../reclaim/registry.js';
import { stackDistances } from '../reclaim/stack-distance.js';
import { MMAP_MIN_ADDR, TASK_SIZE } from '../vmm/layout.js';

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

/** Replays `trace` (a file path or its bytes: it is read once per point) for every policy and size. */
export async function faultCurve(trace: string | Uint8Array, options: { frames: number[]; policies: PolicyName[]; swap?: string | number | SwapOptions; backend?: BackendName }): Promise<FaultCurve> {
  const { frames, policies } = options;
  if (!Array.isArray(frames) || frames.length === 0 || !frames.every((f) => Number.isSafeInteger(f) && f >= 1)) throw new VmmError('EINVAL', `frames must be a non-empty list of positive whole numbers, got ${JSON.stringify(frames)}`);
  if (!Array.isArray(policies) || policies.length === 0) throw new VmmError('EINVAL', `policies must be a non-empty list (${POLICY_NAMES.join(', ')})`);
  for (const p of policies) {
    if (!isPolicyName(p)) throw new VmmError('EINVAL', `unknown policy ${JSON.stringify(p)} (known: ${POLICY_NAMES.join(', ')})`);
    if (p === 'opt') throw new VmmError('EINVAL', "policy 'opt' needs the whole reference sequence in advance: use reference strings (vmsim policy)");
  }
  const pages = await pageTouches(trace);
  const sd = stackDistances(pages);
  const rows: FaultCurveRow[] = [];
  for (const policy of policies) {
    for (const f of frames) {
      let resident = 0;
      const r = await replay(trace, { frames: f, policy, swap: options.swap ?? '1GiB', backend: options.backend ?? 'auto', onFinish: (s) => (resident = s.vm.resident!.tracked.size + s.vm.resident!.locked.size) });
      const faults = resident + r.evictions!.clean + r.evictions!.dirty;
      rows.push({ policy, frames: f, faults, faultRate: pages.length > 0 ? faults / pages.length : 0, majorFaults: r.faults.major, swapIn: r.swap!.in, swapOut: r.swap!.out });
    }
  }
  return { touches: pages.length, rows, mattson: frames.map((f) => sd.faults(f)) };
}

/** The user pages the trace touches, in order (one per page a record touches; kernel and mmap_min_addr pages left out, as replay refuses them). */
async function pageTouches(trace: string | Uint8Array): Promise<Float64Array> {
  const reader = await openTrace(trace);
  let out = new Float64Array(1 << 16);
  let n = 0;
  const push = (v: number) => {
    if (n === out.length) {
      const g = new Float64Array(out.length * 2);
      g.set(out);
      out = g;
    }
    out[n++] = v;
  };
  for await (const c of reader.chunks()) {
    for (let i = 0; i < c.count; i++) {
      const hi = c.words[2 * i + 1]!;
      const la = (hi & 0xffff) * 2 ** 32 + c.words[2 * i]!;
      if (la < MMAP_MIN_ADDR || la >= TASK_SIZE) continue;
      const first = Math.floor(la / 4096);
      const last = Math.floor((la + ((hi >>> 18) & 0xfff)) / 4096);
      push(first);
      if (last !== first && last * 4096 < TASK_SIZE) push(last);
    }
  }
  return out.subarray(0, n);
}
