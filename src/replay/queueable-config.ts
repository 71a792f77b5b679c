/**
 * What of a replay configuration can run on another machine: plain data only (it travels as
 * JSON), and nothing that makes a worker touch a file the queue names. A worker reads only the
 * trace, under its --root directories; a swap file would be a write anywhere.
 */
import { VmmError } from '../errors.js';
import { canonicalJson } from '../queue/canonical-json.js';

/** Throws VmmError EINVAL (naming `arg`) unless `config` can be replayed by a queue worker. */
export function checkQueueableConfig(config: unknown, arg: string): void {
  const c = config as { policyOptions?: { future?: unknown }; swap?: unknown; from?: unknown; save?: unknown };
  if (c.from !== undefined && typeof c.from !== 'string') throw new VmmError('EINVAL', `${arg}.from cannot travel to a worker: give a snapshot file's path (Machine.save, or replay's save)`);
  if (c.save !== undefined) throw new VmmError('EINVAL', `${arg}.save: a worker writes no file a job names; leave it out`);
  canonicalJson(config, arg);
  if (c.policyOptions?.future !== undefined) throw new VmmError('EINVAL', `${arg}.policyOptions.future cannot travel to a worker: leave it out (the replay computes OPT's future from the trace)`);
  if (c.swap !== null && typeof c.swap === 'object' && (c.swap as { file?: unknown }).file !== undefined) {
    throw new VmmError('EINVAL', `${arg}.swap.file: a worker writes no file a job names; leave it out (the swap device is then kept in host memory)`);
  }
}
