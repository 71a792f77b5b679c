/** Trace replay: the public pieces. */
export { replay } from './replay.js';
export type { TraceInput } from './replay.js';
export type { ReplayOptions, ReplayTlbOptions, TlbLevelOptions } from './replay-options.js';
export type { ReplayResult, TlbLevelResult, PwcLevelResult } from './replay-result.js';
export type { MultiReplayOptions } from './multi-replay.js';
export type { MultiReplayResult, ProcessReplayResult } from './multi-replay-result.js';
export { sweep, combinations } from './sweep.js';
export type { SweepConfig, SweepRow, SweepOptions } from './sweep.js';
export type { FailedSweepRow, QueueSweepOptions } from './sweep-row.js';
export type { HierarchyResult, LevelTotals, SeriesResult } from './replay-result.js';
export { runReferenceString } from './reference-run.js';
export type { ReferenceRunOptions, ReferenceRunResult, ReferenceStep } from './reference-run.js';
export { faultCurve } from './fault-curve.js';
export type { FaultCurve, FaultCurveRow, FaultCurveOptions } from './fault-curve.js';
export type { RunProgress, OnRunProgress } from './run-progress.js';
export type { ReplayFormat } from './page-touches.js';
export type { WindowResult } from './measure-window.js';
export type { ProgramResult, ProcessResult, ThreadResult, SyscallAgreement, Disagreement } from './program/program-result.js';
