/**
 * One row of a distributed sweep as a job: which trace (a path every worker can read, and the
 * hash of its content), which snapshot the replay starts from (likewise a path and its hash, or
 * null), and which configuration (plain data). The job's
 * key — its BullMQ job id, its SLURM row file — is the hash of exactly these and of the vmsim
 * version that computes it, so equal work is done once and a row is reused only where it would
 * come out the same. The configuration is opaque here: what it means is the replay's business.
 */
import { createHash } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { canonicalJson } from './canonical-json.js';
import { QueueError } from './queue-error.js';

/** The format tag every row job carries (changed when the job's shape or meaning changes). */
export const ROW_JOB_FORMAT = 'vmsim-row/1';

/** What a worker needs to compute one row. */
export interface RowJob {
  format: typeof ROW_JOB_FORMAT;
  /** The vmsim version that queued it; a worker of another version refuses it (its row could differ). */
  version: string;
  /** Hex SHA-256 of everything below: the job's identity. */
  key: string;
  /** The trace: an absolute path on the shared file system, and the SHA-256 of its bytes. */
  trace: { path: string; hash: string };
  /** The snapshot file the replay starts from (an absolute path and the SHA-256 of its bytes), or null. */
  snapshot: { path: string; hash: string } | null;
  /** The replay configuration, plain data. */
  config: Record<string, unknown>;
}

const HASH = /^[0-9a-f]{64}$/;

/** The key of a row: SHA-256 over the format, the version, the trace's and snapshot's content hashes and the canonical configuration. */
export function rowKey(version: string, traceHash: string, snapshotHash: string | null, config: unknown): string {
  const text = `${ROW_JOB_FORMAT}\nvmsim ${version}\ntrace ${traceHash}\nsnapshot ${snapshotHash ?? '-'}\nconfig ${canonicalJson(config, 'config')}\n`;
  return createHash('sha256').update(text).digest('hex');
}

/** A row job for `config` over the trace at `path` (absolute) whose content hashes to `hash`, from `snapshot` if given. */
export function makeRowJob(version: string, path: string, hash: string, config: Record<string, unknown>, snapshot: { path: string; hash: string } | null = null): RowJob {
  return { format: ROW_JOB_FORMAT, version, key: rowKey(version, hash, snapshot?.hash ?? null, config), trace: { path, hash }, snapshot, config };
}

/**
 * Checks data a worker took from a queue (anyone who can write to the queue wrote it): the exact
 * shape, this worker's version, and a key that matches the rest. Throws QueueError EJOB saying
 * what is wrong, without echoing the data.
 */
export function checkRowJob(data: unknown, version: string): RowJob {
  const bad = (why: string): never => {
    throw new QueueError('EJOB', `malformed job: ${why}`);
  };
  if (data === null || typeof data !== 'object' || Array.isArray(data)) bad('not an object');
  const d = data as Record<string, unknown>;
  const keys = Object.keys(d).sort().join(',');
  if (keys !== 'config,format,key,snapshot,trace,version') bad(`fields must be format, version, key, trace, snapshot, config`);
  if (d['format'] !== ROW_JOB_FORMAT) bad(`format must be ${ROW_JOB_FORMAT}`);
  if (typeof d['version'] !== 'string') bad('version must be a string');
  if (d['version'] !== version) {
    throw new QueueError('EVERSION', `the job was queued by vmsim ${String(d['version']).slice(0, 40)} and this worker is vmsim ${version}: rows of different versions may differ, so run workers of the sweep's version`);
  }
  const t = d['trace'] as Record<string, unknown> | null;
  if (t === null || typeof t !== 'object' || Array.isArray(t) || Object.keys(t).sort().join(',') !== 'hash,path') bad('trace must be { path, hash }');
  if (typeof t!['path'] !== 'string' || !isAbsolute(t!['path']) || t!['path'].includes('\0')) bad('trace.path must be an absolute path');
  if (typeof t!['hash'] !== 'string' || !HASH.test(t!['hash'])) bad('trace.hash must be a hex SHA-256');
  const sn = d['snapshot'] as Record<string, unknown> | null;
  if (sn !== null) {
    if (typeof sn !== 'object' || Array.isArray(sn) || Object.keys(sn).sort().join(',') !== 'hash,path') bad('snapshot must be null or { path, hash }');
    if (typeof sn['path'] !== 'string' || !isAbsolute(sn['path']) || sn['path'].includes('\0')) bad('snapshot.path must be an absolute path');
    if (typeof sn['hash'] !== 'string' || !HASH.test(sn['hash'])) bad('snapshot.hash must be a hex SHA-256');
  }
  const c = d['config'];
  if (c === null || typeof c !== 'object' || Array.isArray(c)) bad('config must be an object');
  if (typeof d['key'] !== 'string' || !HASH.test(d['key'])) bad('key must be a hex SHA-256');
  let key: string;
  try {
    key = rowKey(version, t!['hash'] as string, sn === null ? null : (sn['hash'] as string), c);
  } catch (e) {
    return bad((e as Error).message);
  }
  if (key !== d['key']) bad('key does not match the trace and snapshot hashes and configuration');
  return d as unknown as RowJob;
}
