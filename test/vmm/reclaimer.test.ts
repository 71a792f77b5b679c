/** Machine-wide reclaim: Linux's watermarks, kswapd and direct reclaim, and the OOM killer. */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/system/machine.js';
import { linuxWatermarks } from '../../src/vmm/reclaimer.js';
import { VmmError } from '../../src/errors.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';

const PG = 4096;

describe('watermarks', () => {
  it('are computed as __setup_per_zone_wmarks computes them', () => {
    // 1 GiB: min_free_kbytes = int_sqrt(16 * 1048576) = 4096 -> min 1024 pages;
    // low = min + max(1024/4, 262144 * 10 / 10000) = 1024 + 262.
    expect(linuxWatermarks(262144)).toEqual({ min: 1024, low: 1286, high: 1548 });
    // Small machines are clamped to min_free_kbytes 128 (32 pages).
    expect(linuxWatermarks(64).min).toBe(32);
    expect(linuxWatermarks(512).min).toBe(45); // int_sqrt(16 * 2048) = 181 KiB
    // Huge ones to 262144 KiB (65536 pages).
    expect(linuxWatermarks(2 ** 28).min).toBe(32768); // 1 TiB: int_sqrt(16 * 2^30) = 131072 KiB
    expect(linuxWatermarks(2 ** 31).min).toBe(65536); // 8 TiB: clamped at 262144 KiB
  });

  it('can be overridden, and bad values are EINVAL naming the key', () => {
    const m = new Machine({ memory: '8MiB', swap: { size: '1MiB' }, watermarks: { min: 10, low: 20, high: 30 } });
    expect(m.watermarks).toEqual({ min: 10, low: 20, high: 30 });
    m.dispose();
    expect(() => new Machine({ memory: '8MiB', swap: { size: '1MiB' }, watermarks: { min: 30, low: 20 } })).toThrow(/min <= low <= high/);
    expect(() => new Machine({ memory: '8MiB', swap: { size: '1MiB' }, watermarks: { mid: 3 } as never })).toThrow(/options.watermarks: unknown option "mid"/);
    expect(new Machine({ memory: '8MiB', watermarks: { min: 1 } }).watermarks?.min).toBe(1); // without swap they govern page cache reclaim
  });
});

describe.each(BACKENDS)('reclaim under machine memory pressure (%s)', (backend) => {
  it('kswapd keeps free memory above the watermarks and every byte survives', () => {
    const m = new Machine({ memory: '8MiB', backend, swap: { size: '16MiB' } });
    const w = m.watermarks!;
    const s = m.createAddressSpace();
    const n = 2500; // more pages than the machine has
    const b = s.mmap({ length: n * PG, prot: 'rw' });
    let lowest = Infinity;
    for (let i = 0; i < n; i++) {
      s.write(b + i * PG + 8, [i & 0xff, i >> 8]);
      lowest = Math.min(lowest, m.stats().frames.free);
    }
    expect(lowest).toBeGreaterThanOrEqual(w.min);
    for (let i = 0; i < n; i++) expect([...s.read(b + i * PG + 8, 2)]).toEqual([i & 0xff, i >> 8]);
    auditMachine(m);
    const c = m.reclaimStats().counters;
    expect(c.pgsteal_kswapd).toBeGreaterThan(0);
    expect(c.pgscan_kswapd).toBeGreaterThanOrEqual(c.pgsteal_kswapd);
    expect(c.pswpout).toBeGreaterThan(0);
    expect(c.pgmajfault).toBeGreaterThan(0);
    s.destroy();
    expect(m.reclaimStats().swap!.used).toBe(0);
    m.dispose();
  });

  it('the OOM killer kills the process with the most pages, and the others go on', () => {
    const events: object[] = [];
    const m = new Machine({ memory: '8MiB', backend, swap: { size: 33 * PG }, onOomKill: (e) => events.push(e.space) });
    const big = m.createAddressSpace();
    const a = big.mmap({ length: 1400 * PG, prot: 'rw' });
    big.mlock(a, 1400 * PG); // resident and unevictable
    const small = m.createAddressSpace();
    const b = small.mmap({ length: 600 * PG, prot: 'rw' });
    for (let i = 0; i < 600; i++) small.write(b + i * PG, [i & 0xff]);
    for (let i = 0; i < 600; i++) expect(small.read(b + i * PG, 1)[0]).toBe(i & 0xff);
    const kills = m.oomKills();
    expect(kills).toHaveLength(1);
    expect(kills[0]!.space).toBe(big);
    expect(kills[0]!.rss).toBeGreaterThanOrEqual(1400);
    expect(kills[0]!.constraint).toBe('global');
    expect(kills[0]!.points).toBe(kills[0]!.rss + kills[0]!.swap + kills[0]!.pgtables);
    expect(kills[0]!.pgtables).toBeGreaterThanOrEqual(2 + Math.ceil(1400 / 512)); // a PDPT, a PD and the PTs of 1400 pages at least
    expect(events).toEqual([big]);
    expect(big.destroyed).toBe(true);
    expect(m.reclaimStats().counters.oom_kill).toBe(1);
    auditMachine(m);
    m.dispose();
  });

  it('a process that is itself the largest is killed at its fault: an ENOMEM naming the OOM killer, nothing leaks', () => {
    const m = new Machine({ memory: '8MiB', backend, swap: { size: 17 * PG } });
    const used0 = m.stats().frames.used;
    const s = m.createAddressSpace();
    // More than RAM + swap: the heuristic would refuse it at mmap, so it is MAP_NORESERVE (as on Linux).
    const b = s.mmap({ length: 4000 * PG, prot: 'rw', noReserve: true });
    let err: unknown;
    try {
      for (let i = 0; i < 4000; i++) s.write(b + i * PG, [1]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VmmError);
    expect((err as VmmError).code).toBe('ENOMEM');
    expect((err as VmmError).message).toMatch(/killed by the OOM killer/);
    expect(s.destroyed).toBe(true);
    expect(m.stats().frames.used).toBe(used0);
    expect(m.reclaimStats().swap!.used).toBe(0);
    m.dispose();
  });
});
