/** A sweep's worker thread: replays the configurations the main thread sends, one at a time, and stops one when told to. */
import { parentPort } from 'node:worker_threads';
import { replay } from './replay.js';
import type { ReplayResult } from './replay-result.js';
import type { SweepConfig } from './replay-options.js';

/** What the main thread sends: a configuration to replay, or an order to abort the one running. */
export type ToWorker = { type: 'run'; i: number; trace: string; config: SweepConfig; progress: boolean } | { type: 'abort' };

/** What a worker answers: progress within a row, then its result, its error, or that it stopped on an abort. */
export type FromWorker =
  | { type: 'progress'; i: number; bytesRead: number; totalBytes: number | undefined }
  | { type: 'result'; i: number; result: ReplayResult }
  | { type: 'error'; i: number; error: string }
  | { type: 'aborted'; i: number };

// The main thread is absent when this module is only imported (its types), not run as a worker.
const port = parentPort;
let running: AbortController | undefined;

port?.on('message', (m: ToWorker) => {
  if (m.type === 'abort') {
    running?.abort();
    return;
  }
  const ac = (running = new AbortController());
  const post = (a: FromWorker) => port.postMessage(a);
  const onProgress = m.progress ? (bytesRead: number, totalBytes: number | undefined) => post({ type: 'progress', i: m.i, bytesRead, totalBytes }) : undefined;
  replay(m.trace, { ...m.config, signal: ac.signal, ...(onProgress ? { onProgress } : {}) })
    .then(
      (result) => post({ type: 'result', i: m.i, result }),
      (e: unknown) => post(ac.signal.aborted ? { type: 'aborted', i: m.i } : { type: 'error', i: m.i, error: e instanceof Error ? e.message : String(e) }),
    )
    .finally(() => {
      if (running === ac) running = undefined;
    });
});
