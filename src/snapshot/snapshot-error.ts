/** Why a machine cannot be captured, or a snapshot file cannot be read. */
import { VmmError, type ErrnoCode } from '../errors.js';

/** A snapshot that cannot be taken, restored, saved or loaded: a VmmError (EINVAL: what cannot be captured; EIO/ENOEXEC: a bad file) with what and where. */
export class SnapshotError extends VmmError {
  constructor(code: ErrnoCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SnapshotError';
  }
}
