/**
 * Replay with snapshots: replaying A with `save`, then B `from` that file, counts exactly what a
 * replay of A then B counts beyond A (every TLB level, walk, fault and frame; the pages touched
 * are the process's since it began), on both backends, with one TLB and with a hierarchy; a TLB
 * of another geometry starts empty and says so; what cannot go with a snapshot is refused.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { Machine } from '../../src/system/machine.js';
import { replay } from '../../src/replay/replay.js';
import { annotate } from '../../src/annotate/annotate.js';
import { packRecord } from '../../src/trace/trace-record.js';
import type { ReplayOptions } from '../../src/replay/replay-options.js';
import type { ReplayResult } from '../../src/replay/replay-result.js';
import type { TraceChunk } from '../../src/trace/trace-record.js';
import { SnapshotError } from '../../src/snapshot/snapshot-error.js';
import { BACKENDS } from '../backends.js';
import { tempDir } from '../support/temp-dir.js';

/** Records over a few MiB at random (seeded): loads, stores, fetches, modifies of 1-8 bytes, some crossing a page. */
function records(seed: number, n: number): TraceChunk {
  let x = seed >>> 0 || 1;
  const next = () => ((x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) ^ (x + 0x9e3779b9)) >>> 0);
  const words = new Uint32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const page = next() % (next() % 4 === 0 ? 1500 : 60);
    packRecord(words, i, 0x40000000 + page * 4096 + (next() % 4096), next() % 4, 1 + (next() % 8));
  }
  return { words, count: n };
}

/** Every number of a result a continuation adds to (not times, not sizes of the configuration). */
function counts(r: ReplayResult): Record<string, number> {
  const out: Record<string, number> = {
    accesses: r.accesses,
    pageCrossing: r.pageCrossing,
    hits: r.tlb.hits,
    misses: r.tlb.misses,
    retries: r.tlb.retries,
    walks: r.walks,
    framesUsed: r.framesUsed,
    ...Object.fromEntries(Object.entries(r.faults).map(([k, v]) => [`faults.${k}`, v])),
    ...Object.fromEntries(Object.entries(r.byKind).map(([k, v]) => [`byKind.${k}`, v])),
  };
  for (const l of r.tlb.levels) {
    out[`${l.name}.hits`] = l.hits;
    out[`${l.name}.misses`] = l.misses;
  }
  return out;
}

const CONFIGS: Array<[string, ReplayOptions]> = [
  ['one TLB', { tlb: { entries: 64, ways: 4 } }],
  ['a hierarchy', { cpu: 'skylake' }],
];

describe.each(BACKENDS)('replay from a snapshot (%s)', (backend) => {
  it("a preset's TLB without options.tlb is the preset's (its second level not cut to the single TLB's 64 entries)", async () => {
    const a = records(1, 6000);
    const bare = await replay([a], { backend, cpu: 'skylake' });
    const given = await replay([a], { backend, cpu: 'skylake', tlb: {} });
    expect(counts(bare)).toEqual(counts(given));
    expect(bare.tlb.levels.find((l) => l.name === 'stlb')).toMatchObject({ entries: 1536, evictions: 0 });
  });

  it.each(CONFIGS)('A saved, then B from it, counts what A then B counts beyond A (%s)', async (_name, config) => {
    const dir = tempDir('replay-snap');
    const a = records(1, 6000);
    const b = records(2, 6000);
    const base = { ...config, backend, memory: '256MiB' };
    const whole = await replay([a, b], base);
    const first = await replay([a], { ...base, save: join(dir, 'warm.vmsnap') });
    const second = await replay([b], { ...config, backend, from: join(dir, 'warm.vmsnap') });
    expect(first).toEqual({ ...(await replay([a], base)), timeMs: first.timeMs, nsPerAccess: first.nsPerAccess });
    const w = counts(whole);
    const f = counts(first);
    const s = counts(second);
    expect(Object.fromEntries(Object.keys(w).map((k) => [k, f[k]! + s[k]!]))).toEqual(w);
    expect(second.pagesTouched).toBe(whole.pagesTouched);
    expect(second.from).toEqual({ snapshot: join(dir, 'warm.vmsnap'), tlbs: 'kept' });
    // Only the file: the temporary copy was renamed into place.
    expect(readdirSync(dir)).toEqual(['warm.vmsnap']);
  });

  it.each(CONFIGS)('--warmup N --save saves at the warm-up\'s end; the same trace --from it --skip N counts what the warmed replay counts (%s)', async (_name, config) => {
    const dir = tempDir('replay-snap');
    const path = join(dir, 'warm.vmsnap');
    const t = records(5, 9000);
    const base = { ...config, backend, memory: '256MiB' };
    // Accesses (the records hold instruction fetches: N counts those).
    const warmed = await replay([t], { ...base, warmup: 1000, save: path });
    const after = await replay([t], { ...config, backend, from: path, skip: 1000 });
    expect(warmed.window).toMatchObject({ unit: 'instructions', warmup: 1000 });
    expect(after.window).toMatchObject({ unit: 'instructions', warmup: 0, skipped: 1000, simulate: warmed.window!.simulate });
    const w = counts(warmed);
    const a = counts(after);
    // framesUsed is the whole run's in a warmed replay and the continuation's from a snapshot.
    delete w.framesUsed;
    delete a.framesUsed;
    expect(a).toEqual(w);
    expect(after.pagesTouched).toBe(warmed.pagesTouched);
    // Without --warmup the file is the machine at the end (as before), and skip alone drops records.
    const dropped = await replay([t], { ...base, skip: 1000 });
    expect(dropped.window).toMatchObject({ skipped: 1000, warmup: 0 });
    expect(dropped.accesses).toBe(warmed.accesses);
  });

  it('a TLB of another geometry starts empty and says so; the page tables and memory go on the same', async () => {
    const dir = tempDir('replay-snap');
    const path = join(dir, 'warm.vmsnap');
    const a = records(3, 4000);
    const b = records(4, 4000);
    await replay([a], { backend, memory: '64MiB', save: path });
    const kept = await replay([b], { backend, from: path });
    const other = await replay([b], { backend, from: path, tlb: { entries: 128, ways: 8 } });
    const hier = await replay([b], { backend, from: path, cpu: 'zen4' });
    expect(kept.from!.tlbs).toBe('kept');
    expect(other.from!.tlbs).toBe('emptied');
    expect(hier.from!.tlbs).toBe('emptied');
    expect(other.tlb.levels[0]).toMatchObject({ entries: 128, ways: 8 });
    for (const r of [other, hier]) {
      expect(r.faults).toEqual(kept.faults);
      expect([r.accesses, r.pagesTouched, r.framesUsed]).toEqual([kept.accesses, kept.pagesTouched, kept.framesUsed]);
    }
    // A's last access again: the kept TLB hits, an emptied one misses.
    const last = { words: a.words.slice(2 * (a.count - 1), 2 * a.count), count: 1 };
    const again = await replay([last], { backend, from: path });
    const againOther = await replay([last], { backend, from: path, tlb: { entries: 128, ways: 8 } });
    expect([again.tlb.hits, again.tlb.misses]).toEqual([1, 0]);
    expect([againOther.tlb.hits, againOther.tlb.misses]).toEqual([0, 1]);
    // The latencies are not the geometry: a hierarchy saved with one walk latency keeps its entries under another.
    const hpath = join(dir, 'hier.vmsnap');
    await replay([a], { backend, memory: '64MiB', cpu: 'skylake', save: hpath });
    const slow = await replay([b], { backend, from: hpath, cpu: 'skylake', tlb: { walkReference: 40 } });
    const same = await replay([b], { backend, from: hpath, cpu: 'skylake' });
    expect(slow.from!.tlbs).toBe('kept');
    expect(counts(slow)).toEqual(counts(same));
  });

  it('a file replaced between two replays from it is read again (a sweep\'s rows share one load of an unchanged file)', async () => {
    const dir = tempDir('replay-snap');
    const path = join(dir, 'warm.vmsnap');
    const a = records(6, 3000);
    const b = records(7, 3000);
    await replay([a], { backend, memory: '64MiB', save: path });
    const first = await replay([b], { backend, from: path });
    expect(counts(await replay([b], { backend, from: path }))).toEqual(counts(first));
    // Another warm-up in its place: the continuation is that one's.
    await replay([b], { backend, memory: '64MiB', save: path });
    const again = await replay([b], { backend, from: path });
    expect(again.faults.total).toBe(0);
    expect(first.faults.total).toBeGreaterThan(0);
  });

  it('an in-memory Snapshot of a machine with one process continues as that machine does', async () => {
    using m = new Machine({ backend, memory: '64MiB' });
    const p = m.createAddressSpace();
    const addr = p.mmap({ length: 64 * 4096, prot: 'rw' });
    for (let i = 0; i < 64; i += 2) p.write(addr + i * 4096, [i]);
    using snap = m.snapshot();
    const words = new Uint32Array(128);
    for (let i = 0; i < 64; i++) packRecord(words, i, addr + i * 4096, 0, 1);
    const r = await replay([{ words, count: 64 }], { backend, from: snap, tlb: { entries: 64, ways: 4 } });
    expect(r.from).toEqual({ snapshot: '<snapshot>', tlbs: 'kept' });
    // The written pages were present (no fault); the others read the zero page (a minor fault each).
    expect(r.faults.minor).toBe(32);
    expect(r.accesses).toBe(64);
    // The snapshot is unchanged: another restore sees the machine as it was.
    using again = snap.restore();
    expect(again.processes()[0]!.stats().faults.minor).toBe(p.stats().faults.minor);
  });

  it('refuses what cannot go with a snapshot, and a snapshot it cannot continue, changing nothing', async () => {
    const dir = tempDir('replay-snap');
    const path = join(dir, 'warm.vmsnap');
    const a = records(5, 500);
    await replay([a], { backend, memory: '64MiB', save: path });
    for (const k of ['memory', 'frames', 'setup'] as const) {
      const extra = { memory: '64MiB', frames: 8, setup: () => undefined }[k];
      await expect(replay([a], { backend, from: path, [k]: extra })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining(`options.${k} cannot go with options.from`) });
    }
    await expect(replay([a], { from: {} as never })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringMatching(/options\.from must be a snapshot file's path or a Snapshot/) });
    await expect(replay([a], { from: '' })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringMatching(/options\.from must be/) });
    await expect(replay([a], { save: 7 as never })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringMatching(/options\.save must be a file path/) });
    await expect(replay([a], { backend, from: join(dir, 'none.vmsnap') })).rejects.toBeInstanceOf(SnapshotError);
    await expect(annotate(join(dir, 'none.trace'), { from: path } as never)).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringMatching(/options\.from is replay\(\)'s/) });
    await expect(replay([[a], [a]], { from: path })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringMatching(/options\.from is for one trace/) });
    // A machine of two processes is not a replay's.
    using m = new Machine({ backend, memory: '8MiB' });
    m.createAddressSpace();
    m.createAddressSpace();
    m.save(join(dir, 'two.vmsnap'));
    await expect(replay([a], { backend, from: join(dir, 'two.vmsnap') })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringMatching(/has 2 processes/) });
    // A save into a directory that does not exist fails and leaves nothing.
    await expect(replay([a], { backend, memory: '64MiB', save: join(dir, 'no', 'x.vmsnap') })).rejects.toBeInstanceOf(SnapshotError);
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });
});
