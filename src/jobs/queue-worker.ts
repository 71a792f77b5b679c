/**
 * A worker serving a sweep queue: BullMQ's Worker with the row processor sandboxed in child
 * processes (one per concurrent job). The worker's own thread only takes jobs and renews their
 * locks, which it can always do in time because no replay runs on it. If the worker dies, its
 * jobs' locks expire after `lockDuration` and another worker's stalled-job check puts them back
 * in the queue (once: a job that stalls twice fails, as BullMQ's maxStalledCount says).
 */
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import { probeQueue, redisOptions } from '../queue/connection.js';
import { parseQueueUrl } from '../queue/queue-url.js';
import { resolveRoots } from './trace-roots.js';
import { VmmError } from '../errors.js';

/** Options of startWorker. */
export interface QueueWorkerOptions {
  /** The queue: redis://HOST:PORT/NAME. */
  queue: string;
  /** Directories the worker may read traces under (resolved; default: none, which refuses every job). */
  roots: readonly string[];
  /** Rows computed at once, each in its own process (default 1). */
  concurrency?: number;
  /** Milliseconds a job's lock lasts without renewal (default 30000; renewed every half of it). */
  lockDuration?: number;
  /** Called with one line per event worth telling (a row done or failed, a connection error). */
  log?: (line: string) => void;
}

/** A running worker. */
export interface QueueWorker {
  /** The worker's name in the queue (host:pid), which jobs record as processedBy. */
  name: string;
  /** The real paths of its roots. */
  roots: string[];
  /** Stops taking jobs; waits for the running ones unless `force` (then they are retried elsewhere once their locks expire). */
  close(force?: boolean): Promise<void>;
}

/** Starts a worker; rejects (QueueError) within seconds when the queue cannot be reached, leaving nothing running. */
export async function startWorker(o: QueueWorkerOptions): Promise<QueueWorker> {
  const loc = parseQueueUrl(o.queue);
  const concurrency = o.concurrency ?? 1;
  const lockDuration = o.lockDuration ?? 30_000;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new VmmError('EINVAL', `worker: concurrency must be a positive integer, got ${String(concurrency)}`);
  if (!Number.isInteger(lockDuration) || lockDuration < 100) throw new VmmError('EINVAL', `worker: lockDuration must be an integer of at least 100 ms, got ${String(lockDuration)}`);
  const roots = await resolveRoots(o.roots);
  await probeQueue(loc);
  const log = o.log ?? (() => {});
  const name = `${hostname()}:${process.pid}`;
  const processor = fileURLToPath(new URL('./sandbox-processor.js', import.meta.url));
  const worker = new Worker(loc.name, processor, {
    connection: redisOptions(loc),
    concurrency,
    lockDuration,
    // A dead worker's job is found after its lock expired and within one more interval.
    stalledInterval: lockDuration,
    maxStalledCount: 1,
    name,
    workerForkOptions: { env: { ...process.env, VMSIM_WORKER_ROOTS: JSON.stringify(roots) } },
  });
  let lastError = '';
  worker.on('error', (e) => {
    // A Redis that went away is retried for ever; say so once per distinct error, not per retry.
    if (e.message !== lastError) log(`queue error: ${(lastError = e.message)}`);
  });
  worker.on('completed', (job) => log(`row ${job.id?.slice(0, 12)} done`));
  worker.on('failed', (job, e) => log(`row ${job?.id?.slice(0, 12) ?? '?'} failed: ${e.message}`));
  try {
    await worker.waitUntilReady();
  } catch (e) {
    await worker.close(true);
    throw e;
  }
  return { name, roots, close: (force = false) => worker.close(force) };
}
