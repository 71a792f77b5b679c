/**
 * The soak: both backends in lockstep against a byte-level model, through the public API —
 * many address spaces, fork, shared anonymous memory and shared memory objects, THP regions,
 * MADV_PAGEOUT to swap (private pages and shared ones), clear_refs (from a PRNG of its own, so
 * the program's other steps stay what the seed makes them) with /proc's files compared at each audit,
 * raw MMU spaces with user frames, global kernel-half pages, and hostile steps: processes whose
 * replacement policy is a plug-in that throws from remove() and insert() and calls back into the
 * VMM from its callbacks, and an onOomKill that throws, allocates or destroys (memory cgroup OOM
 * kills made by mlock past the limit), each followed by the auditor on both machines — with the table auditor
 * (test/support/invariants.ts: regions, every frame's holders, the TLB against the tables) and a full comparison of both machines every AUDIT steps, and
 * no leaked frame at the end.
 *
 *   npm test: 2500 steps (a few seconds); npm run test:long: 30,000 steps
 *   VMSIM_SOAK_OPS=1000000 npx vitest run test/soak      # a longer run
 *   VMSIM_SOAK_SEED=7 VMSIM_SOAK_AUDIT=500 ...            # another program, audits every 500 steps
 */
import { describe, expect, it } from 'vitest';
import { Machine, PageFault, SegmentationFault, VmmError, type AddressSpace, type MmuSpace, type ReclaimPolicy } from '../../src/index.js';
import { nativeAvailable } from '../../src/core/native-core.js';
import { auditMachine } from '../support/invariants.js';
import { LONG } from '../property-options.js';

const OPS = Number(process.env.VMSIM_SOAK_OPS ?? (LONG ? 30_000 : 2500));
const SEED = Number(process.env.VMSIM_SOAK_SEED ?? 2); // a program that reaches every kind of step (the `seen` check below)
const AUDIT = Number(process.env.VMSIM_SOAK_AUDIT ?? 250);

const PAGE = 4096;
const WINDOW = 0x1000_0000; // VMM mappings: pages [0, WINDOW_PAGES) from here
const WINDOW_PAGES = 48;
const HUGE = 0x4000_0000; // THP regions: 2 MiB slots from here
const HUGE_SLOTS = 3;
const RAW = 0x2000_0000; // raw spaces' user pages
const RAW_PAGES = 16;
const KERNEL = -(2 ** 47) + 0x4000_0000; // kernel-half pages (shared by every space)
const KERNEL_PAGES = 8;
const HOSTILE = 0x3000_0000; // hostile processes' pages
const HOSTILE_PAGES = 12;
const PROTS = ['', 'r', 'rw', 'rwx'];

/** mulberry32: a small deterministic PRNG (the seed is a parameter). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bytes of pages, by key; an absent key reads as zeros. */
type Store = Map<number, Uint8Array>;
interface MPage {
  prot: string;
  store: Store;
  key: number;
  shared: boolean;
  /** MADV_DONTFORK: a fork child does not get it. */
  dontfork?: boolean;
}
interface Proc {
  kind: 'vmm';
  a: AddressSpace;
  b: AddressSpace;
  pages: Map<number, MPage>; // by virtual page number
}
interface RawProc {
  kind: 'raw';
  a: MmuSpace;
  b: MmuSpace;
  pages: Map<number, number>; // vpn -> frame pa (user pages)
}
interface Shm {
  name: string;
  pages: number;
  store: Store;
  a: ReturnType<Machine['createSharedMemory']>;
  b: ReturnType<Machine['createSharedMemory']>;
}

/**
 * A FIFO plug-in that misbehaves on a schedule of its own calls (the same on both machines, which
 * call it alike): every 5th remove() and 11th insert() throws (after its own bookkeeping, or before
 * it for inserts: then it lost the page), every 13th select() and 7th insert() try to change their
 * process's memory (refused: EBUSY, swallowed).
 */
function hostilePolicy(space: () => AddressSpace | undefined): ReclaimPolicy {
  const keys: number[] = [];
  let calls = 0;
  const meddle = () => {
    const s = space();
    try {
      s?.madvise(HOSTILE, HOSTILE_PAGES * PAGE, 'MADV_DONTNEED');
    } catch (e) {
      if (!(e instanceof VmmError) || e.code !== 'EBUSY') throw e;
    }
  };
  return {
    name: 'hostile',
    kind: 'ad-bits',
    get size() {
      return keys.length;
    },
    insert(k) {
      calls++;
      if (calls % 11 === 0) throw new Error('insert refuses');
      if (calls % 7 === 0) meddle();
      keys.push(k);
    },
    remove(k) {
      calls++;
      const i = keys.indexOf(k);
      if (i >= 0) keys.splice(i, 1);
      if (calls % 5 === 0) throw new Error('remove refuses');
    },
    select(count, _bits, out) {
      calls++;
      if (calls % 13 === 0) meddle();
      const n = Math.min(count, keys.length);
      for (let i = 0; i < n; i++) out[i] = keys.shift()!;
      return n;
    },
  };
}

function outcome(f: () => unknown): string {
  try {
    const v = f();
    return v instanceof Uint8Array ? `ok ${Buffer.from(v).toString('hex')}` : `ok ${String(v)}`;
  } catch (e) {
    if (e instanceof SegmentationFault) return `SEGV ${e.cause}`;
    if (e instanceof PageFault) return `PF ${e.errorCode}`;
    if (e instanceof VmmError) return e.code;
    throw e;
  }
}

describe.skipIf(!nativeAvailable())('soak: native and js in lockstep against a byte-level model', () => {
  it(`${OPS} operations (seed ${SEED}), audited every ${AUDIT}`, { timeout: Math.max(60_000, OPS * 20) }, async () => {
    const rnd = prng(SEED);
    const rndProc = prng(SEED + 1);
    const int = (n: number) => Math.floor(rnd() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
    // With swap: every process is reclaimable, and MADV_PAGEOUT evicts private and shared pages (readahead on).
    const opts = { memory: '64MiB', tlb: { entries: 16, ways: 4 }, swap: { size: '16MiB' } } as const;
    // Hostile processes (plug-in policies) and a hostile onOomKill, one per machine, alike.
    interface Hostile {
      a: AddressSpace;
      b: AddressSpace;
    }
    const hostiles: Hostile[] = [];
    let kills = 0;
    const onOomKill = (side: 'a' | 'b') => () => {
      const k = side === 'a' ? (killsA = killsA + 1) : (killsB = killsB + 1);
      const others = hostiles.map((h) => h[side]).filter((s) => !s.destroyed);
      if (k % 4 === 1) throw new Error('onOomKill refuses');
      if (k % 4 === 2 && others[0]) others[0].write(HOSTILE, [k & 0xff]); // allocates (or fails with a VmmError, passed on)
      if (k % 4 === 3 && others[0]) others[0].destroy();
    };
    let killsA = 0;
    let killsB = 0;
    const A = new Machine({ ...opts, backend: 'native', onOomKill: onOomKill('a') });
    const B = new Machine({ ...opts, backend: 'js', onOomKill: onOomKill('b') });
    const used0 = A.physical.usedFrames;
    expect(B.physical.usedFrames).toBe(used0);
    const procs: Proc[] = [];
    const raws: RawProc[] = [];
    const shms: Shm[] = [];
    const userFrames: number[] = []; // frames the test allocated (same address on both machines)
    const frameBytes = new Map<number, Uint8Array>(); // contents of user frames, by pa
    const kernelPages = new Map<number, number>(); // kernel vpn -> frame pa
    let shmSeq = 0;
    // What the program did, so a run that exercised nothing fails.
    const seen = { fork: 0, shmMap: 0, huge: 0, write: 0, segv: 0, rawWrite: 0, kernelWrite: 0, pf: 0, pageout: 0, shmSwapped: 0, hugePageout: 0, mremap: 0, mlock: 0, dontneed: 0, dontfork: 0, exec: 0, hostile: 0, pluginError: 0, oomKill: 0, clearRefs: 0 };

    /** Runs f on both machines: same outcome; returns it. */
    const both = (label: string, fa: () => unknown, fb: () => unknown): string => {
      const x = outcome(fa);
      const y = outcome(fb);
      expect(y, `${label}: js vs native`).toBe(x);
      return x;
    };
    const bytesOf = (store: Store, key: number): Uint8Array => {
      let b = store.get(key);
      if (!b) store.set(key, (b = new Uint8Array(PAGE)));
      return b;
    };
    const newProc = () => {
      const p: Proc = { kind: 'vmm', a: A.createAddressSpace({ stack: false }), b: B.createAddressSpace({ stack: false }), pages: new Map() };
      procs.push(p);
      return p;
    };
    newProc();

    const audit = (step: number) => {
      expect(JSON.stringify(B.stats()), `step ${step}: machine stats`).toBe(JSON.stringify(A.stats()));
      expect(B.physical.usedFrames).toBe(A.physical.usedFrames);
      expect(JSON.stringify(B.reclaimStats()), `step ${step}: reclaim stats`).toBe(JSON.stringify(A.reclaimStats()));
      // Raw MMU spaces have no regions or VMM statistics: their pages are checked by the table audit.
      for (const p of procs) {
        expect(p.b.maps(), `step ${step}: maps`).toBe(p.a.maps());
        expect(JSON.stringify(p.b.stats())).toBe(JSON.stringify(p.a.stats()));
      }
      // Bytes: a sample of every space's readable pages, on both machines, against the model.
      for (const p of procs) {
        for (const [vpn, pg] of p.pages) {
          if (pg.prot === '' || rnd() > 0.25) continue;
          const want = bytesOf(pg.store, pg.key);
          const off = int(PAGE - 8);
          const r = both(`audit read ${vpn}`, () => p.a.read(vpn * PAGE + off, 8), () => p.b.read(vpn * PAGE + off, 8));
          expect(r).toBe(`ok ${Buffer.from(want.subarray(off, off + 8)).toString('hex')}`);
        }
      }
      // /proc's files: the same text on both machines.
      for (const p of procs) {
        const proc = (s: AddressSpace) => s.smaps({ format: 'text' }) + s.smapsRollup({ format: 'text' }) + s.status({ format: 'text' }) + s.statm({ format: 'text' }) + s.pagemap(WINDOW, WINDOW_PAGES).join(',') + s.pagemap(HUGE, HUGE_SLOTS * 512).join(',');
        expect(proc(p.b), `step ${step}: /proc`).toBe(proc(p.a));
      }
      // The frames the test allocated are held once by the test itself, besides any mapping.
      for (const m of [A, B]) expect(() => auditMachine(m, userFrames.map((pa) => pa / PAGE)), `step ${step}: audit (${m.backend})`).not.toThrow();
    };

    for (let step = 0; step < OPS; step++) {
      // A long run lets vitest's worker answer its runner now and then (it gives up on a worker silent for 60 s).
      if (step > 0 && step % 2000 === 0) await new Promise((resolve) => setImmediate(resolve));
      const r = rnd();
      const p = pick(procs);
      if (r < 0.12) {
        // mmap: private or shared anonymous, or a shared memory object, fixed in the window.
        const first = int(WINDOW_PAGES);
        const n = Math.min(1 + int(8), WINDOW_PAGES - first);
        const prot = pick(PROTS);
        const shm = shms.length && rnd() < 0.3 ? pick(shms) : undefined;
        const shared = shm !== undefined || rnd() < 0.3;
        const offsetPages = shm ? int(Math.max(1, shm.pages - n + 1)) : 0;
        const len = shm ? Math.min(n, shm.pages - offsetPages) * PAGE : n * PAGE;
        const o = (sp: AddressSpace, obj?: Shm['a']) => sp.mmap({ addr: WINDOW + first * PAGE, length: len, prot, fixed: true, shared, ...(obj ? { object: obj, offset: offsetPages * PAGE } : {}) });
        const res = both('mmap', () => o(p.a, shm?.a), () => o(p.b, shm?.b));
        if (res.startsWith('ok')) {
          if (shm) seen.shmMap++;
          const store: Store = shm ? shm.store : new Map();
          for (let k = 0; k < len / PAGE; k++) p.pages.set(WINDOW / PAGE + first + k, { prot, store, key: shm ? offsetPages + k : WINDOW / PAGE + first + k, shared });
        }
      } else if (r < 0.16) {
        // THP: a private 2 MiB-aligned region (huge pages where a whole block fits).
        const slot = int(HUGE_SLOTS);
        const at = HUGE + slot * 2 ** 21;
        const res = both('mmap huge', () => p.a.mmap({ addr: at, length: 2 ** 21, prot: 'rw', fixed: true, hugePages: true }), () => p.b.mmap({ addr: at, length: 2 ** 21, prot: 'rw', fixed: true, hugePages: true }));
        if (res.startsWith('ok')) {
          const store: Store = new Map();
          for (let k = 0; k < 512; k++) p.pages.set(at / PAGE + k, { prot: 'rw', store, key: k, shared: false });
        }
      } else if (r < 0.22) {
        const first = int(WINDOW_PAGES);
        const n = 1 + int(8);
        both('munmap', () => p.a.munmap(WINDOW + first * PAGE, n * PAGE), () => p.b.munmap(WINDOW + first * PAGE, n * PAGE));
        for (let k = 0; k < n; k++) p.pages.delete(WINDOW / PAGE + first + k);
      } else if (r < 0.27) {
        // mprotect of a fully mapped run (over a hole Linux applies a prefix: not modelled here).
        const vpns = [...p.pages.keys()].sort((x, y) => x - y);
        if (!vpns.length) continue;
        let i0 = int(vpns.length);
        const start = vpns[i0]!;
        let n = 1;
        while (n < 6 && vpns[i0 + 1] === start + n) (i0++, n++);
        const prot = pick(PROTS);
        const res = both('mprotect', () => p.a.mprotect(start * PAGE, n * PAGE, prot), () => p.b.mprotect(start * PAGE, n * PAGE, prot));
        if (res.startsWith('ok')) for (let k = 0; k < n; k++) p.pages.get(start + k)!.prot = prot;
      } else if (r < 0.29) {
        // MADV_PAGEOUT of a window range: private pages go to swap, shared ones only this process maps too; contents unchanged.
        // Sometimes a page of a THP slot: the 2 MiB page is split and evicted whole.
        const huge = rnd() < 0.3;
        const base = huge ? HUGE + int(HUGE_SLOTS) * 2 ** 21 + int(512) * PAGE : WINDOW + int(WINDOW_PAGES) * PAGE;
        const n = huge ? 1 : Math.min(1 + int(8), (WINDOW + WINDOW_PAGES * PAGE - base) / PAGE);
        both('pageout', () => p.a.madvise(base, n * PAGE, 'MADV_PAGEOUT'), () => p.b.madvise(base, n * PAGE, 'MADV_PAGEOUT'));
        seen.pageout++;
        if (A.reclaimStats().shmem.swapped > 0) seen.shmSwapped++;
        if (huge && A.reclaimStats().counters.pgsteal_direct > 0 && p.a.translate(base)?.pageSize !== 2 ** 21) seen.hugePageout++;
      } else if (r < 0.52) {
        // A store or a load within one page of a mapped (or unmapped) address.
        const vpns = [...p.pages.keys()];
        const vpn = vpns.length && rnd() < 0.9 ? pick(vpns) : WINDOW / PAGE + int(WINDOW_PAGES);
        const len = 1 + int(16);
        const off = int(PAGE - len);
        const va = vpn * PAGE + off;
        const pg = p.pages.get(vpn);
        if (rnd() < 0.5) {
          const data = Uint8Array.from({ length: len }, () => int(256));
          const res = both('write', () => p.a.write(va, data), () => p.b.write(va, data));
          if (pg && pg.prot.includes('w')) {
            expect(res).toBe('ok undefined');
            bytesOf(pg.store, pg.key).set(data, off);
            seen.write++;
            if (vpn >= HUGE / PAGE && p.a.translate(va)?.pageSize === 2 ** 21) seen.huge++;
          } else {
            expect(res.startsWith('SEGV'), `write to ${pg?.prot ?? 'nothing'}: ${res}`).toBe(true);
            seen.segv++;
          }
        } else {
          const res = both('read', () => p.a.read(va, len), () => p.b.read(va, len));
          if (pg && pg.prot !== '') expect(res).toBe(`ok ${Buffer.from(bytesOf(pg.store, pg.key).subarray(off, off + len)).toString('hex')}`);
          else expect(res.startsWith('SEGV'), `read of ${pg?.prot ?? 'nothing'}: ${res}`).toBe(true);
        }
      } else if (r < 0.57 && procs.length < 8) {
        // fork: private pages are copied (COW), shared ones stay shared.
        let ca: AddressSpace | undefined;
        let cb: AddressSpace | undefined;
        const res = both('fork', () => (ca = p.a.fork()).root, () => (cb = p.b.fork()).root);
        if (res.startsWith('ok')) {
          seen.fork++;
          const child: Proc = { kind: 'vmm', a: ca!, b: cb!, pages: new Map() };
          for (const [vpn, pg] of p.pages) {
            if (pg.dontfork) continue;
            if (pg.shared) child.pages.set(vpn, { ...pg });
            else child.pages.set(vpn, { prot: pg.prot, store: new Map([[pg.key, Uint8Array.from(bytesOf(pg.store, pg.key))]]), key: pg.key, shared: false });
          }
          procs.push(child);
        }
      } else if (r < 0.6 && procs.length > 1) {
        procs.splice(procs.indexOf(p), 1);
        both('destroy', () => p.a.destroy(), () => p.b.destroy());
      } else if (r < 0.63 && shms.length < 4) {
        const name = `soak${shmSeq++}`;
        const pages = 2 + int(8);
        const a = A.createSharedMemory(name, pages * PAGE);
        const b = B.createSharedMemory(name, pages * PAGE);
        shms.push({ name, pages, store: new Map(), a, b });
      } else if (r < 0.64 && shms.length) {
        // Unlink: existing mappings keep the object's pages.
        const s = shms.splice(int(shms.length), 1)[0]!;
        both('unlink', () => s.a.unlink(), () => s.b.unlink());
      } else if (r < 0.68 && raws.length < 3) {
        raws.push({ kind: 'raw', a: A.createAddressSpace({ faults: 'raw' }), b: B.createAddressSpace({ faults: 'raw' }), pages: new Map() });
      } else if (r < 0.8 && raws.length) {
        // Raw MMU spaces: user frames mapped at user addresses; global kernel-half pages, seen by every space.
        const q = pick(raws);
        const kernel = rnd() < 0.3;
        const vpn = kernel ? KERNEL / PAGE + int(KERNEL_PAGES) : RAW / PAGE + int(RAW_PAGES);
        const mapped = kernel ? kernelPages.get(vpn) : q.pages.get(vpn);
        const what = rnd();
        if (what < 0.3 && mapped === undefined) {
          let pa = userFrames.length && rnd() < 0.5 ? pick(userFrames) : undefined;
          if (pa === undefined) {
            const x = both('allocFrame', () => A.physical.allocFrame(), () => B.physical.allocFrame());
            if (!x.startsWith('ok')) continue;
            pa = Number(x.slice(3));
            userFrames.push(pa);
          }
          const flags = kernel ? { writable: true, user: false, global: true } : { writable: true, user: true };
          expect(both('mapPage', () => q.a.mapPage(vpn * PAGE, pa!, flags), () => q.b.mapPage(vpn * PAGE, pa!, flags))).toBe('ok undefined');
          if (kernel) kernelPages.set(vpn, pa);
          else q.pages.set(vpn, pa);
        } else if (what < 0.4 && mapped !== undefined) {
          expect(both('unmapPage', () => q.a.unmapPage(vpn * PAGE), () => q.b.unmapPage(vpn * PAGE))).toBe('ok undefined');
          if (kernel) kernelPages.delete(vpn);
          else q.pages.delete(vpn);
        } else {
          const len = 1 + int(8);
          const off = int(PAGE - len);
          const va = vpn * PAGE + off;
          const o = kernel ? { user: false } : undefined;
          if (rnd() < 0.5) {
            const data = Uint8Array.from({ length: len }, () => int(256));
            const res = both('raw write', () => q.a.write(va, data, o), () => q.b.write(va, data, o));
            if (mapped !== undefined) {
              expect(res).toBe('ok undefined');
              bytesOf(frameBytes, mapped).set(data, off);
              if (kernel) seen.kernelWrite++;
              else seen.rawWrite++;
            } else {
              expect(res.startsWith('PF')).toBe(true);
              seen.pf++;
            }
          } else {
            const res = both('raw read', () => q.a.read(va, len, o), () => q.b.read(va, len, o));
            if (mapped !== undefined) expect(res).toBe(`ok ${Buffer.from(bytesOf(frameBytes, mapped).subarray(off, off + len)).toString('hex')}`);
            else expect(res.startsWith('PF')).toBe(true);
          }
        }
      } else if (r < 0.805) {
        // mremap of a window range to another place in the window (MREMAP_FIXED, same size): its pages move
        // with their contents; with several regions each piece moves and holes stay holes (Linux 6.17+).
        const first = int(WINDOW_PAGES);
        const n = Math.min(1 + int(6), WINDOW_PAGES - first);
        const dest = int(WINDOW_PAGES - n + 1);
        const o = (sp: AddressSpace) => sp.mremap(WINDOW + first * PAGE, n * PAGE, n * PAGE, { mayMove: true, fixed: true, newAddr: WINDOW + dest * PAGE });
        const res = both('mremap', () => o(p.a), () => o(p.b));
        if (res.startsWith('ok')) {
          seen.mremap++;
          const moved = new Map<number, MPage>();
          for (let k = 0; k < n; k++) {
            const pg = p.pages.get(WINDOW / PAGE + first + k);
            if (pg) moved.set(k, pg);
            p.pages.delete(WINDOW / PAGE + first + k);
          }
          for (const [k, pg] of moved) p.pages.set(WINDOW / PAGE + dest + k, pg);
        } else expect(['EFAULT', 'EINVAL']).toContain(res);
      } else if (r < 0.815) {
        // mlock / munlock / MADV_DONTNEED_LOCKED / MADV_DONTFORK over a window range: locks change no byte; a zap
        // makes private pages zeros again (shared ones keep the object's); a child forked later lacks DONTFORK pages.
        const first = int(WINDOW_PAGES);
        const n = Math.min(1 + int(8), WINDOW_PAGES - first);
        const at = WINDOW + first * PAGE;
        const what = int(4);
        if (what === 0) both('mlock', () => p.a.mlock(at, n * PAGE), () => p.b.mlock(at, n * PAGE)), seen.mlock++;
        else if (what === 1) both('munlock', () => p.a.munlock(at, n * PAGE), () => p.b.munlock(at, n * PAGE));
        else {
          const adv = what === 2 ? 'MADV_DONTNEED_LOCKED' : 'MADV_DONTFORK';
          const res = both(adv, () => p.a.madvise(at, n * PAGE, adv), () => p.b.madvise(at, n * PAGE, adv));
          // Past holes madvise applies the advice, then says ENOMEM.
          expect(['ok undefined', 'ENOMEM']).toContain(res);
          for (let k = 0; k < n; k++) {
            const pg = p.pages.get(WINDOW / PAGE + first + k);
            if (!pg) continue;
            if (what === 3) pg.dontfork = true, seen.dontfork++;
            else if (!pg.shared) pg.store.delete(pg.key), seen.dontneed++;
          }
        }
      } else if (r < 0.817) {
        // exec: a new image, nothing mapped (no stack: the soak's spaces have none).
        both('exec', () => p.a.exec({ stack: false }), () => p.b.exec({ stack: false }));
        p.pages.clear();
        seen.exec++;
      } else if (r < 0.82) {
        const first = int(WINDOW_PAGES);
        const n = Math.min(1 + int(8), WINDOW_PAGES - first);
        both('mincore', () => [...p.a.mincore(WINDOW + first * PAGE, n * PAGE)].join(''), () => [...p.b.mincore(WINDOW + first * PAGE, n * PAGE)].join(''));
      } else if (r < 0.83 && raws.length) {
        const q = raws.splice(int(raws.length), 1)[0]!;
        both('destroy raw', () => q.a.destroy(), () => q.b.destroy());
      } else if (r < 0.86) {
        // A hostile step: a plug-in policy process (limit 6 pages) written, unmapped, advised,
        // mlocked past its limit (a memory cgroup OOM kill: the hostile onOomKill runs) or destroyed.
        // Outcomes agree, the auditor passes on both machines, the processes' bytes agree.
        seen.hostile++;
        if (hostiles.length < 2 && (hostiles.length === 0 || rnd() < 0.2)) {
          const h: Hostile = {} as Hostile;
          h.a = A.createAddressSpace({ stack: false, residentLimit: 6, policy: hostilePolicy(() => h.a) });
          h.b = B.createAddressSpace({ stack: false, residentLimit: 6, policy: hostilePolicy(() => h.b) });
          both('hostile mmap', () => h.a.mmap({ addr: HOSTILE, length: HOSTILE_PAGES * PAGE, prot: 'rw', fixed: true }), () => h.b.mmap({ addr: HOSTILE, length: HOSTILE_PAGES * PAGE, prot: 'rw', fixed: true }));
          hostiles.push(h);
        }
        const h = pick(hostiles);
        const what = rnd();
        const page = int(HOSTILE_PAGES);
        const at = HOSTILE + page * PAGE;
        const op = (s: AddressSpace): unknown => {
          if (what < 0.5) return s.write(at + 8, [page + 1, step & 0xff]);
          if (what < 0.6) return s.munmap(at, 2 * PAGE);
          if (what < 0.7) return s.mmap({ addr: HOSTILE, length: HOSTILE_PAGES * PAGE, prot: 'rw', fixed: true });
          if (what < 0.8) return s.madvise(at, 2 * PAGE, rnd2 < 0.5 ? 'MADV_DONTNEED' : 'MADV_PAGEOUT');
          if (what < 0.93) return s.mlock(HOSTILE, 8 * PAGE); // past the limit of 6: a memory cgroup OOM kill
          return s.destroy();
        };
        const rnd2 = rnd();
        const res = both('hostile', () => op(h.a), () => op(h.b));
        if (res === 'EINVAL') seen.pluginError++;
        expect(h.b.destroyed).toBe(h.a.destroyed);
        for (const x of [...hostiles]) if (x.a.destroyed) hostiles.splice(hostiles.indexOf(x), 1);
        if (killsA > kills) seen.oomKill++;
        kills = killsA;
        expect(killsB).toBe(killsA);
        for (const x of hostiles) {
          if (x.b.destroyed) continue;
          both('hostile munlock', () => x.a.munlock(HOSTILE, HOSTILE_PAGES * PAGE), () => x.b.munlock(HOSTILE, HOSTILE_PAGES * PAGE));
          for (let k = 0; k < HOSTILE_PAGES; k += 3) both(`hostile read ${k}`, () => x.a.read(HOSTILE + k * PAGE + 8, 2), () => x.b.read(HOSTILE + k * PAGE + 8, 2));
        }
        for (const m of [A, B]) expect(() => auditMachine(m, userFrames.map((pa) => pa / PAGE)), `step ${step}: audit after a hostile step (${m.backend})`).not.toThrow();
      } else {
        // Switch CR3 by touching another space (a read of its first mapped page).
        const vpns = [...p.pages.keys()];
        if (vpns.length) {
          const vpn = pick(vpns);
          const pg = p.pages.get(vpn)!;
          const res = both('touch', () => p.a.read(vpn * PAGE, 1), () => p.b.read(vpn * PAGE, 1));
          if (pg.prot !== '') expect(res).toBe(`ok ${Buffer.from(bytesOf(pg.store, pg.key).subarray(0, 1)).toString('hex')}`);
        }
      }
      if (rndProc() < 0.01) {
        // clear_refs: Accessed bits, soft-dirty (write-protects every page), or the RSS high-water mark.
        const v = (1 + Math.floor(rndProc() * 5)) as 1 | 2 | 3 | 4 | 5;
        const q = procs[Math.floor(rndProc() * procs.length)]!;
        both(`clearRefs ${v}`, () => q.a.clearRefs(v), () => q.b.clearRefs(v));
        seen.clearRefs++;
      }
      if ((step + 1) % AUDIT === 0) audit(step);
    }
    audit(OPS);
    if (OPS >= 2000) for (const [what, n] of Object.entries(seen)) expect(n, `the program did some ${what}`).toBeGreaterThan(0);

    // Everything goes: no frame may stay behind.
    for (const p of [...procs, ...raws, ...hostiles]) both('destroy', () => p.a.destroy(), () => p.b.destroy());
    for (const s of shms) both('unlink', () => s.a.unlink(), () => s.b.unlink());
    const k = A.createAddressSpace({ faults: 'raw' });
    const kb = B.createAddressSpace({ faults: 'raw' });
    for (const vpn of kernelPages.keys()) both('unmap kernel', () => k.unmapPage(vpn * PAGE), () => kb.unmapPage(vpn * PAGE));
    k.destroy();
    kb.destroy();
    for (const pa of userFrames) both('freeFrame', () => A.physical.freeFrame(pa), () => B.physical.freeFrame(pa));
    expect(A.reclaimStats().swap!.used).toBe(0);
    expect(B.reclaimStats().swap!.used).toBe(0);
    // Nothing stays: the huge zero page went with the last process that held it (Linux's shrinker frees it then).
    expect(A.physical.usedFrames).toBe(used0);
    expect(B.physical.usedFrames).toBe(used0);
    expect(A.vmm.heldFrames()).toEqual([A.vmm.zeroFrame]);
    A.dispose();
    B.dispose();
  });
});
