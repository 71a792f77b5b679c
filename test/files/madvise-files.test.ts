/**
 * The system calls of issue 20 on file mappings (the merge of files with proc):
 * - MADV_REMOVE (madvise_remove → vfs_fallocate PUNCH_HOLE|KEEP_SIZE): every mapping loses the
 *   pages (truncate_pagecache_range: unmap_mapping_range without even_cows, so a private
 *   mapping's copies stay), the range reads zeros, the size stays; EACCES unless the mapping is
 *   shared and may write (vma_is_shared_maywrite), EINVAL when locked;
 * - MADV_WILLNEED (madvise_willneed → force_page_cache_readahead): the pages are in the page cache;
 * - MADV_COLD / MADV_PAGEOUT on page cache pages this process alone maps: deactivated
 *   (folio_deactivate) / reclaimed (clean ones dropped); pages another process maps are skipped;
 * - mremap moves and grows a file mapping: the file's i_mmap follows it (truncation still finds
 *   the moved pages; the file stays alive while only the moved mapping holds it);
 * - mlock on a machine without swap: file reclaim never drops a locked page.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { BusError } from '../../src/errors.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';
import { errnoOf } from '../support/thrown.js';

const PG = 4096;

const code = errnoOf;

describe.each(BACKENDS)('madvise, mremap and mlock on file mappings (%s)', (backend) => {
  it('MADV_REMOVE punches a hole: shared mappings read zeros, private copies stay, the size stays', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const f = m.fs.create('/data', { data: new Uint8Array(8 * PG).fill(7) });
    const a = m.createAddressSpace();
    const b = m.createAddressSpace();
    const sa = a.mmap({ length: 8 * PG, prot: 'rw', file: f, shared: true });
    const pb = b.mmap({ length: 8 * PG, prot: 'rw', file: f });
    for (let i = 0; i < 8; i++) a.read(sa + i * PG, 1), b.read(pb + i * PG, 1);
    b.write(pb + 2 * PG, [42]); // a private copy of page 2
    a.madvise(sa + 2 * PG, 4 * PG, 'MADV_REMOVE');
    expect(f.size).toBe(8 * PG);
    expect([...f.read(2 * PG, 1)]).toEqual([0]);
    for (let i = 2; i < 6; i++) expect(a.read(sa + i * PG, 1)[0]).toBe(0);
    expect(a.read(sa + PG, 1)[0]).toBe(7);
    expect(b.read(pb + 2 * PG, 1)[0]).toBe(42); // the copy stays
    expect(b.read(pb + 3 * PG, 1)[0]).toBe(0); // not copied: it sees the hole
    expect(b.read(pb + 6 * PG, 1)[0]).toBe(7);
    auditMachine(m);
    // Linux's refusals: a private mapping, a shared one through a read-only descriptor, locked memory.
    expect(code(() => b.madvise(pb, PG, 'MADV_REMOVE'))).toBe('EACCES');
    const ro = m.fs.open('/data', { readOnly: true });
    const sro = b.mmap({ length: PG, prot: 'r', file: ro, shared: true });
    expect(code(() => b.madvise(sro, PG, 'MADV_REMOVE'))).toBe('EACCES');
    a.mlock(sa, PG);
    expect(code(() => a.madvise(sa, PG, 'MADV_REMOVE'))).toBe('EINVAL');
    expect(a.read(sa, 1)[0]).toBe(7); // a refused call changed nothing
    auditMachine(m);
    ro.close();
    f.close();
    m.dispose();
  });

  it('MADV_REMOVE of a shared memory object and a shared anonymous mapping', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const s = m.createAddressSpace();
    const anon = s.mmap({ length: 4 * PG, prot: 'rw', shared: true });
    for (let i = 0; i < 4; i++) s.write(anon + i * PG, [i + 1]);
    s.madvise(anon + PG, 2 * PG, 'MADV_REMOVE');
    expect([0, 1, 2, 3].map((i) => s.read(anon + i * PG, 1)[0])).toEqual([1, 0, 0, 4]);
    expect([...s.mincore(anon, 4 * PG)]).toEqual([1, 1, 1, 1]); // read again: zero-filled pages of the object
    auditMachine(m);
    m.dispose();
  });

  it('MADV_WILLNEED reads a file into the page cache; MADV_COLD deactivates and MADV_PAGEOUT drops its clean pages', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const f = m.fs.create('/big', { data: new Uint8Array(16 * PG).fill(1) });
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 16 * PG, prot: 'r', file: f });
    expect([...s.mincore(a, 16 * PG)].every((v) => v === 0)).toBe(true);
    s.madvise(a, 16 * PG, 'MADV_WILLNEED');
    expect([...s.mincore(a, 16 * PG)].every((v) => v === 1)).toBe(true);
    expect(s.stats().faults.major).toBe(0);
    for (let i = 0; i < 16; i++) s.read(a + i * PG, 1);
    expect(s.stats().faults.major).toBe(0); // all cached: minor faults only
    const before = m.vmstat();
    s.madvise(a, 8 * PG, 'MADV_COLD');
    expect(m.vmstat().pgdeactivate - before.pgdeactivate).toBe(8);
    // Another process maps page 0: MADV_PAGEOUT skips it (shared folio).
    const other = m.createAddressSpace();
    const o = other.mmap({ length: PG, prot: 'r', file: f });
    other.read(o, 1);
    s.madvise(a, 4 * PG, 'MADV_PAGEOUT');
    expect(m.vmstat().pgsteal_file - before.pgsteal_file).toBe(3);
    expect([...s.mincore(a, 4 * PG)]).toEqual([1, 0, 0, 0]);
    expect(s.read(a + PG, 1)[0]).toBe(1); // read back from the file
    auditMachine(m);
    f.close();
    m.dispose();
  });

  it('mremap moves and grows a file mapping; the file follows it (truncation reaches the moved pages)', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const f = m.fs.create('/lib', { data: new Uint8Array(8 * PG).fill(3) });
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 4 * PG, prot: 'rw', file: f, shared: true });
    for (let i = 0; i < 4; i++) s.read(a + i * PG, 1);
    f.close();
    m.fs.unlink('/lib'); // only the mapping holds the file now
    const grown = s.mremap(a, 4 * PG, 6 * PG, { mayMove: true });
    auditMachine(m);
    expect(s.read(grown + 5 * PG, 1)[0]).toBe(3);
    const moved = s.mremap(grown, 6 * PG, 6 * PG, { mayMove: true, fixed: true, newAddr: grown + 64 * PG });
    expect(moved).toBe(grown + 64 * PG);
    auditMachine(m);
    s.write(moved + PG, [9]);
    expect(s.read(moved + PG, 1)[0]).toBe(9);
    expect(s.read(moved + 4 * PG, 1)[0]).toBe(3);
    expect(s.maps()).toContain('/lib (deleted)');
    s.munmap(moved, 6 * PG);
    auditMachine(m);
    m.dispose();
  });

  it('truncation after mremap unmaps the moved pages (SIGBUS there)', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const f = m.fs.create('/t', { data: new Uint8Array(4 * PG).fill(5) });
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 4 * PG, prot: 'r', file: f, shared: true });
    for (let i = 0; i < 4; i++) s.read(a + i * PG, 1);
    const moved = s.mremap(a, 4 * PG, 4 * PG, { mayMove: true, fixed: true, newAddr: a + 128 * PG });
    f.truncate(2 * PG);
    expect(s.read(moved + PG, 1)[0]).toBe(5);
    expect(() => s.read(moved + 2 * PG, 1)).toThrow(BusError);
    auditMachine(m);
    f.close();
    m.dispose();
  });

  it('without swap, file reclaim never drops an mlocked page', () => {
    const m = new Machine({ memory: '4MiB', backend });
    const f = m.fs.create('/locked', { data: new Uint8Array(16 * PG).fill(8) });
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 16 * PG, prot: 'r', file: f });
    s.mlock(a, 16 * PG);
    // Memory pressure from a big file read through the page cache.
    const g = m.fs.create('/stream', { size: 6 * 1024 * 1024 });
    for (let off = 0; off < g.size; off += 64 * PG) g.read(off, 64 * PG);
    expect([...s.mincore(a, 16 * PG)].every((v) => v === 1)).toBe(true);
    expect(m.vmstat().pgsteal_file).toBeGreaterThan(0);
    auditMachine(m);
    g.close();
    f.close();
    m.dispose();
  });
});

describe.each(BACKENDS)('process calls of issue 20 with file mappings (%s)', (backend) => {
  it('vfork: the child shares the parent’s file mappings until it execs; exec drops its own; fork copies only the copies', () => {
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '4MiB' } });
    const f = m.fs.create('/bin/sh', { data: new Uint8Array(4 * PG).fill(0x5a) });
    const p = m.createAddressSpace();
    const a = p.mmap({ length: 4 * PG, prot: 'rw', file: f, shared: true });
    const priv = p.mmap({ length: 4 * PG, prot: 'rw', file: f });
    const v = p.vfork();
    v.write(a, [1]); // the parent's memory: MAP_SHARED, so the file's
    v.write(priv, [2]); // a private copy in the parent's tables
    v.exec();
    expect(v.regions().some((r) => r.backing.type === 'file')).toBe(false);
    auditMachine(m);
    expect(p.read(a, 1)[0]).toBe(1);
    expect(p.read(priv, 1)[0]).toBe(2);
    expect([...f.read(0, 1)]).toEqual([1]);
    // fork: the copy goes with the child (vma_needs_copy: an anon_vma), the shared mapping faults in anew.
    const c = p.fork();
    expect(c.read(priv, 1)[0]).toBe(2);
    expect(c.read(priv + PG, 1)[0]).toBe(0x5a);
    c.write(a + PG, [7]);
    expect(p.read(a + PG, 1)[0]).toBe(7);
    auditMachine(m);
    c.destroy();
    v.destroy();
    p.destroy();
    f.close();
    m.fs.unlink('/bin/sh');
    expect(m.meminfo().Cached).toBe(0);
    auditMachine(m);
    m.dispose();
  });
});
