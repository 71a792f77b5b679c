/** Progress reports of the calls that run many replays of one trace (sweep, faultCurve). */

/**
 * How far sweep() or faultCurve() has come, reported as the trace is read: within each run
 * (every 1 MiB or chunk of records it reads), not only when a run finishes.
 */
export interface RunProgress {
  /**
   * 'read': a pass over the trace before the runs (sweep's binary copy of a text, compressed or
   * streamed trace; faultCurve's pass over the page touches). 'run': one run (a sweep row, a curve point).
   */
  phase: 'read' | 'run';
  /** The run reported on (sweep: its configuration's index; faultCurve: its row's index, policies in order, frames varying fastest); -1 in the 'read' phase. */
  index: number;
  /** Bytes of the trace that pass or run has read so far. */
  bytesRead: number;
  /** The size of what it reads (undefined for a stream). */
  totalBytes: number | undefined;
  /** Runs finished so far (sweep's runs finish in any order when they run in parallel). */
  done: number;
  /** Runs in all. */
  total: number;
}

/** A RunProgress callback as users give it. */
export type OnRunProgress = (progress: RunProgress) => void;
