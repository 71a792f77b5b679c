/** Region protections: 'rwx' strings at the API, a bitmask inside, Linux's 'rw-' when printed. */
import { PROT_EXEC, PROT_READ, PROT_WRITE } from './pte-attrs.js';

/** Parses letters from 'rwx' (any order, each once), '' or 'none'; throws RangeError otherwise. */
export function parseProt(s: string): number {
  if (s === '' || s === 'none' || s === '---') return 0;
  let p = 0;
  for (const ch of s) {
    const bit = ch === 'r' ? PROT_READ : ch === 'w' ? PROT_WRITE : ch === 'x' ? PROT_EXEC : ch === '-' ? 0 : -1;
    if (bit < 0 || (bit !== 0 && (p & bit) !== 0)) throw new RangeError(`bad protection ${JSON.stringify(s)}`);
    p |= bit;
  }
  return p;
}

/** Prints a protection as /proc/PID/maps does: 'rw-', 'r-x', '---'. */
export function formatProt(p: number): string {
  return (p & PROT_READ ? 'r' : '-') + (p & PROT_WRITE ? 'w' : '-') + (p & PROT_EXEC ? 'x' : '-');
}
