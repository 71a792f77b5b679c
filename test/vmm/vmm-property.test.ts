/**
 * Random programs of mmap/munmap/mprotect/madvise/fork/read/write/destroy and the process calls
 * (mlock/munlock/mlockall/munlockall, madvise's DONTNEED/DONTNEED_LOCKED/DONTFORK/DOFORK/
 * WIPEONFORK/KEEPONFORK, mremap's fixed moves, exec, mincore) on a machine of three CPUs, with
 * threads created, scheduled on random CPUs, idled and exited between the operations (reads and
 * writes are made by a random task of the process): every read returns what a simple model
 * says, every failure is the model's failure, VmLck is the model's locked pages, no frame leaks,
 * no CPU keeps a usable stale translation (the auditor after every step), and both backends
 * produce the same outcomes and statistics, shootdown counters included.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { propertyOptions } from '../property-options.js';
import { Machine, SegmentationFault, VmmError, type AddressSpace, type Thread } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';

const BASE = 0x1000_0000;
const PAGES = 8;
const PROTS = ['', 'r', 'rw', 'rwx', 'x', 'w'];
const CPUS = 3;

/** 'rw' as maps() and regions() print it: 'rw-'. */
const protText = (p: string) => (p.includes('r') ? 'r' : '-') + (p.includes('w') ? 'w' : '-') + (p.includes('x') ? 'x' : '-');

interface Cell {
  v: number;
}
/** A page of the model: its protection, its value (shared cells are shared objects), and its region's flags. */
interface Page {
  prot: string;
  cell: Cell;
  shared: boolean;
  locked: boolean;
  dontfork: boolean;
  wipe: boolean;
  /** Known to be resident: faulted in by a locking call that succeeded, not dropped since. */
  resident: boolean;
}
type Model = Map<number, Page>;
const ADVICE = ['MADV_DONTNEED', 'MADV_DONTNEED_LOCKED', 'MADV_DONTFORK', 'MADV_DOFORK', 'MADV_WIPEONFORK', 'MADV_KEEPONFORK'] as const;
const range = fc.integer({ min: 1, max: 4 });
const page = fc.integer({ min: 0, max: PAGES - 1 });

const op = fc.oneof(
  fc.record({ t: fc.constant('mmap' as const), s: fc.nat(), p: fc.integer({ min: 0, max: PAGES - 1 }), n: fc.integer({ min: 1, max: 4 }), prot: fc.integer({ min: 0, max: 5 }), shared: fc.boolean() }),
  fc.record({ t: fc.constant('munmap' as const), s: fc.nat(), p: fc.integer({ min: 0, max: PAGES - 1 }), n: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ t: fc.constant('mprotect' as const), s: fc.nat(), p: fc.integer({ min: 0, max: PAGES - 1 }), n: fc.integer({ min: 1, max: 4 }), prot: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ t: fc.constant('write' as const), s: fc.nat(), p: fc.integer({ min: 0, max: PAGES - 1 }), v: fc.integer({ min: 1, max: 255 }), by: fc.nat() }),
  fc.record({ t: fc.constant('read' as const), s: fc.nat(), p: fc.integer({ min: 0, max: PAGES - 1 }), by: fc.nat() }),
  fc.record({ t: fc.constant('fork' as const), s: fc.nat() }),
  fc.record({ t: fc.constant('destroy' as const), s: fc.nat() }),
  fc.record({ t: fc.constant('dontneed' as const), s: fc.nat(), p: fc.integer({ min: 0, max: PAGES - 1 }), n: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ t: fc.constant('thread' as const), s: fc.nat() }),
  fc.record({ t: fc.constant('run' as const), s: fc.nat(), by: fc.nat(), cpu: fc.integer({ min: 0, max: CPUS - 1 }) }),
  fc.record({ t: fc.constant('idle' as const), cpu: fc.integer({ min: 0, max: CPUS - 1 }) }),
  fc.record({ t: fc.constant('exit' as const), s: fc.nat(), by: fc.nat() }),
  fc.record({ t: fc.constant('mlock' as const), s: fc.nat(), p: page, n: range, unlock: fc.boolean() }),
  fc.record({ t: fc.constant('mlockall' as const), s: fc.nat(), f: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ t: fc.constant('madvise' as const), s: fc.nat(), p: page, n: range, a: fc.integer({ min: 0, max: ADVICE.length - 1 }) }),
  fc.record({ t: fc.constant('mremap' as const), s: fc.nat(), p: page, q: page, n: range }),
  fc.record({ t: fc.constant('exec' as const), s: fc.nat() }),
  fc.record({ t: fc.constant('mincore' as const), s: fc.nat(), p: page, n: range }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

/** Runs a program; returns a transcript of outcomes (compared across backends). */
function play(backend: 'native' | 'js', ops: Op[]): string[] {
  const m = new Machine({ memory: '16MiB', backend, tlb: { entries: 8, ways: 2 }, cpus: CPUS });
  const free0 = m.physical.freeFrames;
  const spaces: AddressSpace[] = [m.createAddressSpace({ stack: false })];
  const models: Model[] = [new Map()];
  /** mlockall(MCL_FUTURE) per space: later mappings are locked. */
  const future: boolean[] = [false];
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
    if (spaces.length === 0) spaces.push(m.createAddressSpace({ stack: false })), models.push(new Map()), future.push(false);
    const i = 's' in o ? o.s % spaces.length : 0;
    const s = spaces[i]!;
    const model = models[i]!;
    const addr = 'p' in o ? BASE + o.p * 4096 : 0;
    // The task that makes an access or is scheduled: the process itself or one of its threads.
    const tasks: Array<AddressSpace | Thread> = [s, ...(s.threads as Set<Thread>)];
    const task = 'by' in o ? tasks[o.by % tasks.length]! : s;
    switch (o.t) {
      case 'mmap': {
        const n = Math.min(o.n, PAGES - o.p);
        const r = outcome(() => s.mmap({ addr, length: n * 4096, prot: PROTS[o.prot]!, fixed: true, shared: o.shared }));
        expect(r).toBe(`ok ${addr}`);
        const shared: Cell[] = [];
        for (let k = 0; k < n; k++) model.set(o.p + k, { prot: PROTS[o.prot]!, cell: (shared[k] = { v: 0 }), shared: o.shared, locked: future[i]!, dontfork: false, wipe: false, resident: future[i]! && PROTS[o.prot] !== '' });
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
        const r = outcome(() => task.write(addr + 100, [o.v]));
        const e = model.get(o.p);
        expect(r).toBe(!e ? 'SEGV_MAPERR' : e.prot.includes('w') ? 'ok undefined' : 'SEGV_ACCERR');
        if (e && e.prot.includes('w')) e.cell.v = o.v;
        log.push(r);
        break;
      }
      case 'read': {
        const r = outcome(() => task.read(addr + 100, 1)[0]);
        const e = model.get(o.p);
        expect(r).toBe(!e ? 'SEGV_MAPERR' : e.prot === '' ? 'SEGV_ACCERR' : `ok ${e.cell.v}`);
        log.push(r);
        break;
      }
      case 'fork': {
        if (spaces.length >= 4) break;
        spaces.push(s.fork());
        // dup_mmap: DONTFORK pages are not the child's, WIPEONFORK ones start empty, locks are not inherited.
        const child: Model = new Map();
        for (const [p, e] of model) if (!e.dontfork) child.set(p, { ...e, locked: false, resident: false, cell: e.shared ? e.cell : { v: e.wipe ? 0 : e.cell.v } });
        models.push(child);
        future.push(false);
        log.push('fork');
        break;
      }
      case 'destroy': {
        s.destroy();
        spaces.splice(i, 1);
        models.splice(i, 1);
        future.splice(i, 1);
        log.push('destroy');
        break;
      }
      case 'dontneed': {
        const n = Math.min(o.n, PAGES - o.p);
        const r = outcome(() => s.madvise(addr, n * 4096, 'MADV_DONTNEED'));
        // madvise_walk_vmas: a hole is remembered as ENOMEM and the walk goes on past it; locked
        // memory is EINVAL and stops the walk there (the pages before it are dropped).
        let want = 'ok undefined';
        for (let k = 0; k < n; k++) {
          const e = model.get(o.p + k);
          if (!e) {
            want = 'ENOMEM';
            continue;
          }
          if (e.locked) {
            want = 'EINVAL';
            break;
          }
          // Private pages read back as zeros; shared ones keep their object's bytes.
          if (!e.shared) (e.cell = { v: 0 }), (e.resident = false);
        }
        expect(r).toBe(want);
        log.push(r);
        break;
      }
      case 'thread':
        if (s.threads.size < 3) s.createThread();
        log.push('thread');
        break;
      case 'run':
        log.push(outcome(() => m.cpu(o.cpu).run(task)));
        break;
      case 'idle':
        m.cpu(o.cpu).idle();
        log.push('idle');
        break;
      case 'exit':
        if (task !== s) (task as Thread).exit();
        log.push('exit');
        break;
      case 'mlock': {
        const r = outcome(() => (o.unlock ? s.munlock(addr, o.n * 4096) : s.mlock(addr, o.n * 4096)));
        // apply_vma_lock_flags: a start in a hole is ENOMEM at once; else the pages up to the first hole
        // change, then ENOMEM; mlock then faults the range in, and a PROT_NONE page fails that (ENOMEM).
        let covered = 0;
        while (covered < o.n && model.has(o.p + covered)) covered++;
        for (let k = 0; k < covered; k++) model.get(o.p + k)!.locked = !o.unlock;
        const none = [...Array(covered).keys()].some((k) => model.get(o.p + k)!.prot === '');
        expect(r).toBe(covered < o.n || (!o.unlock && none) ? 'ENOMEM' : 'ok undefined');
        // A hole fails before anything is faulted in; a PROT_NONE page fails only itself.
        if (!o.unlock && covered === o.n) for (let k = 0; k < covered; k++) model.get(o.p + k)!.resident ||= model.get(o.p + k)!.prot !== '';
        log.push(r);
        break;
      }
      case 'mlockall': {
        // f: 0 munlockall, 1 MCL_CURRENT, 2 MCL_FUTURE, 3 both.
        const r = outcome(() => (o.f === 0 ? s.munlockall() : s.mlockall(o.f)));
        expect(r).toBe('ok undefined');
        if (o.f !== 2) for (const e of model.values()) (e.locked = o.f !== 0), (e.resident ||= e.locked && e.prot !== '');
        future[i] = (o.f & 2) !== 0;
        log.push(r);
        break;
      }
      case 'madvise': {
        const advice = ADVICE[o.a]!;
        const r = outcome(() => s.madvise(addr, o.n * 4096, advice));
        // madvise_walk_vmas: region by region, holes remembered as ENOMEM for the end, the first
        // region's error (EINVAL: DONTNEED of locked memory, WIPEONFORK of shared memory) stops it.
        let want = 'ok undefined';
        for (let k = 0; k < o.n; k++) {
          const e = model.get(o.p + k);
          if (!e) {
            want = 'ENOMEM';
            continue;
          }
          if ((advice === 'MADV_DONTNEED' && e.locked) || (advice === 'MADV_WIPEONFORK' && e.shared)) {
            want = 'EINVAL';
            break;
          }
          if (advice === 'MADV_DONTNEED' || advice === 'MADV_DONTNEED_LOCKED') {
            if (!e.shared) (e.cell = { v: 0 }), (e.resident = false); // a private page is gone; shared memory keeps it
          } else if (advice === 'MADV_DONTFORK' || advice === 'MADV_DOFORK') e.dontfork = advice === 'MADV_DONTFORK';
          else e.wipe = advice === 'MADV_WIPEONFORK';
        }
        expect(r).toBe(want);
        log.push(r);
        break;
      }
      case 'mremap': {
        // MREMAP_MAYMOVE|MREMAP_FIXED without resizing: overlapping ranges are EINVAL, an unmapped
        // start EFAULT; else each mapped piece moves (the target under it unmapped first) with its
        // pages, protection and flags, and the target under the source's holes is left alone (6.17+).
        const n = Math.min(o.n, PAGES - Math.max(o.p, o.q));
        const to = BASE + o.q * 4096;
        const r = outcome(() => s.mremap(addr, n * 4096, n * 4096, { mayMove: true, fixed: true, newAddr: to }));
        const overlap = o.p < o.q + n && o.q < o.p + n;
        const want = overlap ? 'EINVAL' : !model.has(o.p) ? 'EFAULT' : `ok ${to}`;
        expect(r).toBe(want);
        if (want !== 'EINVAL' && want !== 'EFAULT') {
          for (let k = 0; k < n; k++) {
            const e = model.get(o.p + k);
            if (!e) continue;
            model.set(o.q + k, e);
            model.delete(o.p + k);
          }
        }
        log.push(r);
        break;
      }
      case 'exec': {
        // A new image: no region left, the process's other threads gone (de_thread).
        const r = outcome(() => s.exec({ stack: false }));
        expect(r).toBe('ok undefined');
        expect(s.threads.size).toBe(0);
        model.clear();
        future[i] = false;
        log.push(r);
        break;
      }
      case 'mincore': {
        const r = outcome(() => Array.from(s.mincore(addr, o.n * 4096)).join(''));
        let hole = false;
        for (let k = 0; k < o.n; k++) hole ||= !model.has(o.p + k);
        if (hole) expect(r).toBe('ENOMEM');
        else {
          // A page a locking call faulted in stays in (no resident limit here), wherever mremap moved it.
          for (let k = 0; k < o.n; k++) if (model.get(o.p + k)!.resident) expect(r[3 + k]).toBe('1');
        }
        log.push(r);
        break;
      }
    }
    log.push(JSON.stringify(s.destroyed ? {} : s.stats()));
    auditMachine(m);
    // The region invariants after every step: ordered, non-overlapping, the tree's figures right;
    // and the regions are the model's pages with the model's protection, VmLck its locked pages.
    for (let k = 0; k < spaces.length; k++) {
      spaces[k]!.vm.regions.check();
      expect(spaces[k]!.stats().lockedPages).toBe([...models[k]!.values()].filter((e) => e.locked).length);
      for (let p = 0; p < PAGES; p++) {
        const e = models[k]!.get(p);
        expect(spaces[k]!.findRegion(BASE + p * 4096)?.prot).toBe(e ? protText(e.prot) : undefined);
      }
    }
  }
  for (const s of spaces) s.destroy();
  auditMachine(m);
  expect(m.physical.freeFrames).toBe(free0);
  log.push(JSON.stringify(m.stats()));
  log.push(JSON.stringify([0, 1, 2].map((c) => m.cpu(c).stats())));
  return log;
}

describe('VMM property: model, leaks, backends', () => {
  it('a written value is read back, in the child too, until the child writes its own', () => {
    const prog: Op[] = [
      { t: 'mmap', s: 0, p: 0, n: 2, prot: 2, shared: false },
      { t: 'write', s: 0, p: 1, v: 5, by: 0 },
      { t: 'fork', s: 0 },
      { t: 'write', s: 1, p: 1, v: 6, by: 0 },
      { t: 'read', s: 0, p: 1, by: 0 },
      { t: 'read', s: 1, p: 1, by: 0 },
    ];
    for (const b of BACKENDS) expect(play(b, prog).filter((l) => l.startsWith('ok '))).toEqual(['ok 268435456', 'ok undefined', 'ok undefined', 'ok 5', 'ok 6']);
  });

  it('a shared page stays shared across fork in the model and in the machine', () => {
    const prog: Op[] = [
      { t: 'mmap', s: 0, p: 0, n: 1, prot: 2, shared: true },
      { t: 'fork', s: 0 },
      { t: 'write', s: 1, p: 0, v: 7, by: 0 },
      { t: 'read', s: 0, p: 0, by: 0 },
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
      { t: 'read', s: 0, p: 1, by: 0 },
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
