/** Mattson's stack distances against a direct LRU-stack model, and their errors. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { stackDistances } from '../../src/reclaim/stack-distance.js';
import { VmmError } from '../../src/errors.js';
import { propertyOptions } from '../property-options.js';

/** The stack itself: distance = 1-based position of the page, 0 when not there. */
function modelDistances(refs: number[]): number[] {
  const stack: number[] = [];
  return refs.map((p) => {
    const i = stack.indexOf(p);
    if (i >= 0) stack.splice(i, 1);
    stack.unshift(p);
    return i + 1;
  });
}

describe('stackDistances', () => {
  it('the classic string: 12 LRU faults with 3 frames; its 6 distinct pages fault at every size', () => {
    const refs = [7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1];
    const sd = stackDistances(refs, { keepDistances: true });
    expect(sd.faults(3)).toBe(12);
    expect(sd.coldMisses).toBe(6);
    expect(sd.faults(6)).toBe(6);
    expect(sd.faults(1000)).toBe(6);
    expect(sd.references).toBe(20);
    expect([...sd.distances!]).toEqual(modelDistances(refs));
  });

  it('distances equal the stack model; the fault curve never rises with more frames', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 300 }), (refs) => {
        const sd = stackDistances(refs, { keepDistances: true });
        const model = modelDistances(refs);
        expect([...sd.distances!]).toEqual(model);
        let prev = Infinity;
        for (let c = 1; c <= 32; c++) {
          const f = sd.faults(c);
          expect(f).toBe(model.filter((d) => d === 0 || d > c).length);
          expect(f).toBeLessThanOrEqual(prev);
          prev = f;
        }
        const h = sd.histogram;
        expect(h.reduce((a, b) => a + b, 0) + sd.coldMisses).toBe(refs.length);
      }),
      propertyOptions(200),
    );
  });

  it('an empty sequence has no faults', () => {
    expect(stackDistances([]).faults(4)).toBe(0);
  });

  it('refuses a non-positive or fractional frame count', () => {
    const sd = stackDistances([1, 2]);
    for (const bad of [0, -1, 1.5, NaN]) {
      expect(() => sd.faults(bad)).toThrow(VmmError);
      expect(() => sd.faults(bad)).toThrow(/frames must be a positive integer/);
    }
  });
});
