/** The time series: windows of N accesses whose counts add up to the totals, and records checked across windows as without them. */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { tempDir } from '../support/temp-dir.js';
import { join } from 'node:path';
import { replay } from '../../src/replay/replay.js';
import { encodeHeader } from '../../src/trace/binary-trace.js';
import { BACKENDS } from '../backends.js';
import { chunks, type Rec } from './helpers.js';

const recs: Rec[] = Array.from({ length: 100 }, (_, i) => [(i * 7) % 23, (i * 64) % 4096, i % 4, 8]);

describe.each(BACKENDS)('time series (%s)', (backend) => {
  it('one point per window; the windows cover every access and the same totals as without the series', async () => {
    const plain = await replay(chunks(recs, 30), { backend, cpu: 'skylake' });
    const r = await replay(chunks(recs, 30), { backend, cpu: 'skylake', seriesEvery: 16 });
    expect(r.series!.points.map((p) => p.accesses)).toEqual([16, 32, 48, 64, 80, 96, 100]);
    expect({ ...r.tlb, levels: r.tlb.levels }).toEqual(plain.tlb);
    expect(r.walks).toBe(plain.walks);
    for (const p of r.series!.points) for (const v of [p.l1iMissRate, p.l1dMissRate, p.stlbMissRate, p.missesPerAccess]) expect(v !== undefined && v >= 0 && v <= 2).toBe(true);
  });

  it('with the one default TLB: its miss rate per window, and the windows add up to its misses', async () => {
    const plain = await replay(chunks(recs, 30), { backend, tlb: { entries: 8, ways: 2 } });
    const r = await replay(chunks(recs, 30), { backend, tlb: { entries: 8, ways: 2 }, seriesEvery: 16 });
    expect({ ...r, series: undefined, timeMs: 0, nsPerAccess: 0 }).toEqual({ ...plain, timeMs: 0, nsPerAccess: 0 });
    const pts = r.series!.points;
    expect(pts.map((p) => p.accesses)).toEqual([16, 32, 48, 64, 80, 96, 100]);
    expect(pts.every((p) => p.l1iMissRate === undefined && p.tlbMissRate !== undefined)).toBe(true);
    let prev = 0;
    let misses = 0;
    for (const p of pts) {
      misses += p.missesPerAccess * (p.accesses - prev);
      prev = p.accesses;
    }
    expect(Math.round(misses)).toBe(plain.tlb.misses);
    const c = chunks(recs, 100);
    c[0]!.words[2 * 70 + 1]! |= 1 << 30;
    await expect(replay(c, { backend, seriesEvery: 10 })).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('a record with reserved bits in a later window is refused as without the series (nothing replayed twice)', async () => {
    const c = chunks(recs, 100);
    c[0]!.words[2 * 70 + 1]! |= 1 << 30;
    await expect(replay(c, { backend, cpu: 'zen3', seriesEvery: 10 })).rejects.toMatchObject({ code: 'EINVAL' });
    // A binary file (checked lazily by its reader): the bad record is skipped, the rest replayed once.
    const dir = tempDir('series');
    const file = join(dir, 't.bin');
    const words = chunks(recs, 100)[0]!.words;
    words[2 * 70 + 1]! |= 1 << 30;
    writeFileSync(file, Buffer.concat([Buffer.from(encodeHeader()), Buffer.from(words.buffer)]));
    const a = await replay(file, { backend, cpu: 'zen3' });
    const b = await replay(file, { backend, cpu: 'zen3', seriesEvery: 10 });
    expect(a.trace.skipped).toBe(1);
    expect([b.accesses, b.trace.skipped, b.tlb.misses, b.walks]).toEqual([a.accesses, 1, a.tlb.misses, a.walks]);
    expect(b.accesses).toBe(99);
  });
});
