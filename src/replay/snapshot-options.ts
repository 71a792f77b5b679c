/**
 * The snapshot options of replay (`from`, `save`) checked with the others (resolveReplayOptions).
 * Nothing of src/snapshot is imported here (the teaching page bundles the replay options, not
 * snapshots): that `from` is a Snapshot and not another object is checked where it is used.
 */
import { VmmError } from '../errors.js';

/** Replay options that describe a fresh machine or process, which a snapshot already has. */
export const NOT_WITH_FROM = ['memory', 'vm', 'frames', 'policy', 'policyOptions', 'swap', 'flushAccessed', 'setup'] as const;

/** EINVAL unless `from` and `save` are well formed and `from` comes without options of a fresh machine. */
export function checkSnapshotOptions(o: Readonly<Record<string, unknown>>): void {
  if (o['from'] !== undefined) {
    if ((typeof o['from'] !== 'object' || o['from'] === null) && (typeof o['from'] !== 'string' || o['from'] === '')) throw new VmmError('EINVAL', `options.from must be a snapshot file's path or a Snapshot, got ${describeValue(o['from'])}`);
    for (const k of NOT_WITH_FROM) if (o[k] !== undefined) throw new VmmError('EINVAL', `options.${k} cannot go with options.from: the snapshot's machine has its own memory and process`);
  }
  if (o['save'] !== undefined && (typeof o['save'] !== 'string' || o['save'] === '')) throw new VmmError('EINVAL', `options.save must be a file path, got ${describeValue(o['save'])}`);
}

function describeValue(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : v === null ? 'null' : typeof v;
}
