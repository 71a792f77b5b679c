/**
 * OPT in trace replay: a first pass gives it the trace's page touches as its future. Its
 * page-ins equal a brute-force Belady over the touches (computed here, independently of
 * vmsim's touch enumeration), never exceed any other policy's nor Mattson's LRU count, it
 * passes over references the VMM refuses, and a trace that can be read only once is refused.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Readable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { tempDir } from '../support/temp-dir.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { replay } from '../../src/replay/replay.js';
import { faultCurve } from '../../src/replay/fault-curve.js';
import { packRecord, type TraceChunk } from '../../src/trace/trace-record.js';
import { syntheticLackeyTrace } from '../../src/trace/synthetic-trace.js';
import { stackDistances } from '../../src/reclaim/stack-distance.js';
import { createPolicy, POLICY_NAMES } from '../../src/reclaim/registry.js';
import { runPolicy } from '../reclaim/policy-driver.js';
import type { PolicyName } from '../../src/reclaim/policy.js';
import { BACKENDS } from '../backends.js';
import { LONG, propertyOptions } from '../property-options.js';

const PAGE = 4096;
const BASE = 0x10_0000_0000;
const TASK_SIZE = 2 ** 47 - PAGE;

/** A record: linear address, kind (0 load, 1 store, 2 instruction, 3 modify), size. */
type Rec = [la: number, kind: number, size: number];

function chunks(recs: readonly Rec[]): TraceChunk[] {
  const words = new Uint32Array(Math.max(1, recs.length) * 2);
  recs.forEach(([la, k, size], i) => packRecord(words, i, la, k, size));
  return [{ words, count: recs.length }];
}

/** The page touches of `recs` as the hardware makes them: each page an access covers, user pages only (`mapped` says which pages exist). */
function touchesOf(recs: readonly Rec[], mapped: (page: number) => boolean = () => true): number[] {
  const out: number[] = [];
  for (const [la, , size] of recs) {
    if (la < 65536 || la >= TASK_SIZE) continue; // refused: no page referenced
    const first = Math.floor(la / PAGE);
    if (!mapped(first)) continue;
    out.push(first);
    const last = Math.floor((la + size - 1) / PAGE);
    if (last !== first && last * PAGE < TASK_SIZE && mapped(last)) out.push(last);
  }
  return out;
}

/** Belady's MIN by brute force: on a fault with all frames full, evict the page used again farthest ahead. */
function belady(touches: readonly number[], frames: number, initial: readonly number[] = []): number {
  const resident = new Set<number>(initial);
  let faults = 0;
  touches.forEach((p, i) => {
    if (resident.has(p)) return;
    faults++;
    if (resident.size === frames) {
      let victim = -1;
      let farthest = -1;
      for (const q of resident) {
        let next = touches.indexOf(q, i + 1);
        if (next < 0) next = Infinity;
        if (next > farthest) (farthest = next), (victim = q);
      }
      resident.delete(victim);
    }
    resident.add(p);
  });
  return faults;
}

type Result = Awaited<ReturnType<typeof replay>>;

/** Page-ins of a replay (first touches and re-references after eviction), as the curve counts them. */
async function pageIns(trace: Parameters<typeof replay>[0], options: Parameters<typeof replay>[1]): Promise<{ pageIns: number; r: Result }> {
  let resident = 0;
  const r = await replay(trace, { ...options, onFinish: (s) => (resident = s.vm.resident!.tracked.size) });
  return { pageIns: resident + r.evictions!.clean + r.evictions!.dirty, r };
}

/** Records on pages 0..pages-1 above BASE, some crossing into the next page, and some refused outright (low, kernel half, guard page). */
const recordArb = (pages: number) =>
  fc.oneof(
    { weight: 12, arbitrary: fc.tuple(fc.integer({ min: 0, max: pages - 1 }), fc.integer({ min: 0, max: PAGE - 1 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 16 })).map(([p, off, k, size]): Rec => [BASE + p * PAGE + off, k, size]) },
    { weight: 1, arbitrary: fc.constantFrom<Rec>([0x1000, 0, 8], [2 ** 47 + 0x2000, 1, 8], [TASK_SIZE - 8, 1, 16], [TASK_SIZE + 16, 0, 4]) },
  );

describe.each(BACKENDS)('opt in replay (%s)', (backend) => {
  it('equals a brute-force Belady over the page touches, and LRU equals Mattson over them (crossing records, all kinds, refused records)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(recordArb(12), { minLength: 1, maxLength: 100 }), fc.integer({ min: 1, max: 10 }), async (recs, frames) => {
        const touches = touchesOf(recs);
        const opt = await pageIns(chunks(recs), { backend, frames, policy: 'opt', swap: '1MiB' });
        expect(opt.pageIns).toBe(belady(touches, frames));
        const lru = await pageIns(chunks(recs), { backend, frames, policy: 'lru', swap: '1MiB' });
        expect(lru.pageIns).toBe(stackDistances(touches).faults(frames));
        expect(opt.pageIns).toBeLessThanOrEqual(lru.pageIns);
      }),
      propertyOptions(40, 12),
    );
  });

  it('every-reference policies are told each touch once: replay makes the textbook model\'s decisions (lru, lfu, 2q, arc, opt)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(recordArb(12), { minLength: 1, maxLength: 100 }), fc.integer({ min: 1, max: 10 }), fc.constantFrom<PolicyName>('lru', 'lfu', '2q', 'arc', 'opt'), async (recs, frames, name) => {
        const touches = touchesOf(recs);
        const model = runPolicy(createPolicy(name, name === 'opt' ? { future: touches } : name === '2q' || name === 'arc' ? { capacity: frames } : {}), touches, frames);
        const r = await pageIns(chunks(recs), { backend, frames, policy: name, swap: '1MiB', ...(name === '2q' || name === 'arc' ? { policyOptions: { capacity: frames } } : {}) });
        expect(r.pageIns).toBe(model.faults);
      }),
      propertyOptions(60, 15),
    );
  });

  it('the TLB hierarchy path (with series windows) tells the policies the same touches', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(recordArb(12), { minLength: 1, maxLength: 100 }), fc.integer({ min: 1, max: 8 }), async (recs, frames) => {
        const touches = touchesOf(recs);
        const opt = await pageIns(chunks(recs), { backend, frames, policy: 'opt', swap: '1MiB', cpu: 'skylake', seriesEvery: 7 });
        expect(opt.pageIns).toBe(belady(touches, frames));
        const lru = await pageIns(chunks(recs), { backend, frames, policy: 'lru', swap: '1MiB', cpu: 'skylake' });
        expect(lru.pageIns).toBe(stackDistances(touches).faults(frames));
      }),
      propertyOptions(15, 5),
    );
  });

  it('passes over the references the VMM refuses (mode regions: accesses outside the mapped pages are SIGSEGV)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(recordArb(12), { minLength: 1, maxLength: 100 }), fc.integer({ min: 1, max: 6 }), async (recs, frames) => {
        // The 8 pages setup maps, and the stack's top page (every process has a stack).
        const mapped = (p: number) => (p >= BASE / PAGE && p < BASE / PAGE + 8) || p === TASK_SIZE / PAGE - 1;
        const setup = (s: { mmap(o: object): unknown }) => s.mmap({ addr: BASE, length: 8 * PAGE, prot: 'rw', fixed: true });
        const opt = await pageIns(chunks(recs), { backend, frames, policy: 'opt', swap: '1MiB', mode: 'regions', setup });
        expect(opt.pageIns).toBe(belady(touchesOf(recs, mapped), frames));
        const lru = await pageIns(chunks(recs), { backend, frames, policy: 'lru', swap: '1MiB', mode: 'regions', setup });
        expect(opt.pageIns).toBeLessThanOrEqual(lru.pageIns);
      }),
      propertyOptions(25, 8),
    );
  });

  it('pages setup touched start resident; the future still starts at the trace', async () => {
    const recs: Rec[] = [0, 1, 2, 3, 0, 1, 4, 0, 1, 2, 3, 4].map((p) => [BASE + p * PAGE, 0, 8]);
    const r = await pageIns(chunks(recs), {
      backend,
      frames: 3,
      policy: 'opt',
      mode: 'regions',
      setup: (s) => {
        s.mmap({ addr: BASE, length: 5 * PAGE, prot: 'rw', fixed: true });
        s.write(BASE + 4 * PAGE, [1]); // page 4 resident before the trace starts
      },
    });
    const touches = recs.map(([la]) => Math.floor(la / PAGE));
    expect(r.r.faults.segv).toBe(0);
    // setup's page-in of page 4, then Belady from frames holding page 4.
    expect(r.pageIns).toBe(1 + belady(touches, 3, [BASE / PAGE + 4]));
  });

  it("under a resident limit, pages touched are the trace's page-ins: what setup touched is not counted", async () => {
    const recs: Rec[] = [20, 21, 22, 20].map((p) => [BASE + p * PAGE, 0, 8]);
    const setup = (s: { mmap(o: object): unknown; write(a: number, b: number[]): void }) => {
      s.mmap({ addr: BASE, length: 32 * PAGE, prot: 'rw', fixed: true });
      for (let p = 0; p < 8; p++) s.write(BASE + p * PAGE, [1]);
    };
    for (const policy of ['lru', 'clock'] as const) {
      const r = await replay(chunks(recs), { backend, frames: 64, policy, mode: 'regions', setup });
      expect(r.pagesTouched).toBe(3);
      expect(r.bytesTouched).toBe(3 * PAGE);
    }
  });

  it('a future given as a plain array is matched as replay needs (setup pages and refused accesses passed over)', async () => {
    const recs: Rec[] = [0, 1, 2, 0, 3, 0, 1].map((p) => [BASE + p * PAGE, 0, 8]);
    const touches = recs.map(([la]) => Math.floor(la / PAGE));
    const setup = (s: { mmap(o: object): unknown; write(a: number, b: number[]): void }) => {
      s.mmap({ addr: BASE, length: 4 * PAGE, prot: 'rw', fixed: true });
      s.write(BASE + 3 * PAGE, [1]);
    };
    const given = await pageIns(chunks(recs), { backend, frames: 2, policy: 'opt', mode: 'regions', setup, policyOptions: { future: touches } });
    const computed = await pageIns(chunks(recs), { backend, frames: 2, policy: 'opt', mode: 'regions', setup });
    expect(given.pageIns).toBe(computed.pageIns);
  });

  it('an array of chunks is read twice; a generator, an async generator and a stream are refused with what to do', async () => {
    const recs: Rec[] = [0, 1, 2, 0, 3, 0, 1].map((p) => [BASE + p * PAGE, 1, 8]);
    const [c] = chunks(recs);
    expect((await pageIns([c!], { backend, frames: 2, policy: 'opt' })).pageIns).toBe(belady(touchesOf(recs), 2));
    const msg = /policy 'opt' reads the trace twice .*can be read only once: save it to a file first/;
    await expect(replay((function* () { yield c!; })(), { backend, frames: 2, policy: 'opt' })).rejects.toThrow(msg);
    await expect(replay((async function* () { yield c!; })(), { backend, frames: 2, policy: 'opt' })).rejects.toThrow(msg);
    await expect(replay(Readable.from([Buffer.from(' L 10000000,8\n')]), { backend, frames: 2, policy: 'opt' })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringMatching(/a stream can be read only once/) });
    // A stream with the future given needs no first pass.
    const future = [0x10000000 / PAGE];
    const r = await replay(Readable.from([Buffer.from(' L 10000000,8\n')]), { backend, frames: 2, policy: 'opt', policyOptions: { future } });
    expect(r.faults.minor).toBe(1);
  });
});

// The reference backend gives the same numbers (the differential tests); npm test runs these whole-trace checks on the fast one.
describe.each(LONG ? BACKENDS : BACKENDS.slice(-1))('opt on real and synthetic traces (%s)', (backend) => {
  const policies = POLICY_NAMES.filter((p) => p !== 'opt');

  it('the shipped ls trace: opt page-ins <= every other policy and <= Mattson, at several sizes', async () => {
    const c = await faultCurve('traces/ls.lackey.gz', { frames: [16, 64], policies: ['opt', 'lru', 'clock', 'fifo', 'arc'], backend });
    for (const [i, f] of [16, 64].entries()) {
      const opt = c.rows.find((r) => r.policy === 'opt' && r.frames === f)!.faults;
      expect(opt).toBeLessThanOrEqual(c.mattson[i]!);
      for (const r of c.rows.filter((x) => x.frames === f)) expect(opt).toBeLessThanOrEqual(r.faults);
      expect(c.rows.find((r) => r.policy === 'lru' && r.frames === f)!.faults).toBe(c.mattson[i]);
    }
  });

  it('a synthetic trace (bytes): opt page-ins <= every policy and <= Mattson; equal to Belady on a short one', async () => {
    const bytes = Buffer.from(syntheticLackeyTrace({ seed: 3, records: 20000 }));
    const frames = [4, 8, 24];
    const c = await faultCurve(bytes, { frames, policies: ['opt', ...policies] as PolicyName[], backend });
    frames.forEach((f, i) => {
      const rows = c.rows.filter((r) => r.frames === f);
      const opt = rows.find((r) => r.policy === 'opt')!.faults;
      expect(opt).toBeLessThanOrEqual(c.mattson[i]!);
      for (const r of rows) expect(opt).toBeLessThanOrEqual(r.faults);
    });
    // replay() with a path's bytes and opt: the first pass is its own, and agrees with the curve's.
    const direct = await pageIns(bytes, { backend, frames: 8, policy: 'opt' });
    expect(direct.pageIns).toBe(c.rows.find((r) => r.policy === 'opt' && r.frames === 8)!.faults);

    const short = syntheticLackeyTrace({ seed: 5, records: 3000 });
    const recs: Rec[] = [];
    for (const line of short.split('\n')) {
      const m = /^ ?([ILSM]) +([0-9a-f]+),(\d+)/.exec(line);
      if (m) recs.push([parseInt(m[2]!, 16), 'LSIM'.indexOf(m[1]!), Number(m[3])]);
    }
    for (const f of [3, 6]) expect((await pageIns(Buffer.from(short), { backend, frames: f, policy: 'opt' })).pageIns).toBe(belady(touchesOf(recs), f));
  });
});

describe('opt on a file path', () => {
  it('a FIFO is refused before it is opened (opening it would wait for a writer)', async () => {
    const fifo = join(tempDir('opt'), 'trace.fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(replay(fifo, { frames: 4, policy: 'opt' })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringMatching(/trace\.fifo is not a regular file/) });
  });

  it('a missing file is ENOENT, as without opt', async () => {
    await expect(replay('/nonexistent/trace.gz', { frames: 4, policy: 'opt' })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reads the file twice (onProgress sees both passes) and agrees with the same bytes', async () => {
    let ends = 0;
    const a = await pageIns('traces/ls.lackey.gz', { frames: 32, policy: 'opt', onProgress: (done, total) => void (done === total && ends++) });
    expect(ends).toBe(2);
    const b = await pageIns(readFileSync('traces/ls.lackey.gz'), { frames: 32, policy: 'opt' });
    expect(a.pageIns).toBe(b.pageIns);
    expect(a.r.resident).toMatchObject({ frames: 32, policy: 'opt' });
  });
});
