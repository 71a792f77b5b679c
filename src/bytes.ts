/** Byte arguments at the API edge. */
import { VmmError } from './errors.js';
import { describe } from './address.js';

/** Longest array-like accepted (it is copied first). */
const MAX_BYTES = 2 ** 31;

/**
 * Accepts a Uint8Array as is, or copies an array-like of bytes, each an integer 0..255 (a
 * detached typed array is empty). EINVAL names `arg` (and the index of a value that is not a byte).
 */
export function toBytes(bytes: unknown, arg = 'bytes'): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes === null || typeof bytes !== 'object') throw notBytes(bytes, arg);
  const n = (bytes as ArrayLike<unknown>).length;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_BYTES) throw notBytes(bytes, arg);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = (bytes as ArrayLike<unknown>)[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) throw new VmmError('EINVAL', `${arg}[${i}] must be a byte (an integer 0..255), got ${describe(v)}`);
    out[i] = v;
  }
  return out;
}

function notBytes(bytes: unknown, arg: string): VmmError {
  return new VmmError('EINVAL', `${arg} must be a Uint8Array or an array of bytes, got ${describe(bytes)}`);
}
