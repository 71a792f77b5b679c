/**
 * Under a small resident limit with swap, random sequences of mmap / write / read / fork /
 * munmap / destroy keep every byte equal to a model of the memory, on both backends and
 * with several policies; the entries of swapped pages hold their slot (Linux's encoding);
 * and after everything is destroyed, frames and swap slots balance. The machine has three CPUs:
 * each process has a thread, and the operations run its main thread or its thread on a random
 * CPU first (or idle one), so reclaim's batched flushes and the rmap's unmaps reach CPUs that
 * run, idle lazily on, or left the address spaces; the auditor checks every CPU's TLB after each step.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Machine } from '../../src/system/machine.js';
import type { AddressSpace } from '../../src/vmm/address-space.js';
import type { Thread } from '../../src/machine/thread.js';
import { decodeSwapEntry } from '../../src/reclaim/swap-entry.js';
import { BACKENDS } from '../backends.js';
import { propertyOptions } from '../property-options.js';
import { auditMachine } from '../support/invariants.js';

const PAGES = 12;
const SHARED = 4;
const CPUS = 3;
const op = fc.oneof(
  fc.record({ t: fc.constant('write' as const), p: fc.nat(), page: fc.integer({ min: 0, max: PAGES - 1 }), v: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ t: fc.constant('read' as const), p: fc.nat(), page: fc.integer({ min: 0, max: PAGES - 1 }) }),
  fc.record({ t: fc.constant('fork' as const), p: fc.nat() }),
  fc.record({ t: fc.constant('munmap' as const), p: fc.nat(), page: fc.integer({ min: 0, max: PAGES - 1 }), n: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ t: fc.constant('remap' as const), p: fc.nat() }),
  fc.record({ t: fc.constant('destroy' as const), p: fc.nat() }),
  fc.record({ t: fc.constant('pageout' as const), p: fc.nat(), page: fc.integer({ min: 0, max: PAGES - 1 }), n: fc.integer({ min: 1, max: PAGES }) }),
  // The MAP_SHARED|MAP_ANONYMOUS region every process inherits: writes, reads, MADV_PAGEOUT, and machine reclaim of object pages.
  fc.record({ t: fc.constant('swrite' as const), p: fc.nat(), page: fc.integer({ min: 0, max: SHARED - 1 }), v: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ t: fc.constant('sread' as const), p: fc.nat(), page: fc.integer({ min: 0, max: SHARED - 1 }) }),
  fc.record({ t: fc.constant('spageout' as const), p: fc.nat() }),
  fc.record({ t: fc.constant('kswapd' as const), p: fc.nat(), n: fc.integer({ min: 1, max: SHARED }) }),
  // Scheduling: a process's main thread or its thread onto a CPU, or a CPU to the idle task.
  fc.record({ t: fc.constant('run' as const), p: fc.nat(), thread: fc.boolean(), cpu: fc.integer({ min: 0, max: CPUS - 1 }) }),
  fc.record({ t: fc.constant('idle' as const), p: fc.nat(), cpu: fc.integer({ min: 0, max: CPUS - 1 }) }),
);

interface Proc {
  s: AddressSpace;
  /** Its second thread: accesses go through it or the main thread. */
  t: Thread;
  /** Model: page -> byte at offset 100 (0 = never written / unmapped). */
  mem: Map<number, number>;
  mapped: boolean[];
}

const BASE = 0x20_0000_0000;
const SBASE = 0x30_0000_0000;

/** Checks that every swapped page's entry decodes to its slot. */
function checkEntries(p: Proc): void {
  const rs = p.s.vm.resident!;
  for (const [vpn, slot] of rs.swapped) {
    const e = p.s.pages.readEntry(vpn * 4096);
    expect(e && decodeSwapEntry(e[0], e[1])).toBe(slot);
  }
}

describe.each(BACKENDS)('contents under a resident limit with swap (%s)', (backend) => {
  for (const policy of ['clock', 'lru', 'linux', 'random'] as const) {
    it(`${policy}: bytes equal the model; frames and slots balance at the end`, () => {
      fc.assert(
        fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 5 }), fc.boolean(), (ops, limit, zswap) => {
          const m = new Machine({ memory: '8MiB', backend, cpus: CPUS, swap: { size: 64 * 4096, ...(zswap ? { zswap: true } : {}) } });
          const framesAtStart = m.stats().frames.used;
          const first = m.createAddressSpace({ residentLimit: limit, policy, stack: false });
          first.mmap({ addr: BASE, length: PAGES * 4096, prot: 'rw', fixed: true });
          first.mmap({ addr: SBASE, length: SHARED * 4096, prot: 'rw', fixed: true, shared: true });
          /** Model of the shared region: one memory for every process. */
          const shared = new Map<number, number>();
          const procs: Proc[] = [{ s: first, t: first.createThread(), mem: new Map(), mapped: Array(PAGES).fill(true) }];
          for (const o of ops) {
            if (procs.length === 0) break;
            const p = procs[o.p % procs.length]!;
            const va = (page: number) => BASE + page * 4096 + 100;
            if (o.t === 'write') {
              if (!p.mapped[o.page]) continue;
              (o.v % 2 ? p.s : p.t).write(va(o.page), [o.v]);
              p.mem.set(o.page, o.v);
            } else if (o.t === 'read') {
              if (!p.mapped[o.page]) continue;
              expect((o.page % 2 ? p.s : p.t).read(va(o.page), 1)[0]).toBe(p.mem.get(o.page) ?? 0);
            } else if (o.t === 'fork') {
              if (procs.length >= 4) continue;
              const child = p.s.fork();
              procs.push({ s: child, t: child.createThread(), mem: new Map(p.mem), mapped: [...p.mapped] });
            } else if (o.t === 'munmap') {
              const n = Math.min(o.n, PAGES - o.page);
              p.s.munmap(BASE + o.page * 4096, n * 4096);
              for (let k = o.page; k < o.page + n; k++) {
                p.mapped[k] = false;
                p.mem.delete(k);
              }
            } else if (o.t === 'remap') {
              // Map the holes again (fresh zero pages).
              for (let k = 0; k < PAGES; k++) {
                if (p.mapped[k]) continue;
                p.s.mmap({ addr: BASE + k * 4096, length: 4096, prot: 'rw', fixed: true });
                p.mapped[k] = true;
              }
            } else if (o.t === 'swrite') {
              p.s.write(SBASE + o.page * 4096 + 100, [o.v]);
              shared.set(o.page, o.v);
            } else if (o.t === 'sread') {
              expect(p.s.read(SBASE + o.page * 4096 + 100, 1)[0]).toBe(shared.get(o.page) ?? 0);
            } else if (o.t === 'spageout') {
              p.s.madvise(SBASE, SHARED * 4096, 'MADV_PAGEOUT');
            } else if (o.t === 'kswapd') {
              m.vmm.shmPager!.evict(o.n, undefined, 'kswapd');
            } else if (o.t === 'run') {
              const task = o.thread ? p.t : p.s;
              // EBUSY when the task runs on another CPU: the property is that nothing else changes.
              if (task.cpu === undefined || task.cpu === m.cpu(o.cpu)) m.cpu(o.cpu).run(task);
              else expect(() => m.cpu(o.cpu).run(task)).toThrow(/EBUSY/);
            } else if (o.t === 'idle') {
              m.cpu(o.cpu).idle();
            } else if (o.t === 'pageout') {
              const n = Math.min(o.n, PAGES - o.page);
              let hole = false;
              for (let k = o.page; k < o.page + n; k++) hole ||= !p.mapped[k];
              if (hole) expect(() => p.s.madvise(BASE + o.page * 4096, n * 4096, 'MADV_PAGEOUT')).toThrow(/ENOMEM/);
              else p.s.madvise(BASE + o.page * 4096, n * 4096, 'MADV_PAGEOUT');
            } else {
              p.s.destroy();
              procs.splice(procs.indexOf(p), 1);
            }
            // Refcounts equal the entries, tables and VMM holders (the swap cache included); no TLB entry outlives its mapping.
            auditMachine(m);
            for (const q of procs) {
              const rs = q.s.vm.resident!;
              expect(rs.tracked.size + rs.locked.size).toBeLessThanOrEqual(limit);
              checkEntries(q);
              // The counters balance: every page reclaimed was dropped or written, every write went somewhere.
              const c = rs.counters;
              expect(c.pgsteal_direct + c.pgsteal_kswapd).toBe(c.evict_clean + c.evict_dirty);
              expect(c.evict_dirty).toBe(c.pswpout + c.zswpout);
              expect(q.s.reclaimStats().VmSwap).toBe(rs.swapped.size);
              expect(q.s.reclaimStats().VmRSS).toBe(q.s.stats().residentPages);
            }
          }
          // Every byte, then teardown.
          for (const p of procs) for (let k = 0; k < PAGES; k++) if (p.mapped[k]) expect(p.s.read(BASE + k * 4096 + 100, 1)[0]).toBe(p.mem.get(k) ?? 0);
          for (const p of procs) for (let k = 0; k < SHARED; k++) expect(p.s.read(SBASE + k * 4096 + 100, 1)[0]).toBe(shared.get(k) ?? 0);
          for (const p of procs) p.s.destroy();
          expect(m.reclaimStats().swap!.used).toBe(0);
          expect(m.stats().frames.used).toBe(framesAtStart);
          m.dispose();
        }),
        propertyOptions(40),
      );
    });
  }
});
