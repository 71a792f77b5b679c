/**
 * The OOM killer: oom_badness (rss + swap + page-table pages, oom_score_adj) and oom_score as
 * Linux computes them (checked against this machine's kernel by test/vmm/oom-linux.c), victim
 * choice, the memory cgroup OOM kill at a resident limit, and the oomScoreAdj errors.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Machine, OOM_SCORE_ADJ_MAX, OOM_SCORE_ADJ_MIN, VmmError, type OomKill } from '../../src/index.js';
import { oomBadness, oomScore } from '../../src/vmm/oom-killer.js';
import { userTablePages } from '../../src/machine/table-pages.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';
import { withTempDir } from '../support/temp-dir.js';

const PG = 4096;
const GIB = 2 ** 30;

/** Lines "adj rss swap pte total score" from the real kernel, or undefined without a C compiler. */
function linuxScores(): number[][] | undefined {
  return withTempDir('oom', (dir) => {
    const bin = join(dir, 'oom');
    const cc = spawnSync('cc', ['-O1', '-o', bin, 'test/vmm/oom-linux.c'], { encoding: 'utf8' });
    if (cc.status !== 0) return undefined;
    const run = spawnSync(bin, { encoding: 'utf8' });
    if (run.status !== 0) return undefined;
    return run.stdout.trim().split('\n').map((l) => l.split(' ').map(Number));
  });
}

const linux = linuxScores();

/** The ENOMEM an access throws (fails the test if it does not throw one). */
function enomem(f: () => void): VmmError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(VmmError);
    expect((e as VmmError).code).toBe('ENOMEM');
    return e as VmmError;
  }
  throw new Error('expected ENOMEM');
}

describe('oom_badness and oom_score (the formulas)', () => {
  it.skipIf(!linux)("oom_score equals this machine's /proc/self/oom_score for each oom_score_adj the kernel accepted", () => {
    expect(linux!.length).toBeGreaterThan(0);
    for (const [adj, rss, swap, pte, total, score] of linux!) {
      expect(`adj ${adj}: ${oomScore(rss! + swap! + pte!, adj!, total!)}`).toBe(`adj ${adj}: ${score}`);
    }
  });

  it('oom_score_adj counts in units of totalpages / 1000 (integer division first); -1000 is never chosen', () => {
    // 2999 pages: the unit is 2, not 2.999.
    expect(oomBadness(100, 10, 2999)).toBe(120);
    expect(oomBadness(100, -10, 2999)).toBe(80);
    expect(oomBadness(100, 1000, 999)).toBe(100); // below 1000 pages the unit is 0
    expect(oomBadness(100, OOM_SCORE_ADJ_MIN, 5000)).toBeUndefined();
    expect(oomBadness(0, -999, 5000)).toBe(-4995); // still a candidate, with a negative score
  });

  it('oom_score scales into 0..2000 with C division; 0 at -1000', () => {
    expect(oomScore(0, 0, 3000)).toBe(666);
    expect(oomScore(3000, 0, 3000)).toBe(1333);
    expect(oomScore(3000, 1000, 3000)).toBe(2000);
    expect(oomScore(0, -999, 3000)).toBe(0); // (1000 - 999) * 2 / 3 truncated
    expect(oomScore(2999, OOM_SCORE_ADJ_MIN, 3000)).toBe(0);
    expect(OOM_SCORE_ADJ_MAX).toBe(1000);
  });
});

describe.each(BACKENDS)('the OOM killer (%s)', (backend) => {
  it("counts the space's page-table pages as mm_pgtables_bytes does (PUD, PMD and PTE tables, not the root)", () => {
    const m = new Machine({ memory: '64MiB', backend });
    const s = m.createAddressSpace({ stack: false });
    const tables = () => userTablePages(s.vm.ctx.frames, s.rootFrame);
    expect(tables()).toBe(0);
    const base = 64 * GIB; // 1 GiB-aligned, far from anything else
    const at = (va: number) => s.mmap({ addr: va, length: PG, prot: 'rw', fixed: true });
    s.write(at(base), [1]);
    expect(tables()).toBe(3); // PDPT + PD + PT
    s.write(at(base + 2 ** 21), [1]); // another 2 MiB: one more PT
    expect(tables()).toBe(4);
    s.write(at(base + GIB), [1]); // another 1 GiB: PD + PT
    expect(tables()).toBe(6);
    s.write(at(base + 2 ** 39), [1]); // another 512 GiB: PDPT + PD + PT
    expect(tables()).toBe(9);
    // A 2 MiB page is a leaf in the PD: a PD, no PT.
    const huge = s.mmap({ addr: base + 3 * GIB, length: 2 ** 21, prot: 'rw', fixed: true, hugePages: true });
    s.write(huge, [1]);
    expect(s.stats().residentPages).toBe(4 + 512);
    expect(tables()).toBe(10);
    // oom_score of this space: rss + swap + page tables against RAM (no swap).
    expect(s.oomScore()).toBe(oomScore(516 + 10, 0, m.stats().frames.total));
    s.munmap(base + 2 ** 21, PG); // its PT empties and is freed (free_pgtables)
    expect(tables()).toBe(9);
    s.munmap(base, 4 * GIB);
    s.munmap(base + 2 ** 39, PG);
    expect(s.stats().residentPages).toBe(0);
    expect(tables()).toBe(0);
    auditMachine(m);
    m.dispose();
  });

  it('oomScore() follows oomScoreAdj and the fork child inherits oomScoreAdj', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '4MiB' } });
    const total = m.stats().frames.total + m.reclaimStats().swap!.total;
    const s = m.createAddressSpace({ oomScoreAdj: 300 });
    expect(s.oomScoreAdj).toBe(300);
    const b = s.mmap({ length: 10 * PG, prot: 'rw' });
    for (let i = 0; i < 10; i++) s.write(b + i * PG, [i]);
    const points = s.stats().residentPages + userTablePages(s.vm.ctx.frames, s.rootFrame);
    expect(s.oomScore()).toBe(oomScore(points, 300, total));
    const child = s.fork();
    expect(child.oomScoreAdj).toBe(300);
    child.oomScoreAdj = -1000;
    expect(child.oomScore()).toBe(0);
    expect(s.oomScoreAdj).toBe(300); // the parent's own value is its own
    s.oomScoreAdj = 1000;
    expect(s.oomScore()).toBeGreaterThan(1300);
    expect(m.createAddressSpace().oomScoreAdj).toBe(0);
    m.dispose();
  });

  it('oomScoreAdj steers the global victim: -1000 shields the largest process, the next largest is killed', () => {
    const events: OomKill[] = [];
    const m = new Machine({ memory: '8MiB', backend, swap: { size: 33 * PG }, onOomKill: (e) => events.push(e) });
    const total = m.stats().frames.total + m.reclaimStats().swap!.total;
    const big = m.createAddressSpace({ oomScoreAdj: -1000 });
    const a = big.mmap({ length: 800 * PG, prot: 'rw' });
    big.mlock(a, 800 * PG);
    const mid = m.createAddressSpace();
    const c = mid.mmap({ length: 700 * PG, prot: 'rw' });
    mid.mlock(c, 700 * PG);
    const small = m.createAddressSpace();
    const b = small.mmap({ length: 600 * PG, prot: 'rw' });
    const midRss = mid.stats().residentPages;
    const midTables = userTablePages(mid.vm.ctx.frames, mid.rootFrame);
    for (let i = 0; i < 600; i++) small.write(b + i * PG, [i & 0xff]);
    for (let i = 0; i < 600; i++) expect(small.read(b + i * PG, 1)[0]).toBe(i & 0xff);
    expect(big.destroyed).toBe(false);
    expect(mid.destroyed).toBe(true);
    const kills = m.oomKills();
    expect(kills).toEqual([{ space: mid, constraint: 'global', points: midRss + midTables, rss: midRss, swap: 0, pgtables: midTables, oomScoreAdj: 0, totalPages: total }]);
    expect(events).toEqual(kills);
    expect(m.reclaimStats().counters.oom_kill).toBe(1);
    auditMachine(m);
    m.dispose();
  });

  it('oomScoreAdj 1000 makes a small process the victim ahead of a larger one', () => {
    const m = new Machine({ memory: '8MiB', backend, swap: { size: 33 * PG } });
    const big = m.createAddressSpace();
    const a = big.mmap({ length: 1200 * PG, prot: 'rw' });
    big.mlock(a, 1200 * PG);
    const tiny = m.createAddressSpace({ oomScoreAdj: 1000 });
    tiny.write(tiny.mmap({ length: PG, prot: 'rw' }), [1]);
    const grow = m.createAddressSpace({ oomScoreAdj: -1000 });
    const b = grow.mmap({ length: 1200 * PG, prot: 'rw' });
    for (let i = 0; i < 1200; i++) grow.write(b + i * PG, [i & 0xff]);
    const kills = m.oomKills();
    // tiny goes first (its score is about totalpages: 1000 × ⌊totalpages / 1000⌋ more), then big; grow is shielded.
    expect(kills.map((k) => k.space)).toEqual([tiny, big]);
    expect(kills[0]!.points).toBeGreaterThan(kills[1]!.points);
    expect(kills[0]!.points).toBe(kills[0]!.rss + kills[0]!.swap + kills[0]!.pgtables + 1000 * Math.floor(kills[0]!.totalPages / 1000));
    expect(grow.destroyed).toBe(false);
    for (let i = 0; i < 1200; i++) expect(grow.read(b + i * PG, 1)[0]).toBe(i & 0xff);
    auditMachine(m);
    m.dispose();
  });

  it('when every process has oomScoreAdj -1000 nobody is killed: the fault fails with ENOMEM and nothing leaks', () => {
    const m = new Machine({ memory: '8MiB', backend, swap: { size: 17 * PG } });
    const s = m.createAddressSpace({ oomScoreAdj: -1000 });
    const b = s.mmap({ length: 4000 * PG, prot: 'rw', noReserve: true });
    const err = enomem(() => {
      for (let i = 0; i < 4000; i++) s.write(b + i * PG, [1]);
    });
    expect(err.message).toMatch(/out of physical memory/);
    expect(s.destroyed).toBe(false);
    expect(m.oomKills()).toEqual([]);
    expect(m.reclaimStats().counters.oom_kill).toBe(0);
    auditMachine(m);
    s.destroy();
    expect(m.reclaimStats().swap!.used).toBe(0);
    m.dispose();
  });

  it('of equal scores the last process found (the newest, as for_each_process walks) is killed', () => {
    const m = new Machine({ memory: '8MiB', backend, swap: { size: 33 * PG } });
    const twin = () => {
      const s = m.createAddressSpace({ stack: false });
      const a = s.mmap({ addr: 0x40000000, length: 700 * PG, prot: 'rw', fixed: true });
      s.mlock(a, 700 * PG);
      return s;
    };
    const first = twin();
    const second = twin();
    expect(first.oomScore()).toBe(second.oomScore());
    const small = m.createAddressSpace();
    const b = small.mmap({ length: 700 * PG, prot: 'rw' });
    for (let i = 0; i < 700; i++) small.write(b + i * PG, [1]);
    expect(m.oomKills().map((k) => k.space)).toEqual([second]);
    expect(first.destroyed).toBe(false);
    auditMachine(m);
    m.dispose();
  });

  it('a fault at the resident limit with no swap is a memory cgroup OOM kill: ENOMEM naming the limit, reported and counted', () => {
    const events: OomKill[] = [];
    const m = new Machine({ memory: '16MiB', backend, onOomKill: (e) => events.push(e) }); // no swap: onOomKill still applies
    const used0 = m.stats().frames.used;
    const other = m.createAddressSpace();
    const o = other.mmap({ length: PG, prot: 'rw' });
    other.write(o, [7]);
    const s = m.createAddressSpace({ residentLimit: 4 });
    const b = s.mmap({ length: 8 * PG, prot: 'rw' });
    for (let i = 0; i < 4; i++) s.write(b + i * PG, [i]);
    const rss = s.stats().residentPages;
    const tables = userTablePages(s.vm.ctx.frames, s.rootFrame);
    const err = enomem(() => s.write(b + 4 * PG, [4]));
    expect(err.message).toMatch(/resident limit reached \(residentLimit 4 pages/);
    expect(err.message).toMatch(/write fault at 0x/);
    expect(err.message).toMatch(/killed by the memory cgroup OOM killer/);
    expect(s.destroyed).toBe(true);
    expect(m.oomKills()).toEqual([{ space: s, constraint: 'memcg', points: rss + tables, rss, swap: 0, pgtables: tables, oomScoreAdj: 0, totalPages: 4 }]);
    expect(events).toEqual(m.oomKills());
    expect(m.reclaimStats().counters.oom_kill).toBe(1);
    expect(other.read(o, 1)[0]).toBe(7); // the rest of the machine goes on
    other.destroy();
    expect(m.stats().frames.used).toBe(used0);
    auditMachine(m);
    m.dispose();
  });

  it('a fault at the resident limit with swap full is a memory cgroup OOM kill (totalpages = limit + swap)', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: 4 * PG } });
    const slots = m.reclaimStats().swap!.total;
    const s = m.createAddressSpace({ residentLimit: 3, policy: 'fifo', oomScoreAdj: 10 });
    const b = s.mmap({ length: 64 * PG, prot: 'rw' });
    let written = 0;
    const err = enomem(() => {
      for (; written < 64; written++) s.write(b + written * PG, [written + 1]);
    });
    expect(written).toBe(3 + slots); // three resident, the swap device full
    expect(err.message).toMatch(/residentLimit 3 pages.*killed by the memory cgroup OOM killer/);
    const [k] = m.oomKills();
    expect(k).toMatchObject({ space: s, constraint: 'memcg', swap: slots, oomScoreAdj: 10, totalPages: 3 + slots });
    expect(k!.points).toBe(k!.rss + k!.swap + k!.pgtables + 10 * Math.floor((3 + slots) / 1000));
    expect(m.reclaimStats().swap!.used).toBe(0);
    auditMachine(m);
    m.dispose();
  });

  it('with oomScoreAdj -1000 the memory cgroup OOM killer may not kill: the access fails with ENOMEM naming the limit, nothing changes', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const s = m.createAddressSpace({ residentLimit: 2, oomScoreAdj: -1000 });
    const b = s.mmap({ length: 4 * PG, prot: 'rw' });
    s.write(b, [1]);
    s.write(b + PG, [2]);
    const before = s.stats();
    const err = enomem(() => s.write(b + 2 * PG, [3]));
    expect(err.message).toMatch(/resident limit reached \(residentLimit 2 pages/);
    expect(err.message).toMatch(/oomScoreAdj -1000.*nothing was killed/);
    expect(s.destroyed).toBe(false);
    expect(m.oomKills()).toEqual([]);
    expect(s.stats().residentPages).toBe(before.residentPages);
    expect([s.read(b, 1)[0], s.read(b + PG, 1)[0]]).toEqual([1, 2]);
    // Making room lets the same access succeed.
    s.munmap(b, PG);
    s.write(b + 2 * PG, [3]);
    expect(s.read(b + 2 * PG, 1)[0]).toBe(3);
    auditMachine(m);
    m.dispose();
  });

  it('bad oomScoreAdj values are EINVAL naming the argument and change nothing; unknown keys stay refused', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const spaces = m.addressSpaces().length;
    for (const bad of [1001, -1001, 1.5, Number.NaN, Infinity, '5', null, true, 10n, {}]) {
      expect(() => m.createAddressSpace({ oomScoreAdj: bad as never })).toThrow(/EINVAL: options.oomScoreAdj must be a whole number from -1000 to 1000/);
    }
    expect(m.addressSpaces()).toHaveLength(spaces);
    expect(() => m.createAddressSpace({ oomScoreAdjust: 1 } as never)).toThrow(/unknown option "oomScoreAdjust"/);
    expect(() => m.createAddressSpace({ faults: 'raw', oomScoreAdj: 0 } as never)).toThrow(/options.oomScoreAdj needs faults: 'vmm'/);
    const s = m.createAddressSpace({ oomScoreAdj: -5 });
    for (const bad of [1001, -1001, 0.5, '0', undefined]) {
      expect(() => {
        s.oomScoreAdj = bad as never;
      }).toThrow(/EINVAL: oomScoreAdj must be a whole number from -1000 to 1000/);
    }
    expect(s.oomScoreAdj).toBe(-5);
    s.oomScoreAdj = OOM_SCORE_ADJ_MIN;
    s.oomScoreAdj = OOM_SCORE_ADJ_MAX;
    expect(s.oomScoreAdj).toBe(1000);
    s.destroy();
    expect(() => {
      s.oomScoreAdj = 0;
    }).toThrow(/destroyed/);
    expect(() => s.oomScore()).toThrow(/destroyed/);
    // Watermarks apply without swap too (the page cache is reclaimed); onOomKill must be a function.
    expect(new Machine({ memory: '8MiB', backend, watermarks: { min: 1 } }).watermarks).toMatchObject({ min: 1 });
    expect(() => new Machine({ memory: '8MiB', backend, onOomKill: 3 as never })).toThrow(/options.onOomKill must be a function/);
    m.dispose();
  });
});
