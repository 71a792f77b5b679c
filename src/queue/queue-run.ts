/**
 * Runs row jobs on a BullMQ queue and waits for every outcome. A job's id is its key, so adding
 * a row that is already in the queue adds nothing: a finished row is reused, a running or
 * waiting one is awaited (whoever queued it), and one that failed in an earlier run is tried
 * again once. Outcomes arrive by the queue's events; a slow poll covers events missed while a
 * connection was down, and re-adds a job someone removed.
 */
import { Job, Queue, QueueEvents } from 'bullmq';
import { connectionError, probeQueue, redisOptions } from './connection.js';
import { QueueError } from './queue-error.js';
import type { QueueLocation } from './queue-url.js';
import type { RowJob } from './row-job.js';

/** The outcome of one job: the processor's returned text, or the reason it failed. */
export interface QueueOutcome {
  key: string;
  /** What the worker returned (the encoded row) when the job completed. */
  value?: string;
  /** Why the job failed, as the worker reported it. */
  error?: string;
  /** True when the row had been computed before this run. */
  reused: boolean;
}

/** Callbacks of runOnQueue. */
export interface QueueRunHooks {
  /** After the jobs are in the queue: how many distinct jobs, and how many were finished already. */
  onQueued?: (info: { total: number; reused: number }) => void;
  /** As each job's outcome is known (in completion order). */
  onOutcome?: (outcome: QueueOutcome, done: number, total: number) => void;
  /** Milliseconds between polls of the unfinished jobs (default 2000). */
  pollMs?: number;
}

/** BullMQ's name for the jobs (one kind: a row). */
const JOB_NAME = 'row';
const ADD_BATCH = 500;

/** Puts `jobs` on the queue at `loc` (once per distinct key) and resolves with every job's outcome, by key. */
export async function runOnQueue(loc: QueueLocation, jobs: readonly RowJob[], hooks: QueueRunHooks = {}): Promise<Map<string, QueueOutcome>> {
  const byKey = new Map<string, RowJob>();
  // Equal keys are equal work (the same content and configuration): the first path given carries it.
  for (const j of jobs) if (!byKey.has(j.key)) byKey.set(j.key, j);
  const total = byKey.size;
  const outcomes = new Map<string, QueueOutcome>();
  await probeQueue(loc);
  const connection = redisOptions(loc);
  const queue = new Queue(loc.name, { connection });
  const events = new QueueEvents(loc.name, { connection });
  let failure: Error | undefined;
  let settle!: () => void;
  let fail!: (e: Error) => void;
  const finished = new Promise<void>((res, rej) => {
    settle = res;
    fail = rej;
  });
  // Awaited below; until then a rejection must not count as unhandled.
  finished.catch(() => undefined);
  // A connection lost for good surfaces through the commands below; these only keep EventEmitter from throwing.
  queue.on('error', (e) => (failure ??= e));
  events.on('error', (e) => (failure ??= e));
  const retried = new Set<string>();
  let scanning = true;
  let told = 0;
  const tell = () => {
    // Outcomes found while scanning are told after onQueued, in the order found.
    for (const o of [...outcomes.values()].slice(told)) hooks.onOutcome?.(o, ++told, total);
  };
  const record = (o: QueueOutcome) => {
    if (outcomes.has(o.key)) return;
    outcomes.set(o.key, o);
    if (!scanning) tell();
    if (outcomes.size === total && !scanning) settle();
  };
  const check = async (key: string, initial: boolean): Promise<void> => {
    if (outcomes.has(key) || !byKey.has(key)) return;
    // The state first, then the job: a job read before its state could be one caught while
    // active after a retry (its reason or row not yet written) and then seen as finished.
    const state = await queue.getJobState(key);
    const job = state === 'unknown' ? undefined : await Job.fromId(queue, key);
    if (!job) {
      // Removed (queue cleaned or obliterated) after it was added: add it again.
      await queue.add(JOB_NAME, byKey.get(key)!, jobOptions(key));
      return;
    }
    if (state === 'completed') {
      if (typeof job.returnvalue !== 'string') record({ key, error: 'the worker returned no row (was this queue used by something other than vmsim?)', reused: initial });
      else record({ key, value: job.returnvalue, reused: initial });
    } else if (state === 'failed') {
      if (initial && !retried.has(key)) {
        // Failed in an earlier run: the cause may be gone (a worker's --root, a missing file), so try once more.
        retried.add(key);
        await job.retry('failed').catch(() => undefined);
        return;
      }
      record({ key, error: job.failedReason || 'failed (no reason given)', reused: false });
    }
  };
  const onEvent = ({ jobId }: { jobId: string }) => {
    if (!scanning) check(jobId, false).catch((e: unknown) => fail(asQueueError(e, loc)));
  };
  events.on('completed', onEvent);
  events.on('failed', onEvent);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    const list = [...byKey.values()];
    for (let i = 0; i < list.length; i += ADD_BATCH) {
      await queue.addBulk(list.slice(i, i + ADD_BATCH).map((data) => ({ name: JOB_NAME, data, opts: jobOptions(data.key) })));
    }
    await Promise.all(list.map((j) => check(j.key, true)));
    scanning = false;
    hooks.onQueued?.({ total, reused: [...outcomes.values()].filter((o) => o.reused).length });
    tell();
    if (outcomes.size === total) settle();
    // Events that fired during the scan were ignored: one pass now picks up what they reported.
    await Promise.all(list.map((j) => check(j.key, false)));
    timer = setInterval(() => {
      const open = list.filter((j) => !outcomes.has(j.key));
      Promise.all(open.map((j) => check(j.key, false))).catch((e: unknown) => fail(asQueueError(e, loc)));
    }, hooks.pollMs ?? 2000);
    await finished;
    return outcomes;
  } catch (e) {
    throw asQueueError(failure ?? e, loc);
  } finally {
    if (timer) clearInterval(timer);
    await Promise.allSettled([events.close(), queue.close()]);
  }
}

function jobOptions(key: string) {
  // Finished jobs are kept: they are the rows a later run reuses. One attempt: a replay that
  // failed fails the same way again (a killed worker's job is retried as stalled, not as failed).
  return { jobId: key, attempts: 1, removeOnComplete: false, removeOnFail: false };
}

function asQueueError(e: unknown, loc: QueueLocation): Error {
  if (e instanceof QueueError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return connectionError(e, loc);
  return e instanceof Error ? e : new Error(String(e));
}
