/** Page replacement, swap and memory-pressure statistics: the public pieces. */
export { ACCESSED, DIRTY } from './policy.js';
export type { AccessBits, PolicyKind, PolicyName, PolicyOptions, ReclaimPolicy } from './policy.js';
export { createPolicy, resolvePolicy, isPolicyName, policyKind, policySummary, POLICY_NAMES } from './registry.js';
export { stackDistances } from './stack-distance.js';
export { OptFuture, OptFutureBuilder } from './policies/opt-future.js';
export type { OptMatch } from './policies/opt-future.js';
export type { StackDistances } from './stack-distance.js';
export { parseReferenceString } from './reference-string.js';
export type { ReferenceString } from './reference-string.js';
export { SwapArea } from './swap-area.js';
export type { SwapOptions, SwapSource } from './swap-area.js';
export type { ZswapOptions, ZswapStats } from './zswap.js';
export { newReclaimCounters } from './reclaim-stats.js';
export type { ReclaimCounters } from './reclaim-stats.js';
export { encodeSwapEntry, decodeSwapEntry } from './swap-entry.js';
