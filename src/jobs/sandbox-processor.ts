/**
 * The BullMQ sandboxed processor of `vmsim worker`: runs in a child process of its own, so a
 * CPU-bound replay never blocks the worker's event loop, which must renew each job's lock
 * (otherwise the lock expires mid-replay and another worker runs the job again: bullmq #2857,
 * #3078). The worker passes its resolved --root directories in VMSIM_WORKER_ROOTS.
 */
import type { SandboxedJob } from 'bullmq';
import { runRow } from './run-row.js';

const roots = JSON.parse(process.env['VMSIM_WORKER_ROOTS'] ?? '[]') as string[];

// A worker killed outright (SIGKILL, a lost machine) cannot stop its children: one whose parent
// is gone stops itself rather than finish a row nobody will collect. Its job is then retried as
// stalled by another worker when its lock expires.
if (typeof process.send === 'function') process.on('disconnect', () => process.exit(1));

/** Computes one row (the job's data is a RowJob); the encoded result is the job's return value. */
export default async function processRow(job: SandboxedJob): Promise<string> {
  return runRow(job.data, roots, job.id);
}
