/**
 * File mappings checked against this machine's kernel: test/vmm/linux/files.c runs each
 * experiment on Linux (in a directory of the test's temporary directory) and prints what
 * happened; vmsim runs the same calls and must print the same. The Linux rule each follows:
 * - fault-around (do_fault_around, filemap_map_pages): a read fault maps the cached pages of the
 *   fault_around_bytes window (16 pages), aligned on the page-table index of the address, so
 *   with the mapping at a 2 MiB boundary touches of pages 0 1 15 16 31 40 63 5 33 47 48 of a
 *   cached file cost 1 0 0 1 0 1 1 0 0 0 0 faults — MAP_SHARED, MAP_PRIVATE and tmpfs alike;
 *   the window is clamped to the mapping (its start, its end) and stops at the end of the file;
 *   a fresh tmpfs page has nothing to map around: one fault each;
 * - MAP_PRIVATE copy on write: a write to a page a read mapped is one more fault, later writes
 *   none; a write to a page no read mapped is one fault (do_cow_fault), and a read next to it
 *   maps the rest around it (the copied page's entry is not empty: not replaced); the file keeps
 *   its bytes, later file changes show in pages not copied, not in copied ones;
 * - a cold file: the first fault reads around it (do_sync_mmap_readahead: ra_pages centred on the
 *   page, here the whole file), drops the mmap lock for the I/O and is retried (VM_FAULT_RETRY),
 *   so it counts as major and its retry maps the window around it: the next page costs nothing;
 * - read(2) readahead (page_cache_sync_ra, page_cache_async_ra): the initial window of a
 *   one-page read at offset 0 is 4 pages with the marker on page 1; each marker hit moves the
 *   window on and grows it (x4, then x2), in folios two orders larger each time, the window's
 *   end rounded down to that order; small reads far apart read only their page;
 * - SIGBUS (BUS_ADRERR) for a page wholly past the end of the file; the tail of the last page
 *   reads zeros; truncation makes the pages past the new end SIGBUS;
 * - MADV_REMOVE (vfs_fallocate PUNCH_HOLE): the pages leave the page cache and every mapping, a
 *   private mapping's copies stay, the size stays; EACCES for a private mapping or a file open
 *   read-only (vma_is_shared_maywrite), EINVAL when locked; MADV_PAGEOUT drops the clean pages only
 *   this process maps once (a page mapped twice is a shared folio: skipped), and the next access
 *   is one fault;
 * - msync's errors (mm/msync.c) and mmap's (EINVAL for an unaligned offset, EACCES for a shared
 *   writable mapping of a read-only file); an unlinked file stays readable through its mapping.
 * vmsim gets the kernel's read_ahead_kb (this VM's disk has 8192, not the usual 128).
 */
import { describe, expect, it } from 'vitest';
import { BusError, Machine, VmmError, type AddressSpace, type File } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { runLinuxProbe } from '../support/linux-probe.js';

const PG = 4096;
const BASE = 0x4000_0000; // 2 MiB-aligned, as the probe's MAP_FIXED_NOREPLACE places them

interface Probe {
  readAheadKb: number;
  faultAroundShared: number[];
  faultAroundPrivate: number[];
  faultAroundShmem: number[];
  faultAroundClamped: number[];
  faultAroundEof: number[];
  shmemFresh: number[];
  cow: Record<string, number>;
  coldBefore: string[];
  coldTouches: number[][];
  coldAfter: string[];
  readSeq: Record<string, string[]>;
  readRandom: string[];
  sigbus: Record<string, number>;
  msync: Record<string, number>;
  mmap: Record<string, number>;
  remove: { ok: number; cached: string[]; shared: number[]; private: number[]; size: number; privateMapping: number; readOnlyFile: number; locked: number };
  pageout: { ok: number; cached: string[]; refault: number };
}

const linux = runLinuxProbe<Probe>('files', { workDir: true });
const SEQ = [0, 1, 15, 16, 31, 40, 63, 5, 33, 47, 48];

/** Page i holds byte (i % 251) + 1, as the probe's files. */
function content(pages: number): Uint8Array {
  const d = new Uint8Array(pages * PG);
  for (let i = 0; i < pages; i++) d.fill((i % 251) + 1, i * PG, (i + 1) * PG);
  return d;
}

/** A file written with write(2) and fsynced (cached, clean), as make_file does. */
function written(m: Machine, path: string, pages: number): File {
  const f = m.fs.create(path);
  f.write(0, content(pages));
  f.fsync();
  return f;
}

const faultCount = (s: AddressSpace): number => s.stats().faults.minor + s.stats().faults.major;

function touches(s: AddressSpace, base: number, seq: readonly number[]): number[] {
  return seq.map((p) => {
    const before = faultCount(s);
    s.read(base + p * PG, 1);
    return faultCount(s) - before;
  });
}

/** Resident pages as the probe prints them: "a-b" ranges. */
function ranges(v: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < v.length; ) {
    if (!v[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < v.length && v[j + 1]) j++;
    out.push(`${i}-${j}`);
    i = j + 1;
  }
  return out;
}

/** The errno number of a VmmError `f` throws (0 when it returns). */
function errno(f: () => unknown): number {
  try {
    f();
    return 0;
  } catch (e) {
    if (e instanceof VmmError) return { EINVAL: 22, ENOMEM: 12, EBUSY: 16, EACCES: 13 }[e.code as string] ?? -1;
    throw e;
  }
}

describe.skipIf(!linux)("file mappings: vmsim does what this machine's kernel does", () => {
  const p = linux!;
  for (const backend of BACKENDS) {
    describe(backend, () => {
      const machine = () => new Machine({ memory: '128MiB', backend, vm: { readAheadKb: p.readAheadKb } });

      it('fault-around counts on a cached file (MAP_SHARED, MAP_PRIVATE) and on tmpfs', () => {
        const m = machine();
        const s = m.createAddressSpace();
        const f = written(m, '/dir/f0', 64);
        const a = s.mmap({ addr: BASE, noReplace: true, length: 64 * PG, prot: 'r', shared: true, file: f });
        expect(touches(s, a, SEQ)).toEqual(p.faultAroundShared);
        s.munmap(a, 64 * PG);
        // The window clamped to the mapping: from file page 8, 5 pages past a 2 MiB boundary.
        const o = s.mmap({ addr: BASE + 5 * PG, noReplace: true, length: 40 * PG, prot: 'r', shared: true, file: f, offset: 8 * PG });
        expect(touches(s, o, [0, 10, 11, 26, 27, 39, 1])).toEqual(p.faultAroundClamped);
        s.munmap(o, 40 * PG);
        // ... and to the end of the file.
        const ten = written(m, '/dir/ten', 10);
        const e = s.mmap({ addr: BASE, noReplace: true, length: 32 * PG, prot: 'r', shared: true, file: ten });
        expect(touches(s, e, [0, 9, 3])).toEqual(p.faultAroundEof);
        s.munmap(e, 32 * PG);
        const b = s.mmap({ addr: BASE, noReplace: true, length: 64 * PG, prot: 'rw', file: f });
        expect(touches(s, b, SEQ)).toEqual(p.faultAroundPrivate);
        const shm = m.fs.create('/dev/shm/probe');
        shm.write(0, content(64));
        const c = s.mmap({ addr: BASE + 2 ** 21, noReplace: true, length: 64 * PG, prot: 'r', shared: true, file: shm });
        expect(touches(s, c, SEQ)).toEqual(p.faultAroundShmem);
        s.munmap(c, 64 * PG);
        shm.truncate(128 * PG);
        const d = s.mmap({ addr: BASE + 2 ** 21, noReplace: true, length: 64 * PG, prot: 'r', shared: true, file: shm, offset: 64 * PG });
        expect(touches(s, d, [0, 1, 2, 16])).toEqual(p.shmemFresh);
        m.dispose();
      });

      it('MAP_PRIVATE copy on write of file pages', () => {
        const m = machine();
        const s = m.createAddressSpace();
        const f = written(m, '/dir/f0', 64);
        const a = s.mmap({ addr: BASE, noReplace: true, length: 64 * PG, prot: 'rw', file: f });
        touches(s, a, SEQ);
        const w = (va: number, v: number): number => {
          const before = faultCount(s);
          s.write(va, [v]);
          return faultCount(s) - before;
        };
        const firstWrite = w(a + 3 * PG + 7, 0xee);
        const secondWrite = w(a + 3 * PG + 8, 0xef);
        const fresh = s.mmap({ addr: BASE + 2 ** 21, noReplace: true, length: 64 * PG, prot: 'rw', file: f });
        const writeFresh = w(fresh + 10 * PG, 0xaa);
        const readAfter = touches(s, fresh, [11])[0];
        const readBefore = touches(s, fresh, [9])[0];
        s.munmap(fresh, 64 * PG);
        const fileByte = f.read(3 * PG + 7, 1)[0];
        f.write(4 * PG, new Uint8Array([0x77]));
        f.write(3 * PG + 100, new Uint8Array([0x77]));
        const got = { firstWrite, secondWrite, writeFresh, readAfter, readBefore, fileByte, copied: s.read(a + 3 * PG + 7, 1)[0], uncopied: s.read(a + 4 * PG, 1)[0], copiedOther: s.read(a + 3 * PG + 100, 1)[0] };
        expect(got).toEqual(p.cow);
        m.dispose();
      });

      it('a cold file: read-around at the first fault, retried as major, mapping around it', () => {
        const m = machine();
        const s = m.createAddressSpace();
        const f = m.fs.create('/dir/cold', { data: content(1024) });
        const c = s.mmap({ addr: BASE, noReplace: true, length: 1024 * PG, prot: 'r', shared: true, file: f });
        expect(ranges(s.mincore(c, 1024 * PG))).toEqual(p.coldBefore);
        const got = [0, 1, 100, 101, 600, 700].map((t) => {
          const before = { ...s.stats().faults };
          s.read(c + t * PG, 1);
          const after = s.stats().faults;
          return [after.minor + after.major - before.minor - before.major, after.major - before.major];
        });
        expect(got).toEqual(p.coldTouches);
        expect(ranges(s.mincore(c, 1024 * PG))).toEqual(p.coldAfter);
        m.dispose();
      });

      it('read(2) readahead: initial window, growth at each marker, small random reads', () => {
        const m = machine();
        const s = m.createAddressSpace();
        const f = m.fs.create('/dir/seq', { data: content(4096) });
        const c = s.mmap({ length: 4096 * PG, prot: 'r', shared: true, file: f });
        const seen: Record<string, string[]> = {};
        for (let i = 0; i < 300; i++) {
          f.read(i * PG, PG);
          if (p.readSeq[String(i)]) seen[String(i)] = ranges(s.mincore(c, 4096 * PG));
        }
        expect(seen).toEqual(p.readSeq);
        const g = m.fs.create('/dir/random', { data: content(4096) });
        const r = s.mmap({ length: 4096 * PG, prot: 'r', shared: true, file: g });
        g.read(3000 * PG, PG);
        g.read(1000 * PG, PG);
        expect(ranges(s.mincore(r, 4096 * PG))).toEqual(p.readRandom);
        m.dispose();
      });

      it('SIGBUS past the end of the file, zeros in the last page, SIGBUS past a truncation', () => {
        const m = machine();
        const s = m.createAddressSpace();
        const f = m.fs.create('/dir/bus', { data: new Uint8Array(PG + PG / 2).fill(9) });
        const b = s.mmap({ length: 3 * PG, prot: 'r', shared: true, file: f });
        const bus = (va: number): number => {
          try {
            s.read(va, 1);
            return 0;
          } catch (e) {
            if (e instanceof BusError) return e.cause === 'BUS_ADRERR' ? 2 : -1;
            throw e;
          }
        };
        const inside = s.read(b + PG + 10, 1)[0];
        const tailByte = s.read(b + PG + PG / 2 + 10, 1)[0];
        const code = bus(b + 2 * PG);
        f.truncate(PG);
        const code1 = bus(b + PG);
        expect({ inside, tailByte, page2: code ? 1 : 0, code, busAdrerr: 2, afterTruncate: code1 ? 1 : 0, code1 }).toEqual(p.sigbus);
        m.dispose();
      });

      it('MADV_REMOVE punches a hole; MADV_PAGEOUT drops the clean pages mapped once', () => {
        const m = machine();
        const s = m.createAddressSpace();
        const f = written(m, '/dir/remove', 8);
        const ro = m.fs.open('/dir/remove', { readOnly: true });
        const a = s.mmap({ length: 8 * PG, prot: 'rw', shared: true, file: f });
        const b = s.mmap({ length: 8 * PG, prot: 'rw', file: f });
        for (let i = 0; i < 8; i++) s.read(a + i * PG, 1), s.read(b + i * PG, 1);
        s.write(b + 2 * PG, [42]);
        const ok = errno(() => s.madvise(a + 2 * PG, 4 * PG, 'MADV_REMOVE'));
        const cached = ranges(s.mincore(a, 8 * PG));
        const shared = [...Array(8).keys()].map((i) => s.read(a + i * PG, 1)[0]!);
        const priv = [...Array(8).keys()].map((i) => s.read(b + i * PG, 1)[0]!);
        const privateMapping = errno(() => s.madvise(b, PG, 'MADV_REMOVE'));
        const r = s.mmap({ length: PG, prot: 'r', shared: true, file: ro });
        const readOnlyFile = errno(() => s.madvise(r, PG, 'MADV_REMOVE'));
        s.mlock(a, PG);
        const locked = errno(() => s.madvise(a, PG, 'MADV_REMOVE'));
        expect({ ok, cached, shared, private: priv, size: f.size, privateMapping, readOnlyFile, locked }).toEqual(p.remove);

        const g = written(m, '/dir/pageout', 8);
        const c = s.mmap({ length: 8 * PG, prot: 'r', shared: true, file: g });
        const d = s.mmap({ length: PG, prot: 'r', shared: true, file: g, offset: 4 * PG });
        for (let i = 0; i < 8; i++) s.read(c + i * PG, 1);
        s.read(d, 1);
        const pageoutOk = errno(() => s.madvise(c, 6 * PG, 'MADV_PAGEOUT'));
        const after = ranges(s.mincore(c, 8 * PG));
        const before = faultCount(s);
        s.read(c + PG, 1);
        expect({ ok: pageoutOk, cached: after, refault: faultCount(s) - before }).toEqual(p.pageout);
        m.dispose();
      });

      it("msync's and mmap's errors, and an unlinked file's mapping", () => {
        // With swap every process has a resident set, which records mlock.
        const m = new Machine({ memory: '128MiB', backend, swap: { size: '4MiB' } });
        const s = m.createAddressSpace();
        const f = written(m, '/dir/sync', 4);
        const a = s.mmap({ length: 4 * PG, prot: 'rw', shared: true, file: f });
        s.write(a, [1]);
        const ms: Record<string, number> = {};
        ms.ok = errno(() => s.msync(a, 4 * PG, 'MS_SYNC'));
        ms.async = errno(() => s.msync(a, 4 * PG, 'MS_ASYNC'));
        ms.invalidate = errno(() => s.msync(a, 4 * PG, 'MS_INVALIDATE'));
        ms.none = errno(() => s.msync(a, 4 * PG, 0));
        ms.unaligned = errno(() => s.msync(a + 1, PG, 'MS_SYNC'));
        ms.syncAndAsync = errno(() => s.msync(a, PG, ['MS_SYNC', 'MS_ASYNC']));
        ms.badFlag = errno(() => s.msync(a, PG, 8));
        ms.lengthZero = errno(() => s.msync(a, 0, 'MS_SYNC'));
        ms.partial = errno(() => s.msync(a, PG + 1, 'MS_SYNC'));
        s.munmap(a + 2 * PG, PG);
        ms.hole = errno(() => s.msync(a, 4 * PG, 'MS_SYNC'));
        ms.unmapped = errno(() => s.msync(a + 2 * PG, PG, 'MS_SYNC'));
        const anon = s.mmap({ length: PG, prot: 'rw' });
        ms.anonymous = errno(() => s.msync(anon, PG, 'MS_SYNC'));
        s.mlock(a, PG);
        ms.lockedInvalidate = errno(() => s.msync(a, PG, 'MS_INVALIDATE'));
        ms.lockedSync = errno(() => s.msync(a, PG, 'MS_SYNC'));
        expect(ms).toEqual(p.msync);

        const g = written(m, '/dir/two', 2);
        const ro = m.fs.open('/dir/two', { readOnly: true });
        const mm: Record<string, number> = {};
        mm.unalignedOffset = errno(() => s.mmap({ length: PG, prot: 'r', shared: true, file: g, offset: 1 }));
        mm.sharedWriteReadOnly = errno(() => s.mmap({ length: PG, prot: 'rw', shared: true, file: ro }));
        mm.privateWriteReadOnly = errno(() => s.munmap(s.mmap({ length: PG, prot: 'rw', file: ro }), PG));
        let past = 0;
        mm.pastEnd = errno(() => (past = s.mmap({ length: 8 * PG, prot: 'r', shared: true, file: g })));
        m.fs.unlink('/dir/two');
        mm.unlinkedByte = s.read(past + PG + 3, 1)[0]!;
        expect(mm).toEqual(p.mmap);
        m.dispose();
      });
    });
  }
});
