/** What a resident set is configured with and what the machine-wide side gives it (in a file of their own: the resident set's parts share them). */
import type { PolicyName, PolicyOptions, ReclaimPolicy } from '../reclaim/policy.js';
import type { SwapArea } from '../reclaim/swap-area.js';
import type { ReclaimCounters } from '../reclaim/reclaim-stats.js';
import type { Frames } from '../machine/frames.js';
import type { Reclaimer } from './reclaimer.js';
import type { SwapCache } from './reclaim/swap-cache.js';
import type { PluginGate } from '../reclaim/guarded-policy.js';

/** How a resident set was configured (a fork child gets the same object: the reverse map knows a fork family by it). */
export interface ResidentConfig {
  limit: number;
  /** Makes a fresh policy (one per process). */
  makePolicy: () => ReclaimPolicy;
  /** Flush the TLB entry of a page whose Accessed bit reclaim clears (default false: x86 Linux does not). */
  flushAccessed: boolean;
  /** What makePolicy makes: a built-in policy's name and options (a restored snapshot makes makePolicy again from them), or a plug-in object. */
  readonly policy?: PolicyName | ReclaimPolicy;
  readonly policyOptions?: PolicyOptions;
}

/** What the machine-wide side gives a resident set. */
export interface ResidentContext {
  readonly frames: Frames;
  readonly zeroFrame: number;
  /** True for the zero page and the frames of the huge zero page (evicting a mapping of them drops it). */
  isZeroFrame(pfn: number): boolean;
  readonly swap: SwapArea | undefined;
  /** Machine-wide counters (summed over processes). */
  readonly reclaim: ReclaimCounters;
  /** Watermarks, kswapd and the OOM killer (present when the machine has swap). */
  readonly reclaimer: Reclaimer | undefined;
  /** Pages in memory that hold a swap slot's contents for any process (read ahead, or swapped in shared). */
  readonly swapCache: SwapCache;
  /** Slots of swap-cache pages that readahead brought in and no fault used yet. */
  readonly readahead: Set<number>;
  /** lru_note_cost: reclaim's I/O (pages written) and rotations (pages scanned, not reclaimed) on the anonymous (or file) lists. */
  noteCost(file: boolean, nrIo: number, nrRotated: number): void;
  /** Raised while a user's policy code runs: the VMM refuses re-entry then. */
  readonly pluginGate: PluginGate;
}
