/**
 * Enhanced clock (NRU classes by Accessed and Dirty). Classes, best victim first:
 * (A=0,D=0), (A=0,D=1), (A=1,D=0), (A=1,D=1). The hand makes up to four passes over the
 * ring: 1) look for (0,0) changing nothing; 2) look for (0,1), clearing A of every page it
 * passes; 3) and 4) repeat 1) and 2) (every A is clear by then). The hand moves over every
 * page it looks at, as in the clock; the new page goes just behind it.
 */
import { ACCESSED, DIRTY, type AccessBits } from '../policy.js';
import { FIRST_BATCH, SCAN_BATCH } from '../scratch.js';
import { RingPolicy } from './ring-policy.js';

/** Not-recently-used by the enhanced clock algorithm. */
export class NruPolicy extends RingPolicy {
  readonly name = 'nru';

  protected victim(bits: AccessBits): number {
    for (let pass = 0; pass < 4; pass++) {
      const found = this.pass(bits, (pass & 1) === 0 ? 0 : DIRTY, (pass & 1) === 1);
      if (found !== undefined) return found;
    }
    throw new Error('nru: no victim after four passes (unreachable)');
  }

  /** One trip of the hand around the ring looking for class `want`; undefined when none. */
  private pass(bits: AccessBits, want: number, clear: boolean): number | undefined {
    const s = this.scratch;
    let left = this.ring.size;
    let batch = FIRST_BATCH;
    while (left > 0) {
      const len = this.ring.fromTail(s.keys, Math.min(batch, left));
      bits.read(s.keys, len, s.bits);
      let i = 0;
      while (i < len && (s.bits[i]! & (ACCESSED | DIRTY)) !== want) i++;
      if (clear && i > 0) bits.clearAccessed(s.keys, i);
      for (let j = 0; j < i; j++) this.ring.moveToHead(s.keys[j]!);
      if (i < len) {
        this.ring.remove(s.keys[i]!);
        return s.keys[i]!;
      }
      left -= len;
      batch = Math.min(SCAN_BATCH, batch * 2);
    }
    return undefined;
  }
}
