/**
 * Hostile values at the core boundary and at PhysicalMemory: every core method gets NaN,
 * ±Infinity, −0, 2^53, huge and fractional numbers, strings, null, undefined, bigints, valueOf
 * objects, Proxies, booleans, plain arrays and wrong, detached and shared typed arrays in each
 * argument. The two backends must answer alike (the same status, or the same error class), a
 * refused call must change nothing, and the process must survive. Then hostile plug-ins and
 * callbacks through the VMM: a policy and an onOomKill that throw, re-enter or lie at random,
 * with the invariant auditor after every step.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LONG, propertyOptions } from '../property-options.js';
import { createRefCore } from '../../src/core/ref/ref-core.js';
import { createNativeCore, nativeAvailable } from '../../src/core/native-core.js';
import type { Core, CoreConfig } from '../../src/core/core.js';
import { Machine, SegmentationFault, VmmError, type AddressSpace, type ReclaimPolicy } from '../../src/index.js';
import { auditMachine } from '../support/invariants.js';
import { BACKENDS } from '../backends.js';
import { coreRig, type CoreRig } from '../support/core-rig.js';

const MEM = 2 * 2 ** 20;
/** VMSIM_FUZZ_LIGHT=1 (the sanitizer run): outcomes only, no state snapshots — ASan checks the memory there. */
const LIGHT = process.env.VMSIM_FUZZ_LIGHT === '1';
/**
 * Snapshots (most of this file's time) for one (argument, hostile value) pair in SNAPSHOT_EVERY:
 * `npm test` compares the state for a quarter of the pairs, spread so that every argument and
 * every value get some; `npm run test:long` for all of them. Outcomes are compared for all pairs.
 */
const SNAPSHOT_EVERY = LONG ? 1 : 4;

interface Rig extends CoreRig {
  root: number;
  frame: number;
}

/** A core with a root (made current), a mapped page, a mapped 2 MiB page and a held frame. */
function rig(make: (c: CoreConfig) => Core): Rig {
  const { core, tlb, counters, result } = coreRig(make, MEM, 31);
  const root = core.createRoot();
  core.map(root, 0x1000, 2, 12, 0x67, 0, -1);
  core.setCr3(root, 1, false);
  core.access(0x1000, 1, 1);
  const frame = core.allocFrame();
  return { core, tlb, counters, result, root, frame };
}

/** Everything a call could change: RAM (a copy) and the rest as plain values. */
function snapshot(r: Rig): { ram: number; rest: string } {
  const ram = r.core.ramChunk(0);
  // A 2x32-bit hash of all of RAM (a copy per snapshot would dominate the test's time).
  const w = new Int32Array(ram.buffer, ram.byteOffset, ram.length >>> 2);
  let h1 = 0x811c9dc5 | 0;
  let h2 = 0;
  for (let i = 0; i < w.length; i++) {
    const v = w[i]!;
    if (v !== 0) {
      h1 = Math.imul(h1 ^ v, 0x01000193);
      h2 = (h2 + Math.imul(v, i | 1)) | 0;
    }
  }
  const refs: number[] = [];
  for (let f = 0; f < r.core.totalFrames; f++) refs.push(r.core.refCount(f));
  return { ram: h1 * 2 ** 32 + (h2 >>> 0), rest: JSON.stringify({ refs, free: r.core.freeFrames(), counters: [...r.counters], tlb: [...r.tlb.key, ...r.tlb.flags, ...r.tlb.stamp] }) };
}
function sameState(x: { ram: number; rest: string }, y: { ram: number; rest: string }, label: string): void {
  expect(y.ram, `${label}: RAM`).toBe(x.ram);
  if (x.rest !== y.rest) expect(JSON.parse(y.rest), label).toEqual(JSON.parse(x.rest));
}

function detached(): Float64Array {
  const a = new Float64Array(8);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}
const shared = <T>(make: (b: SharedArrayBuffer) => T, bytes: number) => make(new SharedArrayBuffer(bytes));

/** Hostile values, made fresh for each call (a call may write into an array it is given). */
const HOSTILE: Array<[string, () => unknown]> = [
  ['NaN', () => NaN],
  ['Infinity', () => Infinity],
  ['-Infinity', () => -Infinity],
  ['-0', () => -0],
  ['2^53', () => 2 ** 53],
  ['2^64', () => 2 ** 64],
  ['1e308', () => 1e308],
  ['-1', () => -1],
  ['1.5', () => 1.5],
  ['2^31', () => 2 ** 31],
  ['-2^31', () => -(2 ** 31)],
  ['2^32 + 1', () => 2 ** 32 + 1],
  ['string', () => '5'],
  ['null', () => null],
  ['undefined', () => undefined],
  ['bigint', () => 5n],
  ['bigint 2^70', () => 2n ** 70n],
  ['valueOf object', () => ({ valueOf: () => 4096 })],
  ['Date', () => new Date(4096)],
  ['Proxy', () => new Proxy({}, { get: () => () => 1 })],
  ['true', () => true],
  ['array', () => [1, 2]],
  ['Uint8Array', () => new Uint8Array(8)],
  ['Float64Array', () => new Float64Array(8)],
  ['Uint32Array', () => new Uint32Array(8)],
  ['detached Float64Array', detached],
  ['shared Float64Array', () => shared((b) => new Float64Array(b), 64)],
  ['shared Uint8Array', () => shared((b) => new Uint8Array(b), 16)],
  ['shared Uint32Array', () => shared((b) => new Uint32Array(b), 16)],
];

/** Every core method with valid arguments (for a rig). */
const CALLS: Array<[keyof Core, (r: Rig) => unknown[]]> = [
  ['ramChunk', () => [0]],
  ['ramWindow', () => [0]],
  ['allocFrames', () => [2, 2]],
  ['allocFrameList', () => [new Float64Array(2), 2]],
  ['mapList', (r) => [r.root, 0x10_0000, Float64Array.of(r.frame), 0x67, 0]],
  ['refFrame', (r) => [r.frame]],
  ['unrefFrame', (r) => [r.frame]],
  ['refCount', (r) => [r.frame]],
  ['refCountList', (r) => [Float64Array.of(r.frame, 0), 2, new Float64Array(2)]],
  ['noteWritten', (r) => [r.frame, 1]],
  ['copyFrame', (r) => [r.frame, r.frame]],
  ['destroyRoot', (r) => [r.root]],
  ['map', (r) => [r.root, 0x20_0000, 1, 12, 0x67, 0, -1]],
  ['unmap', (r) => [r.root, 0x1000, 1]],
  ['protect', (r) => [r.root, 0x1000, 2, 0, 0, 2, 0, 0x200, 2]],
  ['translate', (r) => [r.root, 0x1000]],
  ['scanAccessed', (r) => [r.root, 0x1000, 2, true]],
  ['fork', (r) => [r.root, r.core.createRoot(), 0x1000, 2, 2, 0x200, 0x20]],
  ['cowBreak', (r) => [r.root, 0x1000, 0, 0x67, 0]],
  ['setCr3', (r) => [r.root, 2, false]],
  ['invalidate', () => [1, 0x1000, 2]],
  ['flushPcid', () => [1]],
  ['flushAll', () => [true]],
  ['access', () => [0x1000, 1, 1]],
  ['accessBatch', () => [Float64Array.of(0x1000, 0x2000, 0x3000), Uint8Array.of(0, 1, 2), 0, 3, 1]],
  ['traceBatch', () => [Uint32Array.of(0x1000, 0, 0x1ffe, 1 << 18), 0, 2, 1, new Float64Array(5)]],
  ['copyVirt', () => [0x1ff0, new Uint8Array(64), 0, 32, true, 1]],
];
/** Methods whose negative results are page faults (they change counters and the TLB), not refusals. */
const FAULTING = new Set(['access', 'accessBatch', 'traceBatch', 'copyVirt']);

type Outcome = { threw: string } | { value: unknown };

function call(r: Rig, name: keyof Core, args: unknown[]): Outcome {
  try {
    const v = (r.core[name] as (...a: unknown[]) => unknown)(...args);
    return { value: v instanceof Uint8Array ? `chunk of ${v.length}` : v };
  } catch (e) {
    return { threw: (e as Error).constructor.name };
  }
}

const makers: Array<[string, (c: CoreConfig) => Core]> = [['js', createRefCore]];
if (nativeAvailable()) makers.push(['native', createNativeCore]);

/** Runs one call on a fresh rig of every backend; checks agreement and (with `states`) that a refusal changed nothing. */
function probe(name: keyof Core, args: (r: Rig) => unknown[], withStates = true): Outcome[] {
  const outs: Outcome[] = [];
  const states: ReturnType<typeof snapshot>[] = [];
  for (const [, make] of makers) {
    const r = rig(make);
    const a = args(r);
    const before = LIGHT || !withStates ? undefined : snapshot(r);
    const out = call(r, name, a);
    outs.push(out);
    if (before) {
      const after = snapshot(r);
      const refused = 'threw' in out || (typeof out.value === 'number' && out.value < 0 && !FAULTING.has(name));
      if (refused) sameState(before, after, `${name}: a refused call changed nothing`);
      states.push(after);
    }
    r.core.dispose(); // now, not at the next GC: thousands of rigs
  }
  if (outs.length === 2) {
    expect(outs[1], `${name}: backends answer alike`).toEqual(outs[0]);
    if (states.length === 2) sameState(states[0]!, states[1]!, `${name}: backends end in the same state`);
  }
  return outs;
}

describe('fuzz: hostile values at the core boundary', () => {
  for (const [name, valid] of CALLS) {
    it(`${name}: each argument replaced by each hostile value`, () => {
      const n = valid(rig(createRefCore)).length;
      for (let i = 0; i < n; i++) {
        HOSTILE.forEach(([, v], j) => {
          probe(
            name,
            (r) => {
              const a = valid(r);
              a[i] = v();
              return a;
            },
            (i + j) % SNAPSHOT_EVERY === 0,
          );
        });
        // A missing argument is refused like a wrong type.
        probe(name, (r) => valid(r).slice(0, i));
      }
    });
  }

  it('random mixes of valid and hostile arguments', () => {
    const value = fc.oneof(
      fc.constantFrom(...HOSTILE.map(([, v]) => v)),
      fc.constantFrom(0, 1, 2, 12, 21, 0x1000, 0x20_0000, 258, 259, 260, 4096, -1).map((v) => () => v),
      fc.integer({ min: -5, max: 600 }).map((v) => () => v),
    );
    fc.assert(
      fc.property(fc.constantFrom(...CALLS), fc.array(value, { maxLength: 9 }), ([name, valid], picks) => {
        probe(name, (r) => {
          const a = valid(r);
          return a.map((x, i) => (i < picks.length ? picks[i]!() : x));
        });
      }),
      propertyOptions(LIGHT ? 30 : 150, LIGHT ? 30 : 40),
    );
  });

  it.each(makers)('a disposed core refuses every call (%s)', (_n, make) => {
    const r = rig(make);
    r.core.dispose();
    for (const [name, valid] of CALLS) {
      const args = name === 'fork' ? [r.root, r.root + 1, 0x1000, 1, 0, 0, 0] : valid({ ...r, core: { ...r.core, createRoot: () => 0 } as Core });
      expect(call(r, name, args), name).toEqual({ threw: 'Error' });
    }
  });
});

/** A label for a value that cannot throw (String() of a detached array or a Proxy may). */
function label0(v: unknown): string {
  try {
    return ArrayBuffer.isView(v) ? `${v.constructor.name}(${(v as Uint8Array).length})` : typeof v === 'object' && v !== null ? Object.prototype.toString.call(v) : String(v);
  } catch {
    return typeof v;
  }
}

describe.each(BACKENDS)('fuzz: hostile values at PhysicalMemory (%s)', (backend) => {
  const m = new Machine({ memory: '4MiB', backend });
  const mine = m.physical.allocFrame();
  const calls: Array<[string, (v: unknown) => unknown]> = [
    ['allocFrames(v)', (v) => m.physical.allocFrames(v as number)],
    ['allocFrames(1, v)', (v) => m.physical.allocFrames(1, v as number)],
    ['freeFrame(v)', (v) => m.physical.freeFrame(v as number)],
    ['refFrame(v)', (v) => m.physical.refFrame(v as number)],
    ['refCount(v)', (v) => m.physical.refCount(v as number)],
    ['read(v, 4)', (v) => m.physical.read(v as number, 4)],
    ['read(mine, v)', (v) => m.physical.read(mine, v as number)],
    ['write(v, [1])', (v) => m.physical.write(v as number, [1])],
    ['write(mine, v)', (v) => m.physical.write(mine, v as Uint8Array)],
  ];
  const values: unknown[] = [
    ...HOSTILE.map(([, v]) => v()).filter((v) => !(v instanceof Uint8Array)),
    2n ** 64n,
    -1n,
    [256],
    [-1],
    [1.5],
    ['7'],
    [NaN],
    { length: 2 ** 40 },
    { length: -1 },
    new Proxy([], { get: (t, k) => (k === 'length' ? 1 : 300) }),
  ];
  for (const [label, f] of calls) {
    it(`${label}: a VmmError or a success, and a refusal changes nothing`, () => {
      for (const v of values) {
        const before = [m.physical.freeFrames, [...m.physical.read(mine, 16)], m.physical.refCount(mine)];
        let err: unknown;
        try {
          const r = f(v);
          // An allocation that succeeded is given back, so the next value sees the same machine.
          if (label.startsWith('allocFrames')) m.physical.freeFrame(r as number);
          if (label.startsWith('refFrame')) m.physical.freeFrame(v as number);
          if (label.startsWith('write(mine')) m.physical.write(mine, new Uint8Array(16));
          if (label.startsWith('freeFrame')) m.physical.refFrame(v as number);
        } catch (e) {
          err = e;
        }
        if (err !== undefined) {
          expect(err, `${label} with ${label0(v)}`).toBeInstanceOf(VmmError);
          expect([m.physical.freeFrames, [...m.physical.read(mine, 16)], m.physical.refCount(mine)]).toEqual(before);
        }
      }
    });
  }
});

describe.each(BACKENDS)('arrays the core keeps pointers into (%s)', (backend) => {
  it('cannot be detached: the TLB, counter and result arrays of a machine live on SharedArrayBuffers', () => {
    const m = new Machine({ memory: '4MiB', backend });
    const arrays = [m.counters, m.result, ...Object.values(m.tlbState).filter((v) => ArrayBuffer.isView(v))] as ArrayBufferView[];
    expect(arrays.length).toBeGreaterThan(10);
    for (const a of arrays) {
      expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(() => structuredClone(a.buffer, { transfer: [a.buffer as unknown as ArrayBuffer] })).toThrow();
    }
    const p = m.createAddressSpace();
    const va = p.mmap({ length: 4096, prot: 'rw' });
    p.write(va, [1, 2]);
    expect([...p.read(va, 2)]).toEqual([1, 2]);
    expect(m.stats().tlb.hits + m.stats().tlb.misses).toBeGreaterThan(0);
    m.dispose();
  });
});

describe('SharedArrayBuffer-backed arrays through the public API', () => {
  it('accessBatch, write and physical.write take them on both backends alike', () => {
    const run = (backend: 'js' | 'native') => {
      const m = new Machine({ memory: '4MiB', backend });
      const p = m.createAddressSpace();
      const va = p.mmap({ length: 3 * 4096, prot: 'rw' });
      const las = new Float64Array(new SharedArrayBuffer(3 * 8));
      las.set([va, va + 4096, va + 8192]);
      const kinds = new Uint8Array(new SharedArrayBuffer(3));
      kinds.set([1, 0, 1]);
      const r = p.accessBatch(las, kinds);
      const bytes = new Uint8Array(new SharedArrayBuffer(4));
      bytes.set([9, 8, 7, 6]);
      p.write(va + 10, bytes);
      const pa = m.physical.allocFrame();
      m.physical.write(pa, bytes);
      const out = { completed: r.completed, read: [...p.read(va + 10, 4)], phys: [...m.physical.read(pa, 4)], stats: m.stats() };
      m.dispose();
      return out;
    };
    const js = run('js');
    expect(js.completed).toBe(3);
    expect(js.read).toEqual([9, 8, 7, 6]);
    expect(js.phys).toEqual([9, 8, 7, 6]);
    if (nativeAvailable()) expect(run('native')).toEqual(js);
  });
});

/** What a hostile plug-in does on its nth call: behave, throw, or call back into the VMM (refused: EBUSY). */
type Mischief = 'ok' | 'throw' | 'throwBefore' | 'reenter' | 'reenterLeak' | 'wrongVictim' | 'noVictim';
const MISCHIEF: Mischief[] = ['ok', 'throw', 'throwBefore', 'reenter', 'reenterLeak', 'wrongVictim', 'noVictim'];
type OomMischief = 'ok' | 'throw' | 'allocate' | 'destroySelf' | 'destroyOther';

describe.each(BACKENDS)('fuzz: hostile plug-ins and callbacks through the VMM (%s)', (backend) => {
  const PG = 4096;
  const BASE = 0x4000_0000;
  const PAGES = 24;
  it('a policy and an onOomKill that throw, re-enter or lie at random: only VmmError or SegmentationFault escape, the auditor passes after every step, nothing leaks', () => {
    const seen = { oomKills: 0, pluginErrors: 0, busy: 0 };
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...MISCHIEF), { minLength: 1, maxLength: 40 }),
        fc.array(fc.constantFrom<OomMischief>('ok', 'throw', 'allocate', 'destroySelf', 'destroyOther'), { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: PAGES - 1 }), fc.integer({ min: 1, max: 6 })), { minLength: 1, maxLength: 40 }),
        (plan, oomPlan, ops) => {
          let spaces: AddressSpace[] = [];
          let oomCalls = 0;
          const m = new Machine({
            memory: '8MiB',
            backend,
            swap: { size: 64 * PG },
            onOomKill: (k) => {
              const mode = oomPlan[oomCalls++ % oomPlan.length]!;
              const live = spaces.filter((s) => !s.destroyed);
              if (mode === 'throw') throw new Error('onOomKill refuses');
              if (mode === 'allocate' && live[0]) live[0].write(BASE, [1]);
              if (mode === 'destroySelf' || mode === 'destroyOther') {
                const victim = mode === 'destroySelf' ? live[live.length - 1] : live.find((s) => s !== k.space);
                victim?.destroy();
              }
            },
          });
          const used0 = m.stats().frames.used;
          const policy = (owner: () => AddressSpace | undefined): ReclaimPolicy => {
            const keys: number[] = [];
            let n = 0;
            const step = (): Mischief => plan[n++ % plan.length]!;
            const reenter = (swallow: boolean) => {
              try {
                owner()?.munmap(BASE, 2 * PG);
              } catch (e) {
                if (!swallow) throw e;
              }
            };
            return {
              name: 'fuzzed',
              kind: 'ad-bits',
              get size() {
                return keys.length;
              },
              insert(key) {
                const s = step();
                if (s === 'throwBefore') throw new Error('insert refuses');
                if (s === 'reenter' || s === 'reenterLeak') reenter(s === 'reenter');
                keys.push(key);
                if (s === 'throw') throw new Error('insert refuses after');
              },
              remove(key) {
                const s = step();
                if (s === 'throwBefore') throw new Error('remove refuses');
                const i = keys.indexOf(key);
                if (i >= 0) keys.splice(i, 1);
                if (s === 'throw') throw new Error('remove refuses after');
              },
              select(count, _bits, out) {
                const s = step();
                if (s === 'reenter' || s === 'reenterLeak') reenter(s === 'reenter');
                if (s === 'throw' || s === 'throwBefore') throw new Error('select refuses');
                if (s === 'noVictim') return 0;
                const got = Math.min(count, keys.length);
                for (let i = 0; i < got; i++) out[i] = keys.shift()!;
                if (s === 'wrongVictim' && got > 0) out[0] = 12345;
                return got;
              },
            };
          };
          for (let i = 0; i < 3; i++) {
            const s: AddressSpace = m.createAddressSpace({ stack: false, residentLimit: 4 + 2 * i, policy: policy(() => s) });
            s.mmap({ addr: BASE, length: PAGES * PG, prot: 'rw', fixed: true, noReserve: true });
            spaces.push(s);
          }
          const big = m.createAddressSpace({ stack: false });
          const bb = big.mmap({ length: 1500 * PG, prot: 'rw' });
          big.mlock(bb, 1500 * PG); // most of RAM, unevictable: reclaim and the OOM killer come early
          spaces.push(big);
          for (const [op, page, n] of ops) {
            const live = spaces.filter((x) => !x.destroyed);
            if (live.length === 0) break;
            const s = live[page % live.length]!;
            const at = BASE + page * PG;
            try {
              if (op <= 3) s.write(at, [page, op]);
              else if (op === 4) s.read(at, 8);
              else if (op === 5) s.munmap(at, n * PG);
              else if (op === 6) s.mmap({ addr: BASE, length: PAGES * PG, prot: 'rw', fixed: true, noReserve: true });
              else if (op === 7) s.madvise(at, Math.min(n, PAGES - page) * PG, n % 2 ? 'MADV_PAGEOUT' : 'MADV_DONTNEED');
              else if (op === 8) s.mlock(at, Math.min(n, PAGES - page) * PG);
              else spaces.push(s.fork());
            } catch (e) {
              // Only the VMM's own errors: never a raw PageFault or a plug-in's or callback's Error.
              expect(e instanceof VmmError || e instanceof SegmentationFault, String(e)).toBe(true);
              if (e instanceof VmmError && /policy 'fuzzed'/.test(e.message)) seen.pluginErrors++;
              if (e instanceof VmmError && (e.cause as VmmError | undefined)?.code === 'EBUSY') seen.busy++;
            }
            auditMachine(m);
          }
          seen.oomKills += m.oomKills().length;
          for (const s of spaces) if (!s.destroyed) s.destroy();
          spaces = [];
          auditMachine(m);
          expect(m.stats().frames.used).toBe(used0);
          expect(m.reclaimStats().swap!.used).toBe(0);
          m.dispose();
        },
      ),
      propertyOptions(40),
    );
    // The runs did what they are for.
    for (const [what, n] of Object.entries(seen)) expect(n, what).toBeGreaterThan(0);
  });
});
