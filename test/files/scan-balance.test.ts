/**
 * The balance between anonymous and file pages in reclaim (src/vmm/reclaim/balance.ts), rule
 * by rule as mm/vmscan.c (Linux 6.18) decides it:
 * - get_scan_count: no free swap slot → SCAN_FILE; priority 0 with swappiness > 0 → SCAN_EQUAL;
 *   file_is_tiny → SCAN_ANON; cache_trim_mode → SCAN_FILE; else SCAN_FRACT, each list scanned
 *   (size >> priority) × fraction / denominator, the fractions from calculate_pressure_balance;
 * - prepare_scan_control: DEACTIVATE_FILE when file refaults were activated since the last
 *   reclaim or inactive_is_low; cache_trim_mode when inactive file >> priority is non-zero and
 *   DEACTIVATE_FILE is not set; file_is_tiny when file + free <= the high watermark, anon not
 *   deactivating and inactive anon >> priority non-zero;
 * - inactive_is_low: inactive × int_sqrt(10 × GiB) < active (ratio 1 under 1 GiB).
 * Then on a machine: swappiness 0 leaves anonymous memory alone while clean file pages can be
 * dropped; swappiness 200 reclaims anonymous pages first; without swap only file pages go.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';
import { getScanCount, inactiveIsLow, prepareScanControl, type LruSizes } from '../../src/vmm/reclaim/balance.js';

const PG = 4096;
const sizes = (ia: number, aa: number, inf: number, af: number): LruSizes => ({ inactiveAnon: ia, activeAnon: aa, inactiveFile: inf, activeFile: af });
const sc = (priority: number, over: Partial<ReturnType<typeof prepareScanControl>> = {}) => ({ priority, mayDeactivate: 0, cacheTrimMode: false, fileIsTiny: false, anonCost: 0, fileCost: 0, ...over });

describe('get_scan_count and prepare_scan_control', () => {
  it('inactive_is_low: ratio 1 below 1 GiB, int_sqrt(10 x GiB) above', () => {
    expect([inactiveIsLow(100, 100), inactiveIsLow(99, 100)]).toEqual([false, true]);
    // 4 GiB of file pages: ratio int_sqrt(40) = 6.
    expect([inactiveIsLow(150_000, 898_576), inactiveIsLow(149_000, 899_576)]).toEqual([false, true]);
  });

  it('no swap room: file only; priority 0 with swappiness: both by size; file tiny: anon only; cache trim: file only', () => {
    const s = sizes(4096, 0, 4096, 4096);
    expect(getScanCount(sc(4), s, 60, false)).toEqual({ nr: [0, 0, 256, 256], balance: 'file' });
    expect(getScanCount(sc(0), s, 60, true)).toEqual({ nr: [4096, 0, 4096, 4096], balance: 'equal' });
    expect(getScanCount(sc(0), s, 0, true).balance).toBe('fract'); // swappiness 0 never scans equally
    expect(getScanCount(sc(4, { fileIsTiny: true }), s, 60, true)).toEqual({ nr: [256, 0, 0, 0], balance: 'anon' });
    expect(getScanCount(sc(4, { cacheTrimMode: true }), s, 60, true)).toEqual({ nr: [0, 0, 256, 256], balance: 'file' });
  });

  it('SCAN_FRACT: calculate_pressure_balance from swappiness and the costs', () => {
    const s = sizes(4096, 0, 4096, 0);
    // No costs: total = 0, anon_cost = file_cost = 0 -> ap = swappiness, fp = 200 - swappiness.
    expect(getScanCount(sc(4), s, 60, true).nr).toEqual([Math.floor((256 * 60) / 200), 0, Math.floor((256 * 140) / 200), 0]);
    expect(getScanCount(sc(4), s, 100, true).nr).toEqual([128, 0, 128, 0]);
    expect(getScanCount(sc(4), s, 0, true).nr).toEqual([0, 0, 256, 0]);
    expect(getScanCount(sc(4), s, 200, true).nr).toEqual([256, 0, 0, 0]);
    // Costs: anon 300, file 100 -> total 400; anon_cost 700, file_cost 500, total 1200;
    // ap = 60 * 1201 / 701 = 102, fp = 140 * 1201 / 501 = 335.
    expect(getScanCount(sc(4, { anonCost: 300, fileCost: 100 }), s, 60, true).nr).toEqual([Math.floor((256 * 102) / 437), 0, Math.floor((256 * 335) / 437), 0]);
  });

  it('prepare_scan_control: cache_trim_mode, DEACTIVATE_FILE after refaults, file_is_tiny', () => {
    const base = { free: 100, highWmark: 500, fileRefaulted: false, anonCost: 0, fileCost: 0 };
    expect(prepareScanControl(12, { ...base, sizes: sizes(0, 0, 4096, 100) })).toMatchObject({ cacheTrimMode: true, mayDeactivate: 0 });
    expect(prepareScanControl(13, { ...base, sizes: sizes(0, 0, 4096, 100) }).cacheTrimMode).toBe(false); // 4096 >> 13 = 0
    expect(prepareScanControl(4, { ...base, fileRefaulted: true, sizes: sizes(0, 0, 4096, 100) })).toMatchObject({ cacheTrimMode: false, mayDeactivate: 2 });
    expect(prepareScanControl(4, { ...base, sizes: sizes(4096, 0, 100, 200) })).toMatchObject({ fileIsTiny: true, mayDeactivate: 2 });
    expect(prepareScanControl(4, { ...base, sizes: sizes(4096, 0, 300, 200) }).fileIsTiny).toBe(false); // 500 + 100 > 500
  });
});

describe.each(BACKENDS)('swappiness on a machine (%s)', (backend) => {
  /** A machine with `anon` dirty anonymous pages and `file` clean cached file pages, then more anonymous memory: what went. */
  function pressure(swappiness: number, swap: boolean) {
    const m = new Machine({ memory: '8MiB', backend, vm: { swappiness }, ...(swap ? { swap: { size: '16MiB', pageCluster: 0 } } : {}) });
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 600 * PG, prot: 'rw' });
    for (let i = 0; i < 600; i++) s.write(a + i * PG, [i & 0xff, 1]);
    const f = m.fs.create('/data', { data: new Uint8Array(600 * PG).fill(7) });
    f.fsync();
    f.read(0, 600 * PG); // cached, clean
    const b = s.mmap({ length: 900 * PG, prot: 'rw' });
    for (let i = 0; i < 900; i++) s.write(b + i * PG, [3]);
    const v = m.vmstat();
    for (let i = 0; i < 600; i += 97) expect([...s.read(a + i * PG, 2)]).toEqual([i & 0xff, 1]);
    expect([...f.read(123 * PG, 2)]).toEqual([7, 7]);
    auditMachine(m);
    f.close();
    m.dispose();
    return v;
  }

  it('swappiness 0: clean file pages go, anonymous pages stay while there are any; 200: anonymous pages go too', () => {
    const low = pressure(0, true);
    expect(low.pgsteal_file).toBeGreaterThan(200);
    expect(low.pgsteal_anon).toBe(0);
    const high = pressure(200, true);
    expect(high.pgsteal_anon).toBeGreaterThan(0);
    expect(high.pgsteal_anon).toBeGreaterThan(low.pgsteal_anon);
    expect(high.pgsteal_file).toBeLessThan(low.pgsteal_file);
  });

  it('without swap only file pages are reclaimed (SCAN_FILE)', () => {
    const v = pressure(60, false);
    expect(v.pgsteal_anon).toBe(0);
    expect(v.pgsteal_file).toBeGreaterThan(200);
  });
});
