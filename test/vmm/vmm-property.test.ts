/**
 * Random programs of mmap/munmap/mprotect/fork/read/write/destroy: every read returns what a
 * simple model says, every failure is the model's failure, no frame leaks, and both backends
 * produce the same outcomes and statistics.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { propertyOptions } from '../property-options.js';
import { Machine, SegmentationFault, VmmError, type AddressSpace } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';

const BASE = 0x1000_0000;
const PAGES = 8;
const PROTS = ['', 'r', 'rw', 'rwx', 'x', 'w'];

/** 'rw' as maps() and regions() print it: 'rw-'. */
const protText = (p: string) => (p.includes('r') ? 'r' : '-') + (p.includes('w') ? 'w' : '-') + (p.includes('x') ? 'x' : '-');

interface Cell {
  v: number;
}
type Model = Map<number, { prot: string; cell: Cell; shared: boolean }>;

const op = fc.oneof(
  fc.record({ t: fc.constant('mmap' as const), s: fc.nat(), p: fc.integer({ min: 0, max: PAGES - 1 }), n: fc.integer({ min: 1, max: 4 }), prot: fc.integer({ min: 0, max: 5 }), shared: fc.boolean() }),
  fc.record({ t: fc.constant('munmap' as const), s: fc.nat(), p: fc.integer({ min: 0, max: PAGES - 1 }), n: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ t: fc.constant('mprotect' as const), s: fc.nat(), p: fc.integer({ min: 0, max: PAGES - 1 }), n: fc.integer({ min: 1, max: 4 }), prot: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ t: fc.constant('write' as const), s: fc.nat(), p: fc.integer({ min: 0, max: PAGES - 1 }), v: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ t: fc.constant('read' as const), s: fc.nat(), p: fc.integer({ min: 0, max: PAGES - 1 }) }),
  fc.record({ t: fc.constant('fork' as const), s: fc.nat() }),
  fc.record({ t: fc.constant('destroy' as const), s: fc.nat() }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

/** Runs a program; returns a transcript of outcomes (compared across backends). */
function play(backend: 'native' | 'js', ops: Op[]): string[] {
  const m = new Machine({ memory: '16MiB', backend, tlb: { entries: 8, ways: 2 } });
  const free0 = m.physical.freeFrames;
  const spaces: AddressSpace[] = [m.createAddressSpace({ stack: false })];
  const models: Model[] = [new Map()];
  const log: string[] = [];
  const outcome = (f: () => unknown): string => {
    try {
      return `ok ${String(f())}`;
    } catch (e) {
      if (e instanceof SegmentationFault) return e.cause;
      if (e instanceof VmmError) return e.code;
      throw e;
    }
  };
  for (const o of ops) {
    if (spaces.length === 0) spaces.push(m.createAddressSpace({ stack: false })), models.push(new Map());
    const i = 's' in o ? o.s % spaces.length : 0;
    const s = spaces[i]!;
    const model = models[i]!;
    const addr = 'p' in o ? BASE + o.p * 4096 : 0;
    switch (o.t) {
      case 'mmap': {
        const n = Math.min(o.n, PAGES - o.p);
        const r = outcome(() => s.mmap({ addr, length: n * 4096, prot: PROTS[o.prot]!, fixed: true, shared: o.shared }));
        expect(r).toBe(`ok ${addr}`);
        const shared: Cell[] = [];
        for (let k = 0; k < n; k++) model.set(o.p + k, { prot: PROTS[o.prot]!, cell: (shared[k] = { v: 0 }), shared: o.shared });
        log.push(r);
        break;
      }
      case 'munmap': {
        const r = outcome(() => s.munmap(addr, o.n * 4096));
        expect(r).toBe('ok undefined');
        for (let k = 0; k < o.n; k++) model.delete(o.p + k);
        log.push(r);
        break;
      }
      case 'mprotect': {
        const n = Math.min(o.n, PAGES - o.p);
        const r = outcome(() => s.mprotect(addr, n * 4096, PROTS[o.prot]!));
        // Linux: the pages before the first hole take the new protection, then the hole is ENOMEM.
        let covered = 0;
        while (covered < n && model.has(o.p + covered)) covered++;
        expect(r).toBe(covered < n ? 'ENOMEM' : 'ok undefined');
        for (let k = 0; k < covered; k++) model.get(o.p + k)!.prot = PROTS[o.prot]!;
        log.push(r);
        break;
      }
      case 'write': {
        const r = outcome(() => s.write(addr + 100, [o.v]));
        const e = model.get(o.p);
        expect(r).toBe(!e ? 'SEGV_MAPERR' : e.prot.includes('w') ? 'ok undefined' : 'SEGV_ACCERR');
        if (e && e.prot.includes('w')) e.cell.v = o.v;
        log.push(r);
        break;
      }
      case 'read': {
        const r = outcome(() => s.read(addr + 100, 1)[0]);
        const e = model.get(o.p);
        expect(r).toBe(!e ? 'SEGV_MAPERR' : e.prot === '' ? 'SEGV_ACCERR' : `ok ${e.cell.v}`);
        log.push(r);
        break;
      }
      case 'fork': {
        if (spaces.length >= 4) break;
        spaces.push(s.fork());
        const child: Model = new Map();
        for (const [p, e] of model) child.set(p, { ...e, cell: e.shared ? e.cell : { v: e.cell.v } });
        models.push(child);
        log.push('fork');
        break;
      }
      case 'destroy': {
        s.destroy();
        spaces.splice(i, 1);
        models.splice(i, 1);
        log.push('destroy');
        break;
      }
    }
    log.push(JSON.stringify(s.destroyed ? {} : s.stats()));
    auditMachine(m);
    // The region invariants after every step: ordered, non-overlapping, maximally merged, the tree's
    // figures right; and the regions are the model's pages with the model's protection.
    for (let k = 0; k < spaces.length; k++) {
      spaces[k]!.vm.regions.check();
      for (let p = 0; p < PAGES; p++) {
        const e = models[k]!.get(p);
        expect(spaces[k]!.findRegion(BASE + p * 4096)?.prot).toBe(e ? protText(e.prot) : undefined);
      }
    }
  }
  for (const s of spaces) s.destroy();
  expect(m.physical.freeFrames).toBe(free0);
  log.push(JSON.stringify(m.stats()));
  return log;
}

describe('VMM property: model, leaks, backends', () => {
  it('a written value is read back, in the child too, until the child writes its own', () => {
    const prog: Op[] = [
      { t: 'mmap', s: 0, p: 0, n: 2, prot: 2, shared: false },
      { t: 'write', s: 0, p: 1, v: 5 },
      { t: 'fork', s: 0 },
      { t: 'write', s: 1, p: 1, v: 6 },
      { t: 'read', s: 0, p: 1 },
      { t: 'read', s: 1, p: 1 },
    ];
    for (const b of BACKENDS) expect(play(b, prog).filter((l) => l.startsWith('ok '))).toEqual(['ok 268435456', 'ok undefined', 'ok undefined', 'ok 5', 'ok 6']);
  });

  it('a shared page stays shared across fork in the model and in the machine', () => {
    const prog: Op[] = [
      { t: 'mmap', s: 0, p: 0, n: 1, prot: 2, shared: true },
      { t: 'fork', s: 0 },
      { t: 'write', s: 1, p: 0, v: 7 },
      { t: 'read', s: 0, p: 0 },
    ];
    for (const b of BACKENDS) expect(play(b, prog).filter((l) => l.startsWith('ok '))).toEqual(['ok 268435456', 'ok undefined', 'ok 7']);
  });

  it('unmapping two pieces of one shared object detaches the space once (found by the property test)', () => {
    const prog: Op[] = [
      { t: 'mmap', s: 0, p: 0, n: 2, prot: 0, shared: true },
      { t: 'mprotect', s: 0, p: 1, n: 1, prot: 1 },
      { t: 'fork', s: 0 },
      { t: 'munmap', s: 0, p: 0, n: 1 },
      { t: 'mmap', s: 1, p: 0, n: 2, prot: 0, shared: false },
      { t: 'read', s: 0, p: 1 },
    ];
    for (const b of BACKENDS) expect(play(b, prog).filter((l) => l.startsWith('ok ')).at(-1)).toBe('ok 0');
  });

  it('random programs match the model and leak nothing; backends agree', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 80 }), async (ops) => {
        // Between programs, vitest's worker may answer its runner (it gives up on a worker silent for 60 s: the full count runs long).
        await new Promise((resolve) => setImmediate(resolve));
        const logs = BACKENDS.map((b) => play(b, ops));
        for (const l of logs.slice(1)) expect(l).toEqual(logs[0]);
      }),
      propertyOptions(400, 100), // npm test: 100 programs; npm run test:long: 400
    );
  });
});
