/**
 * The vpn-indexed structures of reclaim against ordinary Maps and Sets under random
 * operations: PageStates (a process's per-page flags and slots) and KeyIndex (a PageList's
 * index). Keys cluster in few blocks and cross block edges, so block creation, reuse of the
 * remembered block and freeing of emptied blocks are all exercised.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CACHED, LAZY, LOCKED, PageSetView, PageSlotView, PageStates, SWAPPED, TRACKED } from '../../src/vmm/page-states.js';
import { KeyIndex } from '../../src/reclaim/key-index.js';
import { propertyOptions } from '../property-options.js';

const FLAGS = [TRACKED, LOCKED, LAZY, SWAPPED, CACHED] as const;
/** Page numbers near block edges (512) and high in the user half (2^35 pages). */
const vpn = fc.oneof(fc.integer({ min: 0, max: 1100 }), fc.integer({ min: 2 ** 35 - 600, max: 2 ** 35 - 1 }));

type Op = { op: 'add' | 'delete' | 'setSlot'; vpn: number; flag: number; slot: number };
const op: fc.Arbitrary<Op> = fc.record({ op: fc.constantFrom('add', 'delete', 'setSlot'), vpn, flag: fc.constantFrom(...FLAGS), slot: fc.integer({ min: 1, max: 2 ** 32 - 1 }) });

describe('PageStates', () => {
  it('answers as one Set per flag and one Map per slot kind, in address order', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.integer({ min: 0, max: 1200 }), fc.integer({ min: 0, max: 1200 }), (ops, x, y) => {
        const st = new PageStates();
        const sets = new Map<number, Set<number>>(FLAGS.map((f) => [f, new Set<number>()]));
        const slots = new Map<number, Map<number, number>>([[SWAPPED, new Map()], [CACHED, new Map()]]);
        for (const o of ops) {
          const set = sets.get(o.flag)!;
          if (o.op === 'add') expect(st.add(o.vpn, o.flag)).toBe(!set.has(o.vpn));
          if (o.op === 'add') set.add(o.vpn);
          if (o.op === 'delete') {
            expect(st.delete(o.vpn, o.flag)).toBe(set.delete(o.vpn));
            slots.get(o.flag)?.delete(o.vpn);
          }
          if (o.op === 'setSlot' && (o.flag === SWAPPED || o.flag === CACHED)) {
            st.setSlot(o.vpn, o.flag, o.slot);
            set.add(o.vpn);
            slots.get(o.flag)!.set(o.vpn, o.slot);
          }
        }
        const [a, b] = [Math.min(x, y), Math.max(x, y)];
        for (const f of FLAGS) {
          const want = [...sets.get(f)!].sort((p, q) => p - q);
          expect(st.count(f)).toBe(want.length);
          expect(st.all(f)).toEqual(want);
          expect(st.inRange(f, a, b)).toEqual(want.filter((v) => v >= a && v < b));
          const view = new PageSetView(st, f);
          expect(view.size).toBe(want.length);
          expect([...view]).toEqual(want);
          for (const v of want) expect(view.has(v)).toBe(true);
        }
        const anyOf = [...new Set([...sets.get(TRACKED)!, ...sets.get(LOCKED)!])].sort((p, q) => p - q);
        expect(st.all(TRACKED | LOCKED)).toEqual(anyOf);
        for (const f of [SWAPPED, CACHED] as const) {
          const m = slots.get(f)!;
          const view = new PageSlotView(st, f);
          for (const v of sets.get(f)!) if (m.has(v)) expect(view.get(v)).toBe(m.get(v));
          expect(view.get(-1 + 2 ** 35 - 700)).toBeUndefined();
          expect([...view.keys()]).toEqual([...sets.get(f)!].sort((p, q) => p - q));
        }
        for (const o of ops) expect(st.flags(o.vpn)).toBe(FLAGS.reduce((acc, f) => acc | (sets.get(f)!.has(o.vpn) ? f : 0), 0));
        st.clear();
        for (const f of FLAGS) expect(st.count(f)).toBe(0);
      }),
      propertyOptions(200),
    );
  });
});

describe('KeyIndex', () => {
  it('answers as a Map, for page numbers and for any other number a user policy may use as a key', () => {
    const key = fc.oneof(vpn, fc.constantFrom(-1, 0.5, -0, 2 ** 60, Number.NaN, 1e300));
    fc.assert(
      fc.property(fc.array(fc.record({ del: fc.boolean(), key, value: fc.integer({ min: 0, max: 2 ** 31 - 2 }) }), { maxLength: 300 }), (ops) => {
        const ix = new KeyIndex();
        const m = new Map<number, number>();
        for (const o of ops) {
          if (o.del) expect(ix.delete(o.key)).toBe(m.delete(o.key));
          else {
            ix.set(o.key, o.value);
            m.set(o.key, o.value);
          }
          expect(ix.size).toBe(m.size);
        }
        for (const o of ops) expect(ix.get(o.key)).toBe(m.get(o.key) ?? -1);
      }),
      propertyOptions(200),
    );
  });
});
