/**
 * Exactness of the TLB counts: replay against an independent model of the same TLB — an LRU
 * stack per set over the page numbers the trace touches (one lookup per page a record
 * touches). A fully associative TLB of N entries must miss exactly where the page's stack
 * distance is >= N; split L1s must see exactly their kind's pages, and the L2 exactly the L1 misses.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { replay } from '../../src/replay/replay.js';
import { BASE, chunks, type Rec } from '../tlb/helpers.js';
import { BACKENDS } from '../backends.js';
import { propertyOptions } from '../property-options.js';


/** Set-associative LRU model: hits/misses over a sequence of keys, with a payload per entry. */
class SetLru {
  private readonly sets: number[][];
  readonly payload = new Map<number, boolean>();
  hits = 0;
  misses = 0;
  constructor(
    entries: number,
    private readonly ways: number,
  ) {
    this.sets = Array.from({ length: entries / ways }, () => []);
  }
  /** Looks key up, makes it MRU (filling on a miss); returns whether it was there. */
  access(key: number, count = true): boolean {
    const s = this.sets[key % this.sets.length]!;
    const i = s.indexOf(key);
    if (i >= 0) s.splice(i, 1);
    s.unshift(key);
    if (s.length > this.ways) this.payload.delete(s.pop()!);
    if (count) {
      if (i >= 0) this.hits++;
      else this.misses++;
    }
    return i >= 0;
  }
  /** Drops every entry (a full flush). */
  clear(): void {
    for (const s of this.sets) s.length = 0;
    this.payload.clear();
  }
  remove(key: number): void {
    const s = this.sets[key % this.sets.length]!;
    const i = s.indexOf(key);
    if (i >= 0) s.splice(i, 1);
    this.payload.delete(key);
  }
}

/** Pages touched by each record, in order, with their access class ('i' or 'd'). */
function touches(recs: Rec[]): Array<[number, 'i' | 'd', boolean]> {
  const t: Array<[number, 'i' | 'd', boolean]> = [];
  for (const [page, off, kind, size] of recs) {
    const la = BASE + page * 4096 + off;
    const first = Math.floor(la / 4096);
    const last = Math.floor((la + size - 1) / 4096);
    const cls = kind === 2 ? 'i' : 'd';
    const write = kind === 1 || kind === 3;
    t.push([first, cls, write]);
    if (last !== first) t.push([last, cls, write]);
  }
  return t;
}

const rec = fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 0, max: 3 }), fc.constantFrom(1, 4, 8, 64, 4096));
const trace = fc.array(rec, { maxLength: 300 });

describe.each(BACKENDS)('TLB counts are exact (%s)', (backend) => {
  it('a fully associative LRU TLB of N entries misses exactly as an LRU stack of the page numbers', async () => {
    await fc.assert(
      fc.asyncProperty(trace, fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 50 }), async (recs, n, chunk) => {
        const model = new SetLru(n, n);
        for (const [p] of touches(recs)) model.access(p);
        const r = await replay(chunks(recs, chunk), { backend, tlb: { entries: n, ways: n } });
        expect(r.tlb.misses).toBe(model.misses);
        expect(r.tlb.hits).toBe(model.hits);
        expect(r.accesses).toBe(recs.length);
        expect(r.pagesTouched).toBe(new Set(touches(recs).map(([p]) => p)).size);
      }),
      propertyOptions(60),
    );
  });

  it('a set-associative TLB misses exactly as an LRU stack per set', async () => {
    await fc.assert(
      fc.asyncProperty(trace, fc.constantFrom([4, 1], [8, 2], [16, 4], [64, 4], [12, 3], [32, 16]), async (recs, [entries, ways]) => {
        const model = new SetLru(entries!, ways!);
        for (const [p] of touches(recs)) model.access(p);
        const r = await replay(chunks(recs, 64), { backend, tlb: { entries, ways } });
        expect([r.tlb.hits, r.tlb.misses]).toEqual([model.hits, model.misses]);
      }),
      propertyOptions(60),
    );
  });

  it('with 2 MiB pages, a fully associative TLB misses exactly as an LRU stack of the 2 MiB page numbers', async () => {
    const rec2m = fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 2 ** 21 - 1 }), fc.integer({ min: 0, max: 3 }), fc.constantFrom(1, 8, 64));
    await fc.assert(
      fc.asyncProperty(fc.array(rec2m, { maxLength: 200 }), fc.integer({ min: 1, max: 12 }), async (recs2m, n) => {
        // Spread the records over 2 MiB blocks: block b, byte offset o within it.
        const recs: Rec[] = recs2m.map(([b, o, kind, size]) => [b * 512 + Math.floor(o / 4096), o % 4096, kind, size]);
        const model = new SetLru(n, n);
        // A block read first maps the huge zero page; the first write to it then replaces the PMD
        // with pmdp_huge_clear_flush, which on x86 flushes the 2 MiB range as 512 pages at a 4 KiB
        // stride, over the ceiling: the whole PCID (the write's own lookup counts first).
        const zero = new Set<number>();
        const mapped = new Set<number>();
        for (const [p, , write] of touches(recs)) {
          const b = Math.floor(p / 512);
          model.access(b);
          if (!mapped.has(b)) {
            mapped.add(b);
            if (!write) zero.add(b);
          } else if (write && zero.has(b)) {
            zero.delete(b);
            model.clear();
            model.access(b, false);
          }
        }
        const r = await replay(chunks(recs, 64), { backend, pageSize: '2m', tlb: { entries: n, ways: n } });
        expect([r.tlb.hits, r.tlb.misses]).toEqual([model.hits, model.misses]);
        expect(r.pagesTouched).toBe(new Set(touches(recs).map(([p]) => Math.floor(p / 512))).size);
      }),
      propertyOptions(40),
    );
  });

  it('split L1 TLBs see their own pages; the L2 sees exactly the L1 misses', async () => {
    await fc.assert(
      fc.asyncProperty(trace, fc.constantFrom(1, 2, 4, 8), fc.constantFrom(2, 4, 8), fc.constantFrom(4, 8, 16), async (recs, l1i, l1d, l2) => {
        const mi = new SetLru(l1i, l1i);
        const md = new SetLru(l1d, Math.min(2, l1d));
        const m2 = new SetLru(l2, l2);
        // Anonymous memory: a page first read maps the zero page read-only ('ro'); a write makes it 'rw'.
        const state = new Map<number, 'ro' | 'rw'>();
        for (const [p, cls, write] of touches(recs)) {
          const l1 = cls === 'i' ? mi : md;
          const other = cls === 'i' ? md : mi;
          const hit = l1.access(p);
          // A write through an L1 entry filled read-only is an assist: the core (L2, walker) handles it uncounted.
          if (hit && !(write && !l1.payload.get(p))) continue;
          m2.access(p, !hit);
          // A fault (write to a read-only page) drops the page from every TLB level.
          if (write && state.get(p) === 'ro') other.remove(p);
          state.set(p, write || state.get(p) === 'rw' ? 'rw' : 'ro');
          l1.payload.set(p, state.get(p) === 'rw');
        }
        const r = await replay(chunks(recs, 64), { backend, tlb: { entries: l2, ways: l2, l1i: { entries: l1i, ways: l1i }, l1d: { entries: l1d, ways: Math.min(2, l1d) } } });
        const level = (name: string) => r.tlb.levels.find((l) => l.name === name)!;
        expect([level('l1i').hits, level('l1i').misses]).toEqual([mi.hits, mi.misses]);
        expect([level('l1d').hits, level('l1d').misses]).toEqual([md.hits, md.misses]);
        expect([level('stlb').hits, level('stlb').misses]).toEqual([m2.hits, m2.misses]);
        expect(r.tlb.misses).toBe(m2.misses);
        expect(r.tlb.hits).toBe(mi.hits + md.hits + m2.hits);
      }),
      propertyOptions(40),
    );
  });
});
