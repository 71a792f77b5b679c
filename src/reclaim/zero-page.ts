/** Whether a page of bytes is all zeros, cheaply: the swap device keeps no copy of such a page. */
import { Buffer } from 'node:buffer';
import { PAGE_SIZE } from '../address.js';

const ZEROS = Buffer.alloc(PAGE_SIZE);

/** True when bytes[offset, offset + 4096) are all zero. */
export function isZeroPage(bytes: Uint8Array, offset: number): boolean {
  // Most pages that hold data differ from zero in their first bytes: decided here without a call.
  for (let i = offset; i < offset + 16; i++) if (bytes[i] !== 0) return false;
  return ZEROS.compare(bytes, offset, offset + PAGE_SIZE) === 0;
}
