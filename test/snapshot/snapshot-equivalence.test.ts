/**
 * Snapshot equivalence: a random program runs 2N steps on a machine; a snapshot taken after N
 * steps is restored, and the restored machine runs the last N steps. Both machines end with the
 * same digest (every statistic, every process's /proc view, all of physical memory) and each
 * step observed the same thing, on both backends; the invariant auditor passes on the restored
 * machine; one snapshot restores many times; the original is unaffected by the restores.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Machine } from '../../src/system/machine.js';
import { BACKENDS } from '../backends.js';
import { propertyOptions } from '../property-options.js';
import { auditMachine } from '../support/invariants.js';
import { configArb, digest, runStep, stepArb } from '../support/machine-program.js';

describe.each(BACKENDS)('snapshot equivalence (%s)', (backend) => {
  it('a restored machine continues exactly as the original does', () => {
    fc.assert(
      fc.property(configArb(backend), fc.array(stepArb, { minLength: 2, maxLength: 60 }), fc.array(stepArb, { minLength: 1, maxLength: 60 }), (cfg, first, rest) => {
        using m = new Machine(cfg);
        m.createAddressSpace();
        for (const s of first) runStep(m, s);
        using snap = m.snapshot();
        using r = snap.restore();
        auditMachine(r);
        const a = rest.map((s) => runStep(m, s));
        const b = rest.map((s) => runStep(r, s));
        expect(b).toEqual(a);
        expect(digest(r)).toBe(digest(m));
        auditMachine(r);
        // The same snapshot again: the same end (the restores and the original shared nothing).
        using r2 = snap.restore();
        expect(rest.map((s) => runStep(r2, s))).toEqual(a);
        expect(digest(r2)).toBe(digest(m));
      }),
      propertyOptions(200, 10),
    );
  });
});
