/**
 * A multi-generation LRU in the style of Linux's MGLRU (mm/vmscan.c, lru_gen). Pages live in
 * generations numbered min_seq..max_seq (2 to 4 of them). A faulted page joins the youngest
 * generation. Before evicting, when only MIN_NR_GENS (2) generations exist, aging creates a
 * new youngest generation and moves every page whose Accessed bit is set into it (clearing
 * the bit), as Linux's page-table walk does. Eviction takes the oldest generation from its
 * tail: a page found young there is promoted to the youngest generation (A cleared), others
 * are reclaimed; an empty oldest generation retires (min_seq + 1).
 * Not modelled: tiers and the PID controller between anon and file, Bloom filters, look-around.
 */
import { ACCESSED, type AccessBits, type ReclaimPolicy } from '../policy.js';
import { PageList } from '../page-list.js';
import { SCAN_BATCH, Scratch } from '../scratch.js';

const MIN_NR_GENS = 2;

/** Multi-generation LRU over the Accessed bits. */
export class MglruPolicy implements ReclaimPolicy {
  readonly name = 'mglru';
  readonly kind = 'ad-bits' as const;
  private readonly gens = new Map<number, PageList>();
  private readonly genOf = new Map<number, number>();
  private readonly scratch = new Scratch();
  private minSeq = 0;
  private maxSeq = 1;

  constructor() {
    this.gens.set(0, new PageList());
    this.gens.set(1, new PageList());
  }
  /** Generations now (max_seq - min_seq + 1). */
  get generations(): number {
    return this.maxSeq - this.minSeq + 1;
  }
  get size(): number {
    return this.genOf.size;
  }
  insert(key: number): void {
    this.gens.get(this.maxSeq)!.pushHead(key);
    this.genOf.set(key, this.maxSeq);
  }
  remove(key: number): void {
    const g = this.genOf.get(key);
    if (g === undefined) return;
    this.gens.get(g)!.remove(key);
    this.genOf.delete(key);
  }
  /** MADV_COLD: to the tail of the oldest generation. */
  deactivate(key: number): void {
    const g = this.genOf.get(key);
    if (g === undefined) return;
    this.gens.get(g)!.remove(key);
    this.gens.get(this.minSeq)!.pushTail(key);
    this.genOf.set(key, this.minSeq);
  }
  select(count: number, bits: AccessBits, out: Float64Array): number {
    const s = this.scratch;
    let n = 0;
    while (n < count && this.size > 0) {
      if (this.generations <= MIN_NR_GENS) this.age(bits);
      const oldest = this.gens.get(this.minSeq)!;
      if (oldest.size === 0) {
        this.gens.delete(this.minSeq++);
        continue;
      }
      const len = oldest.fromTail(s.keys, Math.min(SCAN_BATCH, oldest.size));
      bits.read(s.keys, len, s.bits);
      let young = 0;
      for (let i = 0; i < len && n < count; i++) {
        const key = s.keys[i]!;
        oldest.remove(key);
        if ((s.bits[i]! & ACCESSED) !== 0) {
          this.gens.get(this.maxSeq)!.pushHead(key);
          this.genOf.set(key, this.maxSeq);
          s.keys[young++] = key;
        } else {
          this.genOf.delete(key);
          out[n++] = key;
        }
      }
      if (young > 0) bits.clearAccessed(s.keys, young);
    }
    return n;
  }

  /** inc_max_seq plus the page-table walk: young pages move to the new youngest generation. */
  private age(bits: AccessBits): void {
    const s = this.scratch;
    this.maxSeq++;
    const youngest = new PageList();
    this.gens.set(this.maxSeq, youngest);
    for (let seq = this.minSeq; seq < this.maxSeq; seq++) {
      const list = this.gens.get(seq)!;
      if (list.size === 0) continue;
      s.ensure(list.size);
      const len = list.fromTail(s.keys, list.size);
      bits.read(s.keys, len, s.bits);
      let young = 0;
      for (let i = 0; i < len; i++) {
        if ((s.bits[i]! & ACCESSED) === 0) continue;
        const key = s.keys[i]!;
        list.remove(key);
        youngest.pushHead(key);
        this.genOf.set(key, this.maxSeq);
        s.keys[young++] = key;
      }
      if (young > 0) bits.clearAccessed(s.keys, young);
    }
  }
}
