/**
 * Random programs of mmap/munmap/mprotect/read/write/fork/destroy/madvise/clear_refs over a few
 * processes, with /proc read after every step: smaps, smaps_rollup, status and pagemap agree
 * with each other (Rss = VmRSS, the rollup is the regions' sum, pagemap's present and exclusive
 * pages are Rss and the private pages), Pss adds up over all processes to the frames they map,
 * a page written since clear_refs 4 is soft-dirty and one left alone is not, the invariant
 * auditor holds, and both backends print the same files.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { propertyOptions } from '../property-options.js';
import { Machine, SegmentationFault, VmmError, type AddressSpace } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';

const BASE = 0x1000_0000;
const PAGES = 12;
const PROTS = ['', 'r', 'rw', 'rwx'];

const op = fc.oneof(
  fc.record({ t: fc.constant('mmap' as const), s: fc.nat(), p: fc.integer({ min: 0, max: PAGES - 1 }), n: fc.integer({ min: 1, max: 4 }), prot: fc.integer({ min: 0, max: 3 }), shared: fc.boolean() }),
  fc.record({ t: fc.constant('munmap' as const), s: fc.nat(), p: fc.integer({ min: 0, max: PAGES - 1 }), n: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ t: fc.constant('mprotect' as const), s: fc.nat(), p: fc.integer({ min: 0, max: PAGES - 1 }), n: fc.integer({ min: 1, max: 3 }), prot: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ t: fc.constant('write' as const), s: fc.nat(), p: fc.integer({ min: 0, max: PAGES - 1 }) }),
  fc.record({ t: fc.constant('write' as const), s: fc.nat(), p: fc.integer({ min: 0, max: PAGES - 1 }) }),
  fc.record({ t: fc.constant('read' as const), s: fc.nat(), p: fc.integer({ min: 0, max: PAGES - 1 }) }),
  fc.record({ t: fc.constant('dontneed' as const), s: fc.nat(), p: fc.integer({ min: 0, max: PAGES - 1 }) }),
  fc.record({ t: fc.constant('fork' as const), s: fc.nat() }),
  fc.record({ t: fc.constant('destroy' as const), s: fc.nat() }),
  fc.record({ t: fc.constant('clear' as const), s: fc.nat(), v: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ t: fc.constant('clear' as const), s: fc.nat(), v: fc.constant(4) }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

/** Per process: pages written since its last clear_refs 4, and whether a mapping changed since (regions may have merged: no "clean" claim then). */
interface Dirt {
  tracking: boolean;
  written: Set<number>;
  remapped: boolean;
}

function checkProcess(m: Machine, s: AddressSpace, dirt: Dirt): void {
  const entries = s.smaps();
  const rollup = s.smapsRollup();
  const status = s.status();
  const sum = (k: keyof (typeof entries)[number]) => entries.reduce((a, e) => a + (e[k] as number), 0);
  expect(sum('Rss')).toBe(status.VmRSS);
  expect(rollup.Rss).toBe(status.VmRSS);
  expect(status.RssAnon + status.RssShmem + status.RssFile).toBe(status.VmRSS);
  expect(sum('Size')).toBe(status.VmSize);
  for (const k of ['Shared_Clean', 'Shared_Dirty', 'Private_Clean', 'Private_Dirty', 'Referenced', 'Anonymous', 'Swap'] as const) expect(rollup[k]).toBe(sum(k));
  // Pss is added up in fixed point before the rollup shifts it: the rollup is at least the regions' floors.
  expect(rollup.Pss).toBeGreaterThanOrEqual(sum('Pss'));
  expect(rollup.Pss - sum('Pss')).toBeLessThanOrEqual(entries.length);
  expect(status.VmHWM).toBeGreaterThanOrEqual(status.VmRSS);
  expect(status.VmPeak).toBeGreaterThanOrEqual(status.VmSize);
  for (const e of entries) {
    const words = s.pagemap(e.start, (e.end - e.start) / 4096, { format: 'entries' });
    expect(words.filter((w) => w.present && w.pfn !== m.vmm.zeroFrame).length * 4).toBe(e.Rss);
    expect(words.filter((w) => w.exclusive).length * 4).toBe(e.Private_Clean + e.Private_Dirty);
    expect(e.Rss).toBe(e.Shared_Clean + e.Shared_Dirty + e.Private_Clean + e.Private_Dirty);
    if (!dirt.tracking) {
      expect(words.every((w) => w.softDirty)).toBe(true);
      continue;
    }
    words.forEach((w, i) => {
      const vpn = e.start / 4096 + i;
      if (dirt.written.has(vpn)) expect(w.softDirty).toBe(true);
      else if (!dirt.remapped) expect(w.softDirty).toBe(false);
    });
  }
}

/** Runs a program; returns every process's /proc text after each step (compared across backends). */
function play(backend: 'native' | 'js', ops: Op[]): string[] {
  const m = new Machine({ memory: '16MiB', backend, tlb: { entries: 8, ways: 2 } });
  const spaces: AddressSpace[] = [m.createAddressSpace({ stack: false })];
  const dirt: Dirt[] = [{ tracking: false, written: new Set(), remapped: false }];
  const log: string[] = [];
  const attempt = (f: () => unknown): void => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof SegmentationFault || e instanceof VmmError)) throw e;
    }
  };
  for (const o of ops) {
    if (spaces.length === 0) spaces.push(m.createAddressSpace({ stack: false })), dirt.push({ tracking: false, written: new Set(), remapped: false });
    const i = o.s % spaces.length;
    const s = spaces[i]!;
    const d = dirt[i]!;
    const addr = 'p' in o ? BASE + o.p * 4096 : 0;
    switch (o.t) {
      case 'mmap':
        attempt(() => s.mmap({ addr, length: Math.min(o.n, PAGES - o.p) * 4096, prot: PROTS[o.prot]!, fixed: true, shared: o.shared }));
        for (let k = 0; k < o.n; k++) d.written.delete(BASE / 4096 + o.p + k);
        d.remapped = true;
        break;
      case 'munmap':
        attempt(() => s.munmap(addr, o.n * 4096));
        for (let k = 0; k < o.n; k++) d.written.delete(BASE / 4096 + o.p + k);
        break;
      case 'mprotect':
        attempt(() => s.mprotect(addr, Math.min(o.n, PAGES - o.p) * 4096, PROTS[o.prot]!));
        break;
      case 'write':
        try {
          s.write(addr, new Uint8Array([7]));
          d.written.add(addr / 4096);
        } catch (e) {
          if (!(e instanceof SegmentationFault)) throw e;
        }
        break;
      case 'read':
        attempt(() => s.read(addr, 1));
        break;
      case 'dontneed':
        attempt(() => s.madvise(addr, 4096, 'dontneed'));
        break;
      case 'fork': {
        const c = s.fork();
        spaces.push(c);
        dirt.push({ tracking: d.tracking, written: new Set(d.written), remapped: d.remapped });
        break;
      }
      case 'destroy':
        s.destroy();
        spaces.splice(i, 1);
        dirt.splice(i, 1);
        break;
      case 'clear':
        s.clearRefs(o.v as 1 | 2 | 3 | 4 | 5);
        if (o.v === 4) {
          d.tracking = true;
          d.written.clear();
          d.remapped = false;
        }
        // Anonymous regions print device 00:00; shared memory ones a device of their own.
        if (o.v <= 3) for (const e of s.smaps()) if (o.v === 1 || (o.v === 2) === e.maps.includes(' 00:00 ')) expect(e.Referenced).toBe(0);
        if (o.v === 5) expect(s.status().VmHWM).toBe(s.status().VmRSS);
        break;
    }
    auditMachine(m);
    spaces.forEach((sp, k) => checkProcess(m, sp, dirt[k]!));
    // Pss conservation: every mapped frame's 4 KiB is shared out among the processes that map it.
    const frames = new Set<number>();
    for (const sp of spaces) for (const e of sp.smaps()) for (const w of sp.pagemap(e.start, (e.end - e.start) / 4096, { format: 'entries' })) if (w.present && w.pfn !== m.vmm.zeroFrame) frames.add(w.pfn!);
    const pss = spaces.reduce((a, sp) => a + sp.smapsRollup().Pss, 0);
    expect(pss).toBeLessThanOrEqual(frames.size * 4);
    expect(frames.size * 4 - pss).toBeLessThanOrEqual(spaces.length);
    log.push(spaces.map((sp) => sp.smaps({ format: 'text' }) + sp.smapsRollup({ format: 'text' }) + sp.status({ format: 'text' }) + sp.statm({ format: 'text' }) + sp.pagemap(BASE, PAGES).join(',')).join('|'));
  }
  m.dispose();
  return log;
}

describe('/proc files: property', () => {
  it('agree with each other, add up over processes, track soft-dirty, and match across backends', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), (ops) => {
        const logs = BACKENDS.map((b) => play(b, ops));
        for (const l of logs.slice(1)) expect(l).toEqual(logs[0]);
      }),
      propertyOptions(40),
    );
  });
});
