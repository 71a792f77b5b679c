/**
 * Differential property test: random sequences of insert, remove, protect, gap searches and
 * lookups on the gap-tracking tree and on the simple sorted array it replaced give identical
 * results (regions, returned pieces, errors), and the tree's invariants hold after every step.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { propertyOptions } from '../property-options.js';
import { RegionMap } from '../../src/vmm/region-map.js';
import { SortedRegionMap } from '../support/sorted-region-map.js';
import type { RegionRecord } from '../../src/vmm/region.js';
import { VM_GROWSDOWN } from '../../src/vmm/vm-flags.js';
import { VmmError } from '../../src/errors.js';

const PAGE = 4096;

function record(start: number, pages: number, attr: number, offset: number): RegionRecord {
  // attr picks protection, kind and backing: few values, so neighbours often merge.
  const kinds = ['mmap', 'mmap', 'stack', 'heap'] as const;
  const shared = attr % 5 === 4;
  return {
    start: start * PAGE,
    end: (start + pages) * PAGE,
    prot: attr % 3,
    kind: shared ? 'shared' : kinds[attr % 4]!,
    shared,
    backing: shared ? { type: 'object', objectId: 1 + (attr % 2), offset: offset * PAGE } : { type: 'anonymous' },
    flags: !shared && kinds[attr % 4] === 'stack' ? VM_GROWSDOWN : 0,
    anon: 0,
  };
}

const page = (space: number) => fc.integer({ min: 0, max: space - 1 });
const opOf = (space: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ t: fc.constant('insert' as const), p: page(space), n: fc.integer({ min: 1, max: 6 }), attr: fc.nat(19), off: fc.nat(8) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('remove' as const), p: page(space), n: fc.integer({ min: 1, max: 12 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('protect' as const), p: page(space), n: fc.integer({ min: 1, max: 8 }), prot: fc.nat(2) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('gap' as const), n: fc.integer({ min: 1, max: 8 }), lo: page(space), hi: page(space + 8), sg: fc.nat(3) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('query' as const), p: page(space), n: fc.integer({ min: 1, max: 8 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('clone' as const), keep: fc.boolean() }) },
  );

/** The outcome of a call: its value, or the code of the VmmError it threw. */
function outcome<T>(f: () => T): T | { error: string } {
  try {
    return f();
  } catch (e) {
    if (e instanceof VmmError) return { error: e.code };
    throw e;
  }
}

/** Maximal runs of touching regions of one sharing, from a plain scan. */
function runsOf(rs: Iterable<RegionRecord>): [number, number, boolean][] {
  const out: [number, number, boolean][] = [];
  for (const r of rs) {
    const top = out[out.length - 1];
    if (top && top[1] === r.start && top[2] === r.shared) top[1] = r.end;
    else out.push([r.start, r.end, r.shared]);
  }
  return out;
}

const plain = (rs: Iterable<RegionRecord>) => [...rs].map((r) => ({ ...r }));

describe.each([
  ['small space (collisions, merges)', 24],
  ['large space (many regions)', 4000],
])('RegionMap tree = sorted array reference: %s', (_name, space) => {
  it('random sequences give identical results and keep the invariants', () => {
    fc.assert(
      fc.property(fc.array(opOf(space), { minLength: 1, maxLength: space > 100 ? 400 : 60 }), (ops) => {
        let tree = new RegionMap();
        let ref = new SortedRegionMap();
        let snapshot: { map: RegionMap; regions: RegionRecord[] } | undefined;
        for (const o of ops) {
          // Look the op's page up before and after it: find() caches its last answer, which a change must drop.
          const probe = 'p' in o ? o.p * PAGE : undefined;
          if (probe !== undefined) expect(tree.find(probe)).toEqual(ref.find(probe));
          switch (o.t) {
            case 'insert': {
              const rec = record(o.p, o.n, o.attr, o.off);
              expect(outcome(() => ({ ...tree.insert(rec) }))).toEqual(outcome(() => ({ ...ref.insert(rec) })));
              break;
            }
            case 'remove':
              expect(plain(tree.remove(o.p * PAGE, (o.p + o.n) * PAGE))).toEqual(plain(ref.remove(o.p * PAGE, (o.p + o.n) * PAGE)));
              break;
            case 'protect':
              expect(outcome(() => plain(tree.protect(o.p * PAGE, (o.p + o.n) * PAGE, o.prot)))).toEqual(outcome(() => plain(ref.protect(o.p * PAGE, (o.p + o.n) * PAGE, o.prot))));
              break;
            case 'gap':
              expect(tree.findGapTopDown(o.n * PAGE, o.lo * PAGE, o.hi * PAGE, o.sg * PAGE)).toBe(ref.findGapTopDown(o.n * PAGE, o.lo * PAGE, o.hi * PAGE, o.sg * PAGE));
              break;
            case 'query': {
              const a = o.p * PAGE;
              const b = (o.p + o.n) * PAGE;
              expect(tree.find(a)).toEqual(ref.find(a));
              expect(tree.below(a)).toEqual(ref.below(a));
              expect(tree.findFirstOverlapping(a, b)).toEqual(ref.findFirstOverlapping(a, b));
              expect(tree.isFree(a, b)).toBe(ref.isFree(a, b));
              expect(tree.overlapping(a, b)).toEqual([...ref].filter((r) => r.end > a && r.start < b));
              const runs: [number, number, boolean][] = [];
              tree.forEachRun((s, e, sh) => runs.push([s, e, sh]));
              expect(runs).toEqual(runsOf(ref));
              break;
            }
            case 'clone': {
              // Clones share nodes: whichever one goes on changing, the other (the snapshot) must stay as it was.
              const copy = tree.clone();
              const [next, still] = o.keep ? [tree, copy] : [copy, tree];
              snapshot = { map: still, regions: plain(still) };
              tree = next;
              ref = ref.clone();
              break;
            }
          }
          if (probe !== undefined) expect(tree.find(probe)).toEqual(ref.find(probe));
          tree.check();
          expect(plain(tree)).toEqual(plain(ref));
          if (snapshot) {
            snapshot.map.check();
            expect(plain(snapshot.map)).toEqual(snapshot.regions);
          }
          expect(tree.size).toBe(ref.size);
        }
      }),
      propertyOptions(space > 100 ? 30 : 300),
    );
  });
});
