/** Byte arguments at the API edge. */
import { VmmError } from './errors.js';
import { describe } from './address.js';

/** Accepts a Uint8Array as is, or copies an array-like of bytes; EINVAL names `arg`. */
export function toBytes(bytes: unknown, arg = 'bytes'): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes === null || typeof bytes !== 'object' || typeof (bytes as ArrayLike<number>).length !== 'number') {
    throw new VmmError('EINVAL', `${arg} must be a Uint8Array or an array of bytes, got ${describe(bytes)}`);
  }
  return Uint8Array.from(bytes as ArrayLike<number>);
}
