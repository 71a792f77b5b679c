/**
 * Clock (second chance). The pages form a ring in load order; the hand starts at the first
 * page loaded. At a victim search the hand clears the Accessed bit of each page that has it
 * and moves on; the first page found without it is the victim, and the new page takes its
 * place just behind the hand (so the hand next looks at the page after the victim).
 */
import { ACCESSED, type AccessBits } from '../policy.js';
import { FIRST_BATCH, SCAN_BATCH } from '../scratch.js';
import { RingPolicy } from './ring-policy.js';

/** Second-chance clock over the Accessed bits. */
export class ClockPolicy extends RingPolicy {
  readonly name = 'clock';

  protected victim(bits: AccessBits): number {
    const s = this.scratch;
    // Most searches end within a few pages: read a few first, more each round.
    let batch = FIRST_BATCH;
    for (;;) {
      const len = this.ring.fromTail(s.keys, Math.min(batch, this.ring.size));
      bits.read(s.keys, len, s.bits);
      let i = 0;
      while (i < len && (s.bits[i]! & ACCESSED) !== 0) i++;
      // Pages [0, i) get their second chance: A cleared, hand moves past them.
      if (i > 0) bits.clearAccessed(s.keys, i);
      for (let j = 0; j < i; j++) this.ring.moveToHead(s.keys[j]!);
      if (i < len) {
        this.ring.remove(s.keys[i]!);
        return s.keys[i]!;
      }
      batch = Math.min(SCAN_BATCH, batch * 2);
    }
  }
}
