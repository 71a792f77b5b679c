/** What a sweep is made of and gives back: its configurations and rows, wherever the rows are computed. */
import type { SweepConfig } from './replay-options.js';
import type { ReplayResult } from './replay-result.js';

export type { SweepConfig } from './replay-options.js';

/** One row of a sweep. */
export interface SweepRow {
  config: SweepConfig;
  result: ReplayResult;
  /** Never set on a row with a result: `row.error` tells a FailedSweepRow (from a queue) apart. */
  error?: undefined;
}

/** A row whose replay failed on a worker: its error instead of a result. */
export interface FailedSweepRow {
  config: SweepConfig;
  /** The trace as given. */
  trace: string;
  /** Why it failed, as the worker reported it (never the trace's contents). */
  error: string;
  result?: undefined;
}

/** Options of a sweep whose rows run on a job queue. */
export interface QueueSweepOptions {
  /** The queue: redis://HOST:PORT/NAME (served by `vmsim worker --queue` with the same URL). */
  queue: string;
  /** Called as each row is known (finished earlier ones first), in completion order. */
  onRow?: (row: SweepRow | FailedSweepRow, done: number, total: number) => void;
  /** Called once the jobs are queued: rows in all, and how many were finished by an earlier run. */
  onQueued?: (info: { rows: number; jobs: number; reused: number; queue: string }) => void;
}

