/**
 * The multi-generation LRU for page cache pages (vm.lruGen), rule by rule as Linux 6.18's
 * lru_gen does it (mm/vmscan.c, include/linux/mm_inline.h):
 * - lru_gen_folio_seq: a new page enters three generations below max_seq (never below min_seq);
 *   one activated, the second youngest; lru_gen_is_active: the two youngest are Active(file);
 * - lru_gen_inc_refs: read(2) counts uses (PG_referenced, then LRU_REFS up to 3, then
 *   PG_workingset) instead of activating;
 * - should_run_aging with MIN_NR_GENS generations left: inc_max_seq, and mapped pages found
 *   young move to the new youngest generation;
 * - eviction from the oldest generation: sort_folio protects a page used to the full with
 *   PG_workingset (folio_inc_gen), moves a dirty one on with PG_reclaim (the flusher writes it,
 *   then it rotates to the oldest generation's tail); folio_check_references: young once keeps
 *   (PG_referenced), young again activates;
 * - lru_gen_eviction / lru_gen_test_recent: a refault within MAX_NR_GENS generations of max_seq
 *   comes back active (workingset_activate_file).
 * The processes' and shared memory's default policy is 'mglru' on such a machine.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';
import type { FileLruGen } from '../../src/vmm/reclaim/file-lru-gen.js';

const PG = 4096;

describe.each(BACKENDS)('the multi-generation LRU for file pages (%s)', (backend) => {
  const machine = () => new Machine({ memory: '32MiB', backend, vm: { lruGen: true, readAheadKb: 0 } });
  const gens = (m: Machine) => m.vmm.pageCache.lru as FileLruGen;

  it('new pages enter the oldest generation; read(2) counts uses; aging moves young mapped pages to a new youngest generation', () => {
    const m = machine();
    const lru = gens(m);
    expect(lru.seqs).toEqual({ min: 0, max: 1 });
    const f = m.fs.create('/f', { data: new Uint8Array(8 * PG).fill(1) });
    f.read(0, 8 * PG);
    const p0 = m.vmm.pageCache.lru.gen && f.size > 0 ? [...(m.vmm.object((f as unknown as { inode: { id: number } }).inode.id)!.pages.values())] : [];
    expect(p0.map((p) => p.seq)).toEqual(Array(8).fill(0));
    // Two generations: both are the youngest two, so Active(file).
    expect([m.meminfo()['Active(file)'], m.meminfo()['Inactive(file)']]).toEqual([32, 0]);
    // Page 1 used five times (read(2) marks a page once per run of reads within it: alternate with page 7):
    // PG_referenced, LRU_REFS 1..3, then PG_workingset.
    for (let k = 0; k < 5; k++) f.read(PG, 1), f.read(7 * PG, 1);
    expect([p0[1]!.refs, p0[1]!.has(16)]).toEqual([3, true]);
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 8 * PG, prot: 'r', file: f });
    s.read(a + 2 * PG, 1); // page 2 mapped and young (fault-around maps the others, young too)
    s.pages.scanAccessed(a, 8, true);
    s.pages.invalidate(a, 8); // the TLB holds the entries with Accessed set: only a walk sets it again
    s.read(a + 2 * PG, 1);
    expect(m.fileReclaim.evict(1, undefined, 'kswapd')).toBe(1); // aging first (two generations left), then the oldest's tail goes
    expect(lru.seqs).toEqual({ min: 0, max: 2 });
    expect(p0[2]!.seq).toBe(2);
    auditMachine(m);
    f.close();
    m.dispose();
  });

  it('sort_folio protects a page used to the full and moves a dirty page on with PG_reclaim; a recent refault comes back active', () => {
    const m = machine();
    const lru = gens(m);
    const f = m.fs.create('/f', { data: new Uint8Array(6 * PG).fill(2) });
    f.read(0, 6 * PG);
    for (let k = 0; k < 5; k++) f.read(0, 1), f.read(5 * PG, 1); // pages 0 and 5: used to the full, PG_workingset
    f.write(PG, new Uint8Array([9])); // page 1 dirty
    const ino = m.vmm.object((f as unknown as { inode: { id: number } }).inode.id)!;
    const page = (i: number) => ino.pages.get(i);
    const before = m.vmstat();
    // From the oldest generation's tail (page 0, the first read): 0 protected, 1 moved on dirty, 2, 3, 4 dropped; 5 not reached.
    expect(m.fileReclaim.evict(3, undefined, 'kswapd')).toBe(3);
    expect([...ino.pages.keys()].sort()).toEqual([0, 1, 5]);
    expect(page(1)!.has(32)).toBe(true); // PG_reclaim: the flusher writes it, then it rotates to the oldest tail
    expect([page(0)!.seq > lru.seqs.min, page(5)!.seq === lru.seqs.min]).toEqual([true, true]);
    expect(m.vmstat().pgsteal_file - before.pgsteal_file).toBe(3);
    // A refault of page 3 while its generation is recent: active, counted.
    f.read(3 * PG, 1);
    const v = m.vmstat();
    expect([v.workingset_refault_file - before.workingset_refault_file, v.workingset_activate_file - before.workingset_activate_file]).toEqual([1, 1]);
    expect(page(3)!.seq).toBeGreaterThanOrEqual(lru.seqs.max - 1);
    auditMachine(m);
    f.close();
    m.dispose();
  });

  it('processes and shared memory use mglru by default; reclaim under pressure keeps every byte', () => {
    const m = new Machine({ memory: '8MiB', backend, vm: { lruGen: true }, swap: { size: '8MiB', pageCluster: 0 } });
    const s = m.createAddressSpace();
    expect(s.vm.resident!.policy.name).toBe('mglru');
    expect(m.vmm.shmPager!.policy.name).toBe('mglru');
    const f = m.fs.create('/data', { data: new Uint8Array(800 * PG).fill(5) });
    const fa = s.mmap({ length: 800 * PG, prot: 'r', file: f });
    for (let i = 0; i < 800; i += 3) expect(s.read(fa + i * PG, 1)[0]).toBe(5);
    const a = s.mmap({ length: 1500 * PG, prot: 'rw' });
    for (let i = 0; i < 1500; i++) s.write(a + i * PG, [i & 0xff]);
    for (let i = 0; i < 1500; i += 7) expect(s.read(a + i * PG, 1)[0]).toBe(i & 0xff);
    for (let i = 0; i < 800; i += 5) expect(s.read(fa + i * PG, 1)[0]).toBe(5);
    expect(m.vmstat().pgsteal_file).toBeGreaterThan(0);
    expect(gens(m).agings).toBeGreaterThan(0);
    auditMachine(m);
    f.close();
    m.dispose();
  });

  it('lruGen must be a boolean', () => {
    expect(() => new Machine({ memory: '4MiB', backend, vm: { lruGen: 1 as unknown as boolean } })).toThrow(/EINVAL.*lruGen must be true or false/);
  });
});
