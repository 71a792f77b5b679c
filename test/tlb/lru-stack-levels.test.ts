/**
 * Exactness per level against an independent LRU-stack model (the pattern of
 * test/replay/lru-stack.test.ts): with LRU everywhere, each L1 sees its side's page stream, the
 * second level sees exactly the L1 misses of both sides, the PDE cache sees exactly the walks
 * (2 MiB block numbers), the PDPTE cache the PDE-cache misses (1 GiB numbers) and the PML4E
 * cache the PDPTE-cache misses. Memory is populated, so no fault disturbs the streams.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { replay } from '../../src/replay/replay.js';
import { BACKENDS } from '../backends.js';
import { propertyOptions } from '../property-options.js';
import { BASE, chunks, type Rec } from './helpers.js';

/** Set-associative LRU: access() makes the key MRU (filling on a miss) and says whether it was there. */
class SetLru {
  private readonly sets: number[][];
  hits = 0;
  misses = 0;
  constructor(entries: number, private readonly ways: number) {
    this.sets = Array.from({ length: entries / ways }, () => []);
  }
  access(key: number): boolean {
    const s = this.sets[key % this.sets.length]!;
    const i = s.indexOf(key);
    if (i >= 0) s.splice(i, 1);
    s.unshift(key);
    if (s.length > this.ways) s.pop();
    if (i >= 0) this.hits++;
    else this.misses++;
    return i >= 0;
  }
}

const GIB_PAGES = 262144;
/** Pages in six 2 MiB blocks: three at BASE, three 1 GiB above (two regions, populated). */
const page = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 20 })).map(([b, o]) => (b >= 3 ? GIB_PAGES + (b - 3) * 512 : b * 512) + o);
const rec: fc.Arbitrary<Rec> = fc.tuple(page, fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 0, max: 3 }), fc.constantFrom(1, 8, 64));
const shape = fc.constantFrom([1, 1], [2, 2], [4, 2], [6, 3], [8, 8], [12, 4]);

describe.each(BACKENDS)('hierarchy levels are exact LRU stacks (%s)', (backend) => {
  it('L1I, L1D, second level and the three walk caches each miss exactly as their LRU stacks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(rec, { maxLength: 300 }), shape, shape, shape, shape, shape, shape, async (recs, [ie, iw], [de, dw], [se, sw], [p4e, p4w], [p3e, p3w], [p2e, p2w]) => {
        const l1i = new SetLru(ie!, iw!);
        const l1d = new SetLru(de!, dw!);
        const stlb = new SetLru(se!, sw!);
        const pd = new SetLru(p2e!, p2w!);
        const pdpt = new SetLru(p3e!, p3w!);
        const pml4 = new SetLru(p4e!, p4w!);
        for (const [pg, off, kind, size] of recs) {
          const la = BASE + pg * 4096 + off;
          for (const vpn of new Set([Math.floor(la / 4096), Math.floor((la + size - 1) / 4096)])) {
            if ((kind === 2 ? l1i : l1d).access(vpn)) continue;
            if (stlb.access(vpn)) continue;
            if (pd.access(Math.floor(vpn / 512))) continue;
            if (pdpt.access(Math.floor(vpn / GIB_PAGES))) continue;
            pml4.access(Math.floor(vpn / (512 * GIB_PAGES)));
          }
        }
        const r = await replay(chunks(recs, 50), {
          backend,
          mode: 'regions',
          setup: (s) => {
            for (const addr of [BASE, BASE + GIB_PAGES * 4096]) s.mmap({ addr, length: 3 * 2 ** 21, prot: 'rwx', fixed: true, populate: true });
          },
          tlb: { l1i: { entries: ie!, ways: iw! }, l1d: { entries: de!, ways: dw! }, stlb: { entries: se!, ways: sw! }, pwc: { pml4: { entries: p4e!, ways: p4w! }, pdpt: { entries: p3e!, ways: p3w! }, pd: { entries: p2e!, ways: p2w! } } },
        });
        const row = (n: string) => r.tlb.levels.find((l) => l.name === n)!;
        const pairs: Array<[string, SetLru]> = [['l1i', l1i], ['l1d', l1d], ['stlb', stlb], ['pwc-pde', pd], ['pwc-pdpte', pdpt], ['pwc-pml4e', pml4]];
        for (const [n, m] of pairs) expect([n, row(n).hits, row(n).misses]).toEqual([n, m.hits, m.misses]);
        expect(r.tlb.misses).toBe(stlb.misses);
        expect(r.faults.total).toBe(0);
        // Walk references: a PDE-cache hit reads the PTE only; each further miss one more level.
        expect(r.tlb.hierarchy!.walkReferences.total).toBe(pd.hits + 2 * pdpt.hits + 3 * pml4.hits + 4 * pml4.misses);
      }),
      propertyOptions(50),
    );
  });

  it("with an L2 ITLB (AMD's split second level): it sees exactly the L1I misses, the second level exactly the L1D misses", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(rec, { maxLength: 300 }), shape, shape, shape, shape, async (recs, [ie, iw], [de, dw], [se, sw], [ue, uw]) => {
        const l1i = new SetLru(ie!, iw!);
        const l1d = new SetLru(de!, dw!);
        const stlb = new SetLru(se!, sw!);
        const l2i = new SetLru(ue!, uw!);
        let walks = 0;
        for (const [pg, off, kind, size] of recs) {
          const la = BASE + pg * 4096 + off;
          for (const vpn of new Set([Math.floor(la / 4096), Math.floor((la + size - 1) / 4096)])) {
            if ((kind === 2 ? l1i : l1d).access(vpn)) continue;
            if (!(kind === 2 ? l2i : stlb).access(vpn)) walks++;
          }
        }
        const r = await replay(chunks(recs, 50), {
          backend,
          mode: 'regions',
          setup: (s) => {
            for (const addr of [BASE, BASE + GIB_PAGES * 4096]) s.mmap({ addr, length: 3 * 2 ** 21, prot: 'rwx', fixed: true, populate: true });
          },
          tlb: { l1i: { entries: ie!, ways: iw! }, l1d: { entries: de!, ways: dw! }, stlb: { entries: se!, ways: sw! }, l2i: { entries: ue!, ways: uw! } },
        });
        const row = (n: string) => r.tlb.levels.find((l) => l.name === n)!;
        const pairs: Array<[string, SetLru]> = [['l1i', l1i], ['l1d', l1d], ['stlb', stlb], ['l2i', l2i]];
        for (const [n, m] of pairs) expect([n, row(n).hits, row(n).misses]).toEqual([n, m.hits, m.misses]);
        expect(row('l2i').level).toBe('l2i');
        const h = r.tlb.hierarchy!;
        expect(h.l2i).toMatchObject({ present: true, hits: l2i.hits, misses: l2i.misses });
        expect(h.stlb.byKind.instruction).toEqual({ hits: 0, misses: 0 });
        expect(h.stlb.byKind.data).toEqual({ hits: stlb.hits, misses: stlb.misses });
        expect(r.tlb.misses).toBe(walks);
      }),
      propertyOptions(50),
    );
  });
});
