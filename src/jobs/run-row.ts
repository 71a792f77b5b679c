/**
 * One row of a distributed sweep, on a worker: check the job, open its trace under the worker's
 * roots, check the trace's content against the job's hash, replay, and return the encoded
 * result. The hash is checked before a byte is parsed, so a replay only ever runs on a file
 * whose content the job already named; and an error never carries the trace's contents (a
 * parse error's quoted text is dropped), only what went wrong and where.
 */
import { replay } from '../replay/replay.js';
import { resolveReplayOptions } from '../replay/replay-options.js';
import { checkQueueableConfig } from '../replay/queueable-config.js';
import { packageVersion } from '../package-info.js';
import { hashFile } from '../queue/file-hash.js';
import { checkRowJob } from '../queue/row-job.js';
import { encodeRow } from '../queue/row-codec.js';
import { QueueError } from '../queue/queue-error.js';
import { openUnderRoots, type RootedFile } from './trace-roots.js';
import { snapshotParent } from '../snapshot/snapshot-file.js';
import type { FileHandle } from 'node:fs/promises';
import type { SweepConfig } from '../replay/sweep-row.js';

/** Content hashes of files already read, by device, inode, size and times: each trace is hashed once per process, not once per row. */
const hashes = new Map<string, string>();
const MAX_HASHES = 1024;

/** Computes the row `data` describes, reading only under `roots`; resolves with the encoded result, rejects with an Error whose message is safe to show the queue. */
export async function runRow(data: unknown, roots: readonly string[], jobId?: string): Promise<string> {
  const job = checkRowJob(data, packageVersion());
  if (jobId !== undefined && jobId !== job.key) throw new QueueError('EJOB', 'malformed job: its id is not its key');
  try {
    checkQueueableConfig(job.config, 'config');
    resolveReplayOptions(job.config);
  } catch (e) {
    throw new QueueError('EINVAL', `bad configuration: ${(e as Error).message}`);
  }
  if (job.config['from'] !== undefined) throw new QueueError('EINVAL', 'bad configuration: config.from: the snapshot travels as the job\'s snapshot');
  const shown = job.trace.path;
  const snap = job.snapshot ? await openSnapshot(job.snapshot, roots) : undefined;
  try {
    const { handle, readPath } = await openUnderRoots(shown, roots);
    try {
      if ((await contentHash(handle)) !== job.trace.hash) {
        throw new QueueError('ESTALE', `trace ${shown} has changed since the sweep was queued (its content hash differs); run the sweep again to queue rows for its new content`);
      }
      const config = { ...(job.config as SweepConfig), ...(snap ? { from: snap.readPath } : {}) };
      const result = await replay(readPath, config).catch((e: unknown) => {
        throw replayError(e, shown, readPath, snap ? [snap.readPath, job.snapshot!.path] : undefined);
      });
      if (result.from && job.snapshot) result.from.snapshot = job.snapshot.path;
      return encodeRow(result);
    } finally {
      await handle.close();
    }
  } finally {
    await snap?.handle.close();
  }
}

/** The job's snapshot opened under the roots, its content checked against the job's hash, and whole (a diff names a parent the job does not). */
async function openSnapshot(s: { path: string; hash: string }, roots: readonly string[]): Promise<RootedFile> {
  const f = await openUnderRoots(s.path, roots, 'snapshot');
  try {
    if ((await contentHash(f.handle)) !== s.hash) throw new QueueError('ESTALE', `snapshot ${s.path} has changed since the sweep was queued (its content hash differs); run the sweep again`);
    let parent: string | undefined;
    try {
      parent = snapshotParent(f.readPath);
    } catch {
      throw new QueueError('EINVAL', `snapshot ${s.path} is not a snapshot file this vmsim reads`);
    }
    if (parent !== undefined) throw new QueueError('EINVAL', `snapshot ${s.path} is a diff of another snapshot; a worker reads only whole ones`);
    return f;
  } catch (e) {
    await f.handle.close();
    throw e;
  }
}

async function contentHash(handle: FileHandle): Promise<string> {
  const st = await handle.stat({ bigint: true });
  const id = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  const known = hashes.get(id);
  if (known !== undefined) return known;
  const h = await hashFile(handle.fd);
  if (hashes.size >= MAX_HASHES) hashes.clear();
  hashes.set(id, h);
  return h;
}

/** A replay's error as a row reports it: the job's path for the file, and no quoted text from the file. */
function replayError(e: unknown, shown: string, readPath: string, snapshot?: [readPath: string, shown: string]): Error {
  if (snapshot && e instanceof Error) e.message = e.message.split(snapshot[0]).join(snapshot[1]);
  const err = e as { name?: string; reason?: string; line?: number; byteOffset?: number; message?: string; code?: string } | null;
  if (err?.name === 'TraceFormatError' && typeof err.reason === 'string') {
    const at = err.line !== undefined ? ` line ${err.line}` : err.byteOffset !== undefined ? ` byte ${err.byteOffset}` : '';
    return new QueueError('EINVAL', `trace ${shown}${at}: ${safeText(err.reason, shown, readPath)}`);
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new QueueError(typeof err?.code === 'string' ? err.code : 'EIO', `replay failed: ${safeText(msg, shown, readPath)}`);
}

function safeText(text: string, shown: string, readPath: string): string {
  return text.split(readPath).join(shown).replace(/"(?:[^"\\\n]|\\.)*"/g, '"…"').slice(0, 500);
}
