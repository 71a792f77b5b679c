/** A sweep's worker thread: replays the configurations the main thread sends, one at a time. */
import { parentPort } from 'node:worker_threads';
import { replay } from './replay.js';
import type { SweepConfig } from './sweep.js';

parentPort!.on('message', (m: { i: number; trace: string; config: SweepConfig }) => {
  replay(m.trace, m.config).then(
    (result) => parentPort!.postMessage({ i: m.i, result }),
    (e: unknown) => parentPort!.postMessage({ i: m.i, error: e instanceof Error ? e.message : String(e) }),
  );
});
