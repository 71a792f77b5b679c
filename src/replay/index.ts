/** Trace replay: the public pieces. */
export { replay } from './replay.js';
export type { TraceInput } from './replay.js';
export type { ReplayOptions, ReplayTlbOptions, TlbLevelOptions } from './replay-options.js';
export type { ReplayResult, TlbLevelResult, PwcLevelResult } from './replay-result.js';
export { sweep, combinations } from './sweep.js';
export type { SweepConfig, SweepRow, SweepOptions } from './sweep.js';
export type { HierarchyResult, LevelTotals, SeriesResult } from './replay-result.js';
