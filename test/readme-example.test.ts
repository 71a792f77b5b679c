/** The README's example, run as written (so the README stays true). */
import { expect, it } from 'vitest';
import { tempDir } from './support/temp-dir.js';
import { Machine, SegmentationFault, hex } from '../src/index.js';

it('the README example does what the README says', () => {
  const m = new Machine({ memory: '1GiB', tlb: { entries: 64, ways: 4 } });
  const p = m.createAddressSpace();
  const buf = p.mmap({ length: 8192, prot: 'rw' });
  p.write(buf, [1, 2, 3]);
  const child = p.fork();
  child.write(buf, [9]);
  expect([p.read(buf, 1)[0], child.read(buf, 1)[0]]).toEqual([1, 9]);
  p.mprotect(buf, 4096, 'r');
  let seen = '';
  try {
    p.write(buf, [0]);
  } catch (e) {
    if (e instanceof SegmentationFault) seen = `${e.cause} ${hex(e.address)}`;
  }
  expect(seen).toBe('SEGV_ACCERR 0x00007ffff7ffd000');
  expect(p.maps().split('\n').filter(Boolean)).toHaveLength(3);
  const s = m.createAddressSpace({ faults: 'raw' });
  const pa = m.physical.allocFrame();
  s.mapPage(0x400000, pa, { user: true, writable: true });
  expect(s.translate(0x400123)!.physical).toBe(pa + 0x123);
  expect(s.access(0x400123, 'write')).toBe(pa + 0x123);
  expect(s.load(0x400000, 8)).toBe(0n);
  expect(s.fetch(0x400000, 15)).toHaveLength(15);
  expect(s.walk(0x400123).map((w) => w.level)).toEqual([4, 3, 2, 1]);
  const lazy = m.createAddressSpace({ faults: 'raw', onFault: (f) => { lazy.mapPage(f.address - (f.address % 4096), m.physical.allocFrame(), { user: true, writable: true }); return 'retry'; } });
  lazy.store(0x5000, 1);
  expect(lazy.load(0x5000)).toBe(1);
  const cr3 = m.physical.allocFrame(); // an (empty) table a guest built
  expect(m.adoptAddressSpace(cr3).root).toBe(cr3);
});

it('the README replay example runs as written', async () => {
  const { replay, sweep } = await import('../src/index.js');
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const dir = tempDir('readme');
  const trace = join(dir, 'trace.out');
  writeFileSync(trace, 'I  00400000,4\n L 7ff000100,8\n S 7ff000100,8\nI  00400004,4\n');
  const r = await replay(trace, { tlb: { entries: 64, ways: 4, l1d: { entries: 16 } }, pageSize: '4k' });
  expect([r.accesses, r.tlb.hits, r.tlb.misses, r.faults.minor, r.pagesTouched]).toEqual([4, 2, 2, 3, 2]);
  const rows = await sweep(trace, [16, 64, 256].map((entries) => ({ tlb: { entries, ways: entries } })), { jobs: 1 });
  expect(rows.map((x) => x.result.tlb.misses)).toEqual([2, 2, 2]);
});

it('the README multiprocessor example does what the README says', () => {
  const m = new Machine({ cpus: 4 });
  const p = m.createAddressSpace();
  const a = p.mmap({ length: 64 * 4096, prot: 'rw', populate: true });
  const [t1, t2, t3] = [p.createThread(), p.createThread(), p.createThread()];
  m.cpu(0).run(p); m.cpu(1).run(t1); m.cpu(2).run(t2); m.cpu(3).run(t3);
  t1.write(a + 8 * 4096, [1]);
  p.munmap(a + 8 * 4096, 10 * 4096);
  for (let i = 1; i < 4; i++) expect(m.cpu(i).stats()).toMatchObject({ ipisReceived: 1, tlbShootdowns: 1, flushes: { full: 0, single: 10 } });
  expect(m.cpu(0).stats()).toMatchObject({ ipisSent: 3, flushes: { full: 0, single: 10 } });
  m.cpu(3).idle();
  p.munmap(a + 20 * 4096, 4096);
  expect(m.stats().shootdowns).toMatchObject({ ipisSent: 5, lazySkipped: 1, vmstat: { nr_tlb_remote_flush: 2 } });
  expect(m.cpu(3).stats().ipisReceived).toBe(1);
});
