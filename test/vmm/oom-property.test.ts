/**
 * Random processes (sizes, oom_score_adj, locks, resident limits) filling a small machine:
 * every global OOM victim has the highest oom_badness of the live processes at that moment (of
 * equals the newest), a process with oom_score_adj -1000 is never killed, a memory cgroup kill
 * is of the faulting process at its limit, nothing leaks, and both backends kill the same
 * processes with the same reports.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Machine } from '../../src/system/machine.js';
import type { AddressSpace } from '../../src/vmm/address-space.js';
import { oomBadness, type OomKill } from '../../src/vmm/oom-killer.js';
import { userTablePages } from '../../src/machine/table-pages.js';
import { VmmError } from '../../src/errors.js';
import { BACKENDS } from '../backends.js';
import { propertyOptions } from '../property-options.js';
import { auditMachine } from '../support/invariants.js';

const PG = 4096;
const BASE = 0x10_0000_0000;

const procSpec = fc.record({
  pages: fc.integer({ min: 1, max: 700 }),
  adj: fc.constantFrom(-1000, -500, -1, 0, 0, 0, 1, 500, 1000),
  locked: fc.integer({ min: 0, max: 300 }),
  // Mostly no limit of its own (global pressure), sometimes a small one (memory cgroup OOM).
  limit: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 40 }) }),
});
const writeOp = fc.record({ p: fc.nat(), n: fc.integer({ min: 1, max: 300 }) });

interface Step {
  /** Index of the killed process and its report (the space replaced by that index). */
  kills: Array<Omit<OomKill, 'space'> & { victim: number }>;
  errors: string[];
}

type Spec = { pages: number; adj: number; locked: number; limit?: number | undefined };

function run(backend: 'js' | 'native', specs: Spec[], ops: Array<{ p: number; n: number }>, swapPages: number): Step {
  const procs: AddressSpace[] = [];
  const kills: Step['kills'] = [];
  const errors: string[] = [];
  const m = new Machine({
    memory: '2MiB',
    backend,
    swap: { size: swapPages * PG },
    onOomKill: (k) => {
      const victim = procs.indexOf(k.space as AddressSpace);
      expect(victim).toBeGreaterThanOrEqual(0);
      expect(k.oomScoreAdj).not.toBe(-1000);
      expect(k.points).toBe(oomBadness(k.rss + k.swap + k.pgtables, k.oomScoreAdj, k.totalPages));
      if (k.constraint === 'global') {
        // Every live process scores at most the victim; an equal one is older (the newest of equals goes).
        for (const [i, s] of procs.entries()) {
          if (s.destroyed) continue;
          const points = s.stats().residentPages + s.reclaimStats().VmSwap + userTablePages(s.vm.ctx.frames, s.rootFrame);
          const b = oomBadness(points, s.oomScoreAdj, k.totalPages);
          if (b === undefined) continue;
          expect(b).toBeLessThanOrEqual(k.points);
          if (b === k.points) expect(i).toBeLessThan(victim);
        }
      } else {
        expect(k.totalPages).toBe((specs[victim]!.limit ?? NaN) + m.reclaimStats().swap!.total);
      }
      const { space: _space, ...report } = k;
      kills.push({ ...report, victim });
    },
  });
  const framesAtStart = m.stats().frames.used;
  const next: number[] = [];
  for (const sp of specs) {
    let s: AddressSpace;
    try {
      s = m.createAddressSpace({ stack: false, oomScoreAdj: sp.adj, ...(sp.limit !== undefined ? { residentLimit: sp.limit } : {}) });
    } catch (e) {
      // Creating a space does not reclaim: with every frame held (locked, -1000) its top-level table cannot be had.
      if (!(e instanceof VmmError) || e.code !== 'ENOMEM') throw e;
      errors.push('create ENOMEM');
      break;
    }
    procs.push(s);
    s.mmap({ addr: BASE, length: sp.pages * PG, prot: 'rw', fixed: true, noReserve: true });
    const lock = Math.min(sp.locked, sp.pages, sp.limit !== undefined ? sp.limit - 1 : Infinity);
    try {
      if (lock > 0) s.mlock(BASE, lock * PG);
    } catch (e) {
      if (!(e instanceof VmmError)) throw e;
      errors.push(`mlock ${procs.length - 1} ${e.code}`);
    }
    next.push(0);
  }
  specs = specs.slice(0, procs.length);
  for (const o of ops) {
    const i = o.p % procs.length;
    const s = procs[i]!;
    if (s.destroyed) continue;
    const pages = specs[i]!.pages;
    for (let k = 0; k < o.n && !s.destroyed; k++) {
      const page = next[i]! % pages;
      try {
        s.write(BASE + page * PG, [(page & 0x7f) + 1]);
        next[i] = next[i]! + 1;
      } catch (e) {
        if (!(e instanceof VmmError) || e.code !== 'ENOMEM') throw e;
        errors.push(`write ${i} ${s.destroyed ? 'killed' : 'refused'}`);
        break;
      }
    }
  }
  // Survivors keep their bytes: a page written is its value, or zero if it was never reached.
  for (const [i, s] of procs.entries()) {
    if (s.destroyed) continue;
    const written = Math.min(next[i]!, specs[i]!.pages);
    for (let page = 0; page < written; page++) {
      try {
        expect(s.read(BASE + page * PG, 1)[0]).toBe((page & 0x7f) + 1);
      } catch (e) {
        if (!(e instanceof VmmError) || e.code !== 'ENOMEM') throw e;
        break; // reading back a swapped page can itself meet the OOM killer
      }
    }
  }
  auditMachine(m);
  for (const s of procs) if (!s.destroyed) s.destroy();
  expect(m.stats().frames.used).toBe(framesAtStart);
  expect(m.reclaimStats().swap!.used).toBe(0);
  expect(m.reclaimStats().counters.oom_kill).toBe(kills.length);
  for (const [i, sp] of specs.entries()) if (sp.adj === -1000) expect(kills.some((k) => k.victim === i)).toBe(false);
  m.dispose();
  return { kills, errors };
}

describe('OOM victims under random pressure', () => {
  it('follow oom_badness, spare -1000, leak nothing, and agree across backends', () => {
    fc.assert(
      fc.property(fc.array(procSpec, { minLength: 1, maxLength: 4 }), fc.array(writeOp, { minLength: 1, maxLength: 30 }), fc.integer({ min: 2, max: 24 }), (specs, ops, swapPages) => {
        const results = BACKENDS.map((b) => run(b, specs, ops, swapPages));
        for (const r of results.slice(1)) expect(r).toEqual(results[0]);
      }),
      propertyOptions(60),
    );
  });
});
