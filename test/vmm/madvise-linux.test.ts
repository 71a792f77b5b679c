/**
 * madvise and mlock against the real kernel of this machine: test/vmm/madvise-linux.c runs
 * the same cases with Linux and prints each errno; vmsim (with a resident limit, so locking
 * means something) must give the same outcome for each. Plus what the calls do to pages.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Machine } from '../../src/system/machine.js';
import { VmmError } from '../../src/errors.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';
import { withTempDir } from '../support/temp-dir.js';

const PG = 4096;

function linuxOutcomes(): Map<string, string> | undefined {
  return withTempDir('madv', (dir) => {
    const bin = join(dir, 'madv');
    const cc = spawnSync('cc', ['-O1', '-o', bin, 'test/vmm/madvise-linux.c'], { encoding: 'utf8' });
    if (cc.status !== 0) return undefined;
    const run = spawnSync(bin, { encoding: 'utf8' });
    return new Map(run.stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]));
  });
}

function vmsimOutcomes(backend: 'js' | 'native'): Map<string, string> {
  const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB' } });
  const s = m.createAddressSpace({ residentLimit: 16, policy: 'linux' });
  const b = s.mmap({ length: 8 * PG, prot: 'rw' });
  const sh = s.mmap({ length: 2 * PG, prot: 'rw', shared: true });
  const out = new Map<string, string>();
  const run = (name: string, f: () => void) => {
    try {
      f();
      out.set(name, '0');
    } catch (e) {
      if (!(e instanceof VmmError)) throw e;
      out.set(name, e.code);
    }
  };
  run('unaligned', () => s.madvise(b + 1, PG, 'MADV_DONTNEED'));
  run('bad-advice', () => s.madvise(b, PG, 12345));
  run('zero-length', () => s.madvise(b, 0, 'MADV_DONTNEED'));
  run('wraps', () => s.madvise(b, 2n ** 64n - 4096n, 'MADV_DONTNEED'));
  s.write(b, [7]);
  run('dontneed', () => s.madvise(b, PG, 'MADV_DONTNEED'));
  out.set('after-dontneed', String(s.read(b, 1)[0]));
  s.write(b + PG, [9]);
  run('free', () => s.madvise(b + PG, PG, 'MADV_FREE'));
  s.write(b + PG, [11]);
  out.set('after-free-write', String(s.read(b + PG, 1)[0]));
  run('cold', () => s.madvise(b, 2 * PG, 'MADV_COLD'));
  run('pageout', () => s.madvise(b, 2 * PG, 'MADV_PAGEOUT'));
  run('free-shared', () => s.madvise(sh, PG, 'MADV_FREE'));
  run('dontneed-shared', () => s.madvise(sh, PG, 'MADV_DONTNEED'));
  s.munmap(b + 6 * PG, PG);
  run('hole', () => s.madvise(b + 4 * PG, 4 * PG, 'MADV_DONTNEED'));
  run('mlock-hole', () => s.mlock(b + 4 * PG, 4 * PG));
  run('mlock-unaligned', () => s.mlock(b + 2 * PG + 5, 10));
  run('dontneed-locked', () => s.madvise(b + 2 * PG, PG, 'MADV_DONTNEED'));
  run('free-locked', () => s.madvise(b + 2 * PG, PG, 'MADV_FREE'));
  run('cold-locked', () => s.madvise(b + 2 * PG, PG, 'MADV_COLD'));
  run('pageout-locked', () => s.madvise(b + 2 * PG, PG, 'MADV_PAGEOUT'));
  run('munlock', () => s.munlock(b + 2 * PG, PG));
  run('dontneed-unlocked', () => s.madvise(b + 2 * PG, PG, 'MADV_DONTNEED'));
  run('munlock-hole', () => s.munlock(b + 4 * PG, 4 * PG));
  m.dispose();
  return out;
}

const linux = linuxOutcomes();

describe.each(BACKENDS)('madvise and mlock (%s)', (backend) => {
  it.skipIf(!linux)('give the outcome the real kernel gives, case by case', () => {
    const v = vmsimOutcomes(backend);
    for (const [name, errno] of linux!) expect(`${name} ${v.get(name)}`).toBe(`${name} ${errno}`);
  });

  it('MADV_PAGEOUT writes pages to swap now; they come back by major faults and by readahead as its window adapts', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB' } });
    const s = m.createAddressSpace({ residentLimit: 16 });
    const b = s.mmap({ length: 4 * PG, prot: 'rw' });
    for (let i = 0; i < 4; i++) s.write(b + i * PG, [i + 1]);
    s.madvise(b, 4 * PG, 'pageout');
    expect(s.reclaimStats()).toMatchObject({ VmRSS: 0, VmSwap: 4 });
    for (let i = 0; i < 4; i++) expect(s.read(b + i * PG, 1)[0]).toBe(i + 1);
    // Slots 1-4, read in order; the window is Linux's swapin_nr_pages (prev offset 0 at boot):
    // slot 1 is next to 0, 2 pages [0, 1] = slot 1 only; slot 2 is next to 1, [2, 3] reads 3 ahead;
    // slot 3 hits the swap cache (a readahead hit); slot 4: 1 hit, 4 pages [4, 7], nothing else in use.
    expect(s.stats().faults.major).toBe(3);
    expect(s.reclaimStats().counters).toMatchObject({ swap_ra: 1, swap_ra_hit: 1, swapcache_hit: 1, pswpin: 3 });
    m.dispose();
  });

  it('MADV_FREE pages not written again are dropped without a write and read as zeros', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB' } });
    const s = m.createAddressSpace({ residentLimit: 16 });
    const b = s.mmap({ length: 2 * PG, prot: 'rw' });
    s.write(b, [5]);
    s.write(b + PG, [6]);
    s.madvise(b, 2 * PG, 'MADV_FREE');
    s.write(b + PG, [8]); // written again: kept
    s.madvise(b, 2 * PG, 'MADV_PAGEOUT');
    const c = s.reclaimStats().counters!;
    expect(c.evict_clean).toBe(1);
    expect(c.evict_dirty).toBe(1);
    expect(s.read(b, 1)[0]).toBe(0);
    expect(s.read(b + PG, 1)[0]).toBe(8);
    m.dispose();
  });

  it('locked pages are never evicted; munlock makes them evictable again; locks are not inherited by fork', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB' } });
    // oomScoreAdj -1000: the memory cgroup OOM killer may not kill it (the case below where it does).
    const s = m.createAddressSpace({ residentLimit: 3, policy: 'fifo', oomScoreAdj: -1000 });
    const b = s.mmap({ length: 8 * PG, prot: 'rw' });
    s.mlock(b, 2 * PG); // faults both in (write faults: private writable)
    expect(s.reclaimStats().VmRSS).toBe(2);
    for (let i = 2; i < 8; i++) s.write(b + i * PG, [i]);
    const rs = s.vm.resident!;
    expect([...rs.locked].sort()).toEqual([b / PG, b / PG + 1]);
    expect(s.stats().faults.major).toBe(0);
    // Locking two more would leave no evictable page under the limit of 3: the fault-in fails
    // (the range stays locked, as a failed __mm_populate leaves VM_LOCKED in Linux), and GUP's
    // ENOMEM is EAGAIN to the caller (__mlock_posix_error_return).
    expect(() => s.mlock(b + 2 * PG, 2 * PG)).toThrow(/EAGAIN: mlock: could not fault in .*resident limit/);
    expect(s.destroyed).toBe(false);
    expect(m.oomKills()).toEqual([]);
    const child = s.fork();
    expect(child.vm.resident!.locked.size).toBe(0);
    s.munlock(b, 4 * PG);
    expect(rs.locked.size).toBe(0);
    s.madvise(b, 2 * PG, 'MADV_PAGEOUT');
    expect(s.reclaimStats().VmSwap).toBeGreaterThanOrEqual(2);
    auditMachine(m);
    m.dispose();
  });

  it('a lock that cannot fit under the resident limit is a memory cgroup OOM kill of the process (as mlock beyond memory.max on Linux)', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB' } });
    const s = m.createAddressSpace({ residentLimit: 3, policy: 'fifo' });
    const b = s.mmap({ length: 8 * PG, prot: 'rw' });
    s.mlock(b, 2 * PG);
    for (let i = 2; i < 8; i++) s.write(b + i * PG, [i]);
    expect(() => s.mlock(b + 2 * PG, 2 * PG)).toThrow(/EAGAIN.*resident limit.*killed by the memory cgroup OOM killer/);
    expect(s.destroyed).toBe(true);
    const kills = m.oomKills();
    expect(kills).toHaveLength(1);
    expect(kills[0]!.space).toBe(s);
    expect(kills[0]!.constraint).toBe('memcg');
    expect(m.reclaimStats().counters.oom_kill).toBe(1);
    expect(m.reclaimStats().swap!.used).toBe(0);
    auditMachine(m);
    m.dispose();
  });
});
