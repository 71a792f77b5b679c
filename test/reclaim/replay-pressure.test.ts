/**
 * Replay under memory pressure (`frames`): exact against Mattson's stack distances for LRU,
 * identical to an unlimited replay when the limit is never reached, swap and eviction
 * counts that balance, and option errors.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { replay } from '../../src/replay/replay.js';
import { packRecord, type TraceChunk } from '../../src/trace/trace-record.js';
import { stackDistances } from '../../src/reclaim/stack-distance.js';
import { BACKENDS } from '../backends.js';
import { propertyOptions } from '../property-options.js';

const BASE = 0x10_0000_0000;

/** Records [page, kind] (kind 0 load, 1 store), each an 8-byte access inside its page. */
function chunk(recs: Array<[number, number]>): TraceChunk[] {
  const words = new Uint32Array(recs.length * 2);
  recs.forEach(([p, k], i) => packRecord(words, i, BASE + p * 4096 + 64, k, 8));
  return [{ words, count: recs.length }];
}

/** Textbook faults of a replay: pages brought in = still resident + evicted. */
function pageIns(r: Awaited<ReturnType<typeof replay>>, resident: number): number {
  return resident + r.evictions!.clean + r.evictions!.dirty;
}

describe.each(BACKENDS)('replay under pressure (%s)', (backend) => {
  it('LRU page-ins equal the stack-distance count at every size (Mattson)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 1 })), { minLength: 1, maxLength: 120 }), fc.integer({ min: 1, max: 12 }), async (recs, frames) => {
        let resident = 0;
        const r = await replay(chunk(recs), { backend, frames, policy: 'lru', swap: '1MiB', onFinish: (s) => (resident = s.vm.resident!.tracked.size) });
        const sd = stackDistances(recs.map(([p]) => p));
        expect(pageIns(r, resident)).toBe(sd.faults(frames));
        expect(r.swap!.in).toBe(r.faults.major);
        // Pages touched are the distinct pages of the trace, whatever was evicted by the end.
        expect(r.pagesTouched).toBe(new Set(recs.map(([p]) => p)).size);
        expect(r.bytesTouched).toBe(r.pagesTouched * 4096);
      }),
      propertyOptions(40),
    );
  });

  it('a limit that is never reached changes nothing', async () => {
    const recs: Array<[number, number]> = Array.from({ length: 300 }, (_, i) => [(i * 7) % 23, i % 3 === 0 ? 1 : 0]);
    const a = await replay(chunk(recs), { backend });
    const b = await replay(chunk(recs), { backend, frames: 23, policy: 'clock' });
    expect(b.faults).toEqual(a.faults);
    expect(b.tlb).toEqual(a.tlb);
    expect(b.pagesTouched).toBe(a.pagesTouched);
    expect(b.swap).toEqual({ in: 0, out: 0 });
    expect(b.evictions).toEqual({ clean: 0, dirty: 0 });
  });

  it('under pressure: stores are written back, re-reads are major faults, clean copies are dropped', async () => {
    // Write 8 pages, then read them twice with 4 frames (FIFO): every read is a swap-in, and
    // the second round evicts pages whose swap copy is still valid without writing them.
    const recs: Array<[number, number]> = [];
    for (let p = 0; p < 8; p++) recs.push([p, 1]);
    for (let k = 0; k < 2; k++) for (let p = 0; p < 8; p++) recs.push([p, 0]);
    const r = await replay(chunk(recs), { backend, frames: 4, policy: 'fifo', swap: { size: '1MiB', pageCluster: 0 } });
    expect(r.faults.minor).toBe(8);
    expect(r.faults.major).toBe(16);
    expect(r.swap).toEqual({ in: 16, out: 8 });
    expect(r.evictions).toEqual({ clean: 12, dirty: 8 });
    expect(r.resident).toMatchObject({ frames: 4, policy: 'fifo', pages: 4, pageIns: 24 });
  });

  it('with readahead (page-cluster 3) neighbouring slots come back as swap-cache hits: minor faults', async () => {
    const recs: Array<[number, number]> = [];
    for (let p = 0; p < 8; p++) recs.push([p, 1]);
    for (let p = 0; p < 8; p++) recs.push([p, 0]);
    let counters: Record<string, number> = {};
    const r = await replay(chunk(recs), { backend, frames: 4, policy: 'fifo', swap: '1MiB', onFinish: (s) => (counters = { ...s.reclaimStats().counters! }) });
    // Pages 0-3 went to slots 1-4, pages 4-7 stay resident until the reads evict them.
    expect(r.faults.major + counters.swapcache_hit!).toBe(8);
    expect(counters.swapcache_hit).toBeGreaterThan(0);
    expect(counters.swap_ra_hit).toBe(counters.swapcache_hit);
    expect(counters.swap_ra).toBeGreaterThanOrEqual(counters.swap_ra_hit!);
  });

  it('zswap keeps the written pages compressed; its loads are exclusive, so pages come back dirty', async () => {
    const recs: Array<[number, number]> = [];
    for (let p = 0; p < 8; p++) recs.push([p, 1]);
    for (let p = 0; p < 8; p++) recs.push([p, 0]);
    const r = await replay(chunk(recs), { backend, frames: 2, policy: 'fifo', swap: { size: '1MiB', zswap: true } });
    // 8 stores out; reading back 6 of them evicts 6 again, now dirty (the pool freed their copy).
    expect(r.swap!.out).toBe(14);
    expect(r.evictions).toEqual({ clean: 0, dirty: 14 });
    expect(r.faults.major).toBe(8);
    expect(r.swap!.zswap!.ratio).toBeGreaterThan(1);
  });
});

describe('replay pressure options', () => {
  it('are refused with a clear EINVAL', async () => {
    const c = chunk([[0, 0]]);
    await expect(replay(c, { frames: 0 })).rejects.toThrow(/options.frames must be a positive whole number/);
    await expect(replay(c, { frames: -1 })).rejects.toThrow(/options.frames/);
    await expect(replay(c, { policy: 'lru' })).rejects.toThrow(/options.policy needs options.frames/);
    await expect(replay(c, { frames: 2, policy: 'nope' as never })).rejects.toThrow(/unknown policy string "nope"/);
    await expect(replay((function* () { yield* c; })(), { frames: 2, policy: 'opt' })).rejects.toThrow(/'opt' reads the trace twice/);
    await expect(replay(c, { frames: 2, swap: '1PiB' })).rejects.toThrow(/swap.size/);
    await expect(replay(c, { frames: 2, swap: { size: '1MiB', bogus: 1 } as never })).rejects.toThrow(/swap: unknown option 'bogus'/);
    await expect(replay(c, { frames: 2, pageSize: '2m' })).rejects.toThrow(/needs pageSize '4k'/);
  });
});
