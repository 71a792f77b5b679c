/** ShadowEntries: a file's shadow entries by page offset behave as a Map of offset → value would. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ShadowEntries } from '../../src/vmm/file/shadow-entries.js';

type Op = { k: 'set'; i: number; v: number } | { k: 'delete'; i: number } | { k: 'range'; first: number; last: number } | { k: 'clear' };

const offset = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 41 }));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('set' as const), i: offset, v: fc.integer({ min: 0, max: 2 ** 40 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('delete' as const), i: offset }) },
  { weight: 1, arbitrary: fc.tuple(offset, fc.integer({ min: -1, max: 200 })).map(([first, n]) => ({ k: 'range' as const, first, last: first + n })) },
  { weight: 1, arbitrary: fc.constant({ k: 'clear' as const }) },
);

describe('ShadowEntries', () => {
  it('gets, sets, deletes, deletes ranges and clears as a Map does (sizes included)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const s = new ShadowEntries();
        const m = new Map<number, number>();
        for (const o of ops) {
          if (o.k === 'set') {
            s.set(o.i, o.v);
            m.set(o.i, o.v);
          } else if (o.k === 'delete') expect(s.delete(o.i)).toBe(m.delete(o.i));
          else if (o.k === 'range') {
            s.deleteRange(o.first, o.last);
            for (const i of [...m.keys()]) if (i >= o.first && i <= o.last) m.delete(i);
          } else {
            s.clear();
            m.clear();
          }
          expect(s.size).toBe(m.size);
        }
        for (const i of m.keys()) expect(s.get(i)).toBe(m.get(i));
        for (const o of ops) if (o.k !== 'clear' && o.k !== 'range') expect(s.get(o.i)).toBe(m.get(o.i));
      }),
      { numRuns: 300 },
    );
  });

  it('has no entry where none was set, next to one that was (same node), and an entry of value 0 is an entry', () => {
    const s = new ShadowEntries();
    s.set(64, 0);
    expect(s.get(64)).toBe(0);
    expect(s.get(65)).toBeUndefined();
    expect(s.get(0)).toBeUndefined();
    expect(s.delete(65)).toBe(false);
    expect(s.delete(64)).toBe(true);
    expect(s.delete(64)).toBe(false);
    expect(s.size).toBe(0);
  });
});
