/**
 * Shared memory under reclaim, against a model: random sequences of mmap (shared or private,
 * at an offset) of two named objects, writes, reads, fork, munmap, MADV_DONTNEED,
 * MADV_PAGEOUT, mlock/munlock, machine reclaim of object pages (kswapd), destroy and unlink
 * keep every byte equal to the model on both backends — a shared mapping sees the object, a
 * private one sees it until it writes (its copy), as MAP_PRIVATE of a file does — with the
 * auditor (frames and swap slots balance, no stale TLB entry) after every step, and nothing
 * left behind at the end.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Machine } from '../../src/system/machine.js';
import type { AddressSpace } from '../../src/vmm/address-space.js';
import { BACKENDS } from '../backends.js';
import { propertyOptions } from '../property-options.js';
import { auditMachine } from '../support/invariants.js';

const PG = 4096;
const OBJ_PAGES = 6;
const SLOTS = 3;
const BASE = 0x40_0000_0000;
const OFF = 100; // the byte of each page the model follows

interface Mapping {
  obj: number;
  offset: number;
  pages: number;
  shared: boolean;
  /** Private copies: page -> byte (MAP_PRIVATE after a write). */
  copies: Map<number, number>;
  locked: boolean;
}
interface Proc {
  s: AddressSpace;
  slots: Array<Mapping | undefined>;
}

const slot = fc.integer({ min: 0, max: SLOTS - 1 });
const page = fc.integer({ min: 0, max: OBJ_PAGES - 1 });
const op = fc.oneof(
  fc.record({ t: fc.constant('map' as const), p: fc.nat(), slot, obj: fc.integer({ min: 0, max: 1 }), offset: fc.integer({ min: 0, max: OBJ_PAGES - 1 }), n: fc.integer({ min: 1, max: OBJ_PAGES }), shared: fc.boolean() }),
  fc.record({ t: fc.constant('write' as const), p: fc.nat(), slot, page, v: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ t: fc.constant('read' as const), p: fc.nat(), slot, page }),
  fc.record({ t: fc.constant('unmap' as const), p: fc.nat(), slot }),
  fc.record({ t: fc.constant('fork' as const), p: fc.nat() }),
  fc.record({ t: fc.constant('destroy' as const), p: fc.nat() }),
  fc.record({ t: fc.constant('pageout' as const), p: fc.nat(), slot }),
  fc.record({ t: fc.constant('dontneed' as const), p: fc.nat(), slot }),
  fc.record({ t: fc.constant('lock' as const), p: fc.nat(), slot, on: fc.boolean() }),
  fc.record({ t: fc.constant('kswapd' as const), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ t: fc.constant('unlink' as const), obj: fc.integer({ min: 0, max: 1 }) }),
);

describe.each(BACKENDS)('shared memory contents under reclaim (%s)', (backend) => {
  it('bytes equal the model; frames and slots balance after everything is gone', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 50 }), fc.constantFrom(0, 3), (ops, pageCluster) => {
        const m = new Machine({ memory: '8MiB', backend, swap: { size: 64 * PG, pageCluster } });
        const framesAtStart = m.stats().frames.used;
        const objects = [m.createSharedMemory('o0', OBJ_PAGES * PG), m.createSharedMemory('o1', OBJ_PAGES * PG)];
        const linked = [true, true];
        /** Model of each object: page -> byte. */
        const store = [new Map<number, number>(), new Map<number, number>()];
        const procs: Proc[] = [{ s: m.createAddressSpace({ stack: false }), slots: Array(SLOTS).fill(undefined) }];
        const at = (s: number, pg: number) => BASE + s * 0x100_0000 + pg * PG + OFF;
        const expected = (mp: Mapping, pg: number) => mp.copies.get(pg) ?? store[mp.obj]!.get(mp.offset + pg) ?? 0;
        for (const o of ops) {
          if (o.t === 'kswapd') {
            m.vmm.shmPager!.evict(o.n, undefined, 'kswapd');
          } else if (o.t === 'unlink') {
            if (linked[o.obj]) objects[o.obj]!.unlink();
            else expect(() => objects[o.obj]!.unlink()).toThrow(/ENOENT/);
            linked[o.obj] = false;
          } else {
            if (procs.length === 0) break;
            const p = procs[o.p % procs.length]!;
            if (o.t === 'fork') {
              if (procs.length >= 4) continue;
              procs.push({ s: p.s.fork(), slots: p.slots.map((mp) => mp && { ...mp, copies: new Map(mp.copies), locked: false }) });
            } else if (o.t === 'destroy') {
              p.s.destroy();
              procs.splice(procs.indexOf(p), 1);
            } else {
              const mp = p.slots[o.slot];
              const base = BASE + o.slot * 0x100_0000;
              if (o.t === 'map') {
                if (mp) continue;
                if (!linked[o.obj]) continue; // an unlinked object can no longer be opened
                const n = Math.min(o.n, OBJ_PAGES - o.offset);
                p.s.mmap({ addr: base, length: n * PG, prot: 'rw', fixed: true, shared: o.shared, object: objects[o.obj]!, offset: o.offset * PG });
                p.slots[o.slot] = { obj: o.obj, offset: o.offset, pages: n, shared: o.shared, copies: new Map(), locked: false };
              } else if (!mp) {
                continue;
              } else if (o.t === 'write') {
                const pg = o.page % mp.pages;
                p.s.write(at(o.slot, pg), [o.v]);
                if (mp.shared) store[mp.obj]!.set(mp.offset + pg, o.v);
                else mp.copies.set(pg, o.v);
              } else if (o.t === 'read') {
                const pg = o.page % mp.pages;
                expect(p.s.read(at(o.slot, pg), 1)[0]).toBe(expected(mp, pg));
              } else if (o.t === 'unmap') {
                p.s.munmap(base, mp.pages * PG);
                p.slots[o.slot] = undefined;
              } else if (o.t === 'pageout' || o.t === 'dontneed') {
                const advice = o.t === 'pageout' ? 'MADV_PAGEOUT' : 'MADV_DONTNEED';
                if (mp.locked) expect(() => p.s.madvise(base, mp.pages * PG, advice)).toThrow(/EINVAL/);
                else {
                  p.s.madvise(base, mp.pages * PG, advice);
                  // DONTNEED drops a private mapping's copies: the object shows through again.
                  if (o.t === 'dontneed') mp.copies.clear();
                }
              } else {
                if (o.on) p.s.mlock(base, mp.pages * PG);
                else p.s.munlock(base, mp.pages * PG);
                mp.locked = o.on;
                // mlock write-faults a writable private mapping (breaking COW), as __mm_populate does: contents unchanged.
              }
            }
          }
          auditMachine(m);
          // The machine's counters balance: every page reclaimed was dropped or written (no zswap here, so every write is a pswpout).
          const c = m.reclaimStats().counters;
          expect(c.pgsteal_direct + c.pgsteal_kswapd).toBe(c.evict_clean + c.evict_dirty);
          expect(c.evict_dirty).toBe(c.pswpout);
          // Only these two objects exist (a released one holds nothing).
          expect(m.reclaimStats().shmem).toEqual({ pages: objects[0]!.residentPages + objects[1]!.residentPages, swapped: objects[0]!.swappedPages + objects[1]!.swappedPages });
        }
        for (const p of procs) {
          p.slots.forEach((mp, s) => {
            if (mp) for (let pg = 0; pg < mp.pages; pg++) expect(p.s.read(at(s, pg), 1)[0]).toBe(expected(mp, pg));
          });
        }
        auditMachine(m);
        for (const p of procs) p.s.destroy();
        objects.forEach((obj, i) => linked[i] && obj.unlink());
        expect(m.reclaimStats().swap!.used).toBe(0);
        expect(m.reclaimStats().shmem).toEqual({ pages: 0, swapped: 0 });
        expect(m.stats().frames.used).toBe(framesAtStart);
        m.dispose();
      }),
      propertyOptions(60),
    );
  });
});
