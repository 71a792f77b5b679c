/** Byte arguments at the API edge. */
import { VmmError } from './errors.js';
import { describe } from './address.js';

/** Accepts a Uint8Array as is, or copies an array-like of bytes (integers 0-255, nothing else); EINVAL names `arg` and the first bad element. */
export function toBytes(bytes: unknown, arg = 'bytes'): Uint8Array {
  // Kept tiny so V8 inlines it into the write hit path; the copy and checks are out of line.
  return bytes instanceof Uint8Array ? bytes : copyBytes(bytes, arg);
}

function copyBytes(bytes: unknown, arg: string): Uint8Array {
  if (bytes === null || typeof bytes !== 'object' || typeof (bytes as ArrayLike<number>).length !== 'number') {
    throw new VmmError('EINVAL', `${arg} must be a Uint8Array or an array of bytes, got ${describe(bytes)}`);
  }
  const src = bytes as ArrayLike<unknown>;
  if (!Number.isSafeInteger(src.length) || src.length < 0 || src.length > 2 ** 31) throw new VmmError('EINVAL', `${arg}.length must be an integer in [0, 2^31], got ${describe(src.length)}`);
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const b = src[i];
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 255) throw new VmmError('EINVAL', `${arg}[${i}] must be an integer 0-255, got ${describe(b)}`);
    out[i] = b;
  }
  return out;
}
