/**
 * Random sequences of accesses, page faults, INVLPG/INVPCID, CR3 loads (with and without
 * bit 63) and the core's own invalidations, on two address spaces with global pages: the
 * native hierarchy and the TypeScript model end every step with the same stats and the same
 * state in every array.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Machine } from '../../src/system/machine.js';
import { nativeAvailable } from '../../src/core/native-core.js';
import { HierStat, Slot } from '../../src/tlb/layout.js';
import { encodeHierarchy, resolveHierarchy } from '../../src/tlb/hierarchy-options.js';
import { packRecord } from '../../src/trace/trace-record.js';
import { propertyOptions } from '../property-options.js';
import { arrayArb } from './helpers.js';

const BASE = 0x20_0000_0000;
/** Page k: 4 pages per 2 MiB block, blocks spread over two 1 GiB regions; odd k of space 0 are global; k >= 14 are unmapped (faults). */
const pageLa = (k: number) => BASE + (k % 2) * 2 ** 30 + Math.floor(k / 4) * 2 ** 21 + (k % 4) * 4096;

type Op =
  | { t: 'access'; space: number; pages: Array<[number, number]> }
  | { t: 'inv'; op: number; space: number; page: number }
  | { t: 'cr3'; space: number; noFlush: boolean }
  | { t: 'core'; which: 'invalidate' | 'flushPcid' | 'flushAll'; space: number; page: number; global: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('access' as const), space: fc.integer({ min: 0, max: 1 }), pages: fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 3 })), { minLength: 4, maxLength: 16 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('inv' as const), op: fc.integer({ min: 0, max: 4 }), space: fc.integer({ min: 0, max: 1 }), page: fc.integer({ min: 0, max: 15 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('cr3' as const), space: fc.integer({ min: 0, max: 1 }), noFlush: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('core' as const), which: fc.constantFrom('invalidate' as const, 'flushPcid' as const, 'flushAll' as const), space: fc.integer({ min: 0, max: 1 }), page: fc.integer({ min: 0, max: 15 }), global: fc.boolean() }) },
);

function run(backend: 'native' | 'js', arrays: Record<string, unknown>, pwc: Record<string, unknown>, ops: Op[]): number[][] {
  const m = new Machine({ memory: '1GiB', backend });
  const spaces = [m.createAddressSpace(), m.createAddressSpace()];
  spaces.forEach((s, si) => {
    for (let k = 0; k < 14; k++) s.mapPage(pageLa(k), m.physical.allocFrame(), { user: true, writable: k % 3 !== 0, global: si === 0 && k % 2 === 1 });
  });
  m.switchTo(spaces[0]!);
  const st = new Float64Array(HierStat.LENGTH);
  expect(m.core.hierarchy(encodeHierarchy(resolveHierarchy({ arrays, pwc }, 'tlb', 'cpu')), st)).toBe(0);
  let cur = 0;
  const trace: number[][] = [];
  const buf = new Float64Array(5 * 64 + 2);
  const out = new Float64Array(5);
  for (const o of ops) {
    if (o.t === 'access') {
      const w = new Uint32Array(o.pages.length * 2);
      o.pages.forEach(([k, kind], i) => packRecord(w, i, pageLa(k) + 8, kind, 8));
      if (cur !== o.space) {
        m.switchTo(spaces[o.space]!);
        cur = o.space;
      }
      // A fault (unmapped page, write to a read-only one) stops the batch; the rest is skipped.
      trace.push([m.core.hierTraceBatch(w, 0, o.pages.length, 1, out)]);
    } else if (o.t === 'inv') {
      m.core.hierInvalidate(o.op, spaces[o.space]!.pcid, pageLa(o.page));
    } else if (o.t === 'cr3') {
      m.core.setCr3(spaces[o.space]!.rootFrame, spaces[o.space]!.pcid, o.noFlush);
    } else if (o.which === 'invalidate') m.core.invalidate(spaces[o.space]!.pcid, pageLa(o.page), 1);
    else if (o.which === 'flushPcid') m.core.flushPcid(spaces[o.space]!.pcid);
    else m.core.flushAll(o.global);
    trace.push(Array.from(st));
    for (let s = 0; s < Slot.COUNT; s++) {
      const n = m.core.hierDump(s, buf);
      trace.push(n < 0 ? [n] : Array.from(buf.subarray(0, n)));
    }
  }
  m.dispose();
  return trace;
}

describe.skipIf(!nativeAvailable())('hierarchy invalidation: native = TypeScript model', () => {
  it('every step of random access/invalidate/CR3 sequences leaves the same stats and array states', () => {
    const small = fc.option(arrayArb(), { nil: undefined });
    fc.assert(
      fc.property(fc.record({ l1i: small, l1d: small, l1d2m: small, stlb: arrayArb() }), fc.record({ pml4: small, pdpt: small, pd: small }), fc.array(op, { minLength: 10, maxLength: 60 }), (arrays, pwc, ops) => {
        const clean = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
        expect(run('native', clean(arrays), clean(pwc), ops)).toEqual(run('js', clean(arrays), clean(pwc), ops));
      }),
      propertyOptions(80),
    );
  });
});
