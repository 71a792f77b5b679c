/** The browser's stand-in for src/snapshot/snapshot-file.ts: a page has no files, so machine.save and Machine.load refuse (in-memory snapshots work). */
import { VmmError } from '../../src/errors.js';
import type { Snapshot } from '../../src/snapshot/snapshot.js';
import type { SaveInfo, SaveOptions } from '../../src/snapshot/snapshot-file.js';

export type { SaveInfo, SaveOptions };

/** Refuses: ENOSYS. */
export function saveSnapshotFile(_snap: Snapshot, _path: string, _options?: SaveOptions): SaveInfo {
  throw new VmmError('ENOSYS', 'snapshot files are not available in a browser page (machine.snapshot() is)');
}

/** Refuses: ENOSYS. */
export function loadSnapshotFile(_path: string): Snapshot {
  throw new VmmError('ENOSYS', 'snapshot files are not available in a browser page (machine.snapshot() is)');
}
