/**
 * Files, their shared and private mappings and anonymous memory against a byte model, on both
 * backends: random sequences of pwrite, pread, ftruncate, fsync, close and reopen, unlink and
 * create, mmap (MAP_SHARED or MAP_PRIVATE, at an offset, past the end of the file), writes and
 * reads through the mappings (SIGBUS past the end), msync, MADV_DONTNEED, fork, destroy, time
 * passing (the flusher), file reclaim, MADV_PAGEOUT and MADV_COLD (a private mapping's copies to
 * swap), and memory pressure from a process that fills memory
 * (reclaim of file pages, shared memory and swap of anonymous pages) on a small machine with
 * swap. The rules the model follows are Linux's: a MAP_SHARED mapping sees the file; a
 * MAP_PRIVATE one sees it until it writes a page (its copy), MADV_DONTNEED drops the copies,
 * truncation unmaps even copies past the new end; bytes past the end of the file read as zeros
 * in its last page and SIGBUS past it. The auditor runs after every step (frames, slots, the
 * page cache and the reverse maps), and after everything is destroyed, closed and unlinked no
 * frame, swap slot or cache page is left. Both with the active and inactive lists and with the
 * multi-generation LRU (vm.lruGen).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BusError, Machine, type AddressSpace, type File } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { propertyOptions } from '../property-options.js';
import { auditMachine } from '../support/invariants.js';

const PG = 4096;
const MAXPG = 6;
const SLOTS = 3;
const BASE = 0x40_0000_0000;
const ANON = 0x50_0000_0000;
const PATHS = ['/f0', '/f1', '/dev/shm/s0'];

/** One file as the model sees it: its bytes (zeros past the end), its size. */
interface FileModel {
  bytes: Uint8Array;
  size: number;
}
interface Mapping {
  file: FileModel;
  /** The file index of the file mapped (its handle may have changed). */
  pgoff: number;
  pages: number;
  shared: boolean;
  /** MAP_PRIVATE copies: page in the mapping -> its bytes. */
  copies: Map<number, Uint8Array>;
}
interface Proc {
  s: AddressSpace;
  slots: Array<Mapping | undefined>;
  anon: Map<number, number>;
}

const fileIx = fc.integer({ min: 0, max: PATHS.length - 1 });
const slot = fc.integer({ min: 0, max: SLOTS - 1 });
const page = fc.integer({ min: 0, max: MAXPG - 1 });
const op = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('pwrite' as const), f: fileIx, off: fc.integer({ min: 0, max: MAXPG * PG - 1 }), len: fc.integer({ min: 1, max: 6000 }), v: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('pread' as const), f: fileIx, off: fc.integer({ min: 0, max: MAXPG * PG }), len: fc.integer({ min: 1, max: 9000 }) }) },
  fc.record({ t: fc.constant('truncate' as const), f: fileIx, size: fc.integer({ min: 0, max: MAXPG * PG }) }),
  fc.record({ t: fc.constant('fsync' as const), f: fileIx }),
  fc.record({ t: fc.constant('close' as const), f: fileIx }),
  fc.record({ t: fc.constant('unlink' as const), f: fileIx }),
  { weight: 3, arbitrary: fc.record({ t: fc.constant('mmap' as const), p: fc.nat(), slot, f: fileIx, pgoff: page, n: fc.integer({ min: 1, max: MAXPG }), shared: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('mwrite' as const), p: fc.nat(), slot, page, off: fc.integer({ min: 0, max: PG - 1 }), v: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('mread' as const), p: fc.nat(), slot, page, off: fc.integer({ min: 0, max: PG - 1 }) }) },
  fc.record({ t: fc.constant('munmap' as const), p: fc.nat(), slot }),
  fc.record({ t: fc.constant('msync' as const), p: fc.nat(), slot }),
  fc.record({ t: fc.constant('dontneed' as const), p: fc.nat(), slot }),
  fc.record({ t: fc.constant('pageout' as const), p: fc.nat(), slot, cold: fc.boolean() }),
  fc.record({ t: fc.constant('anon' as const), p: fc.nat(), page, v: fc.integer({ min: 0, max: 255 }), write: fc.boolean() }),
  fc.record({ t: fc.constant('fork' as const), p: fc.nat() }),
  fc.record({ t: fc.constant('destroy' as const), p: fc.nat() }),
  fc.record({ t: fc.constant('sleep' as const), ms: fc.integer({ min: 1, max: 40_000 }) }),
  fc.record({ t: fc.constant('reclaim' as const), n: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ t: fc.constant('pressure' as const), pages: fc.integer({ min: 300, max: 1000 }) }),
);

/** The byte at `pos` of a file, as a mapping or read(2) sees it (zeros past the end). */
const byteAt = (f: FileModel, pos: number): number => (pos < f.size ? f.bytes[pos]! : 0);

describe.each(BACKENDS.flatMap((b) => [[b, false] as const, [b, true] as const]))('files, mappings and anonymous memory against a model (%s, lruGen %s)', (backend, lruGen) => {
  it('every byte equals the model; nothing is left when everything is gone', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 45 }), (ops) => {
        const m = new Machine({ memory: '4MiB', backend, swap: { size: 1024 * PG }, vm: { readAheadKb: 16, lruGen } });
        const framesAtStart = m.stats().frames.used;
        const files: Array<FileModel | undefined> = PATHS.map(() => undefined);
        const handles: Array<File | undefined> = PATHS.map(() => undefined);
        const linked = PATHS.map(() => false);
        /** Every handle ever opened (closed at the end). */
        const opened: File[] = [];
        const open = (i: number): File | undefined => {
          if (handles[i]?.isOpen) return handles[i];
          if (!linked[i]) {
            // A new file at the path (the old one, unlinked, lives on in its mappings).
            const f = m.fs.create(PATHS[i]!);
            files[i] = { bytes: new Uint8Array(MAXPG * PG + 9000), size: 0 };
            linked[i] = true;
            handles[i] = f;
          } else handles[i] = m.fs.open(PATHS[i]!);
          opened.push(handles[i]!);
          return handles[i];
        };
        const procs: Proc[] = [{ s: m.createAddressSpace({ stack: false }), slots: Array(SLOTS).fill(undefined), anon: new Map() }];
        procs[0]!.s.mmap({ addr: ANON, fixed: true, length: MAXPG * PG, prot: 'rw' });
        const at = (s: number, pg: number, off: number) => BASE + s * 0x100_0000 + pg * PG + off;
        for (const o of ops) {
          if (o.t === 'pwrite') {
            const h = open(o.f)!;
            const model = files[o.f]!;
            expect(h.write(o.off, new Uint8Array(o.len).fill(o.v))).toBe(o.len);
            model.bytes.fill(o.v, o.off, o.off + o.len);
            model.size = Math.max(model.size, o.off + o.len);
          } else if (o.t === 'pread') {
            const h = open(o.f)!;
            const model = files[o.f]!;
            const end = Math.min(model.size, o.off + o.len);
            expect(h.read(o.off, o.len)).toEqual(o.off >= end ? new Uint8Array(0) : model.bytes.slice(o.off, end));
          } else if (o.t === 'truncate') {
            const h = open(o.f)!;
            const model = files[o.f]!;
            h.truncate(o.size);
            model.bytes.fill(0, o.size);
            model.size = o.size;
            // Truncation unmaps even private copies of the pages past the new end.
            const endPage = Math.ceil(o.size / PG);
            for (const p of procs) for (const mp of p.slots) if (mp && mp.file === model) for (const k of [...mp.copies.keys()]) if (mp.pgoff + k >= endPage) mp.copies.delete(k);
          } else if (o.t === 'fsync') {
            open(o.f)!.fsync();
          } else if (o.t === 'close') {
            if (handles[o.f]?.isOpen) handles[o.f]!.close();
          } else if (o.t === 'unlink') {
            if (linked[o.f]) m.fs.unlink(PATHS[o.f]!);
            else expect(() => m.fs.unlink(PATHS[o.f]!)).toThrow(/ENOENT/);
            linked[o.f] = false;
            if (handles[o.f]?.isOpen) handles[o.f]!.close();
          } else if (o.t === 'sleep') {
            m.sleep(o.ms);
          } else if (o.t === 'reclaim') {
            m.fileReclaim.evict(o.n, undefined, 'kswapd');
          } else if (o.t === 'pressure') {
            const hog = m.createAddressSpace({ stack: false });
            const a = hog.mmap({ length: o.pages * PG, prot: 'rw' });
            for (let k = 0; k < o.pages; k++) hog.write(a + k * PG, [k & 255]);
            hog.destroy();
          } else {
            if (procs.length === 0) break;
            const pi = o.p % procs.length;
            const p = procs[pi]!;
            if (o.t === 'fork') {
              if (procs.length >= 3) continue;
              procs.push({ s: p.s.fork(), slots: p.slots.map((mp) => mp && { ...mp, copies: new Map([...mp.copies].map(([k, v]) => [k, v.slice()])) }), anon: new Map(p.anon) });
            } else if (o.t === 'destroy') {
              p.s.destroy();
              procs.splice(pi, 1);
            } else if (o.t === 'anon') {
              const va = ANON + o.page * PG + 7;
              if (o.write) {
                p.s.write(va, [o.v]);
                p.anon.set(o.page, o.v);
              } else expect(p.s.read(va, 1)[0]).toBe(p.anon.get(o.page) ?? 0);
            } else if (o.t === 'mmap') {
              const h = open(o.f)!;
              p.s.mmap({ addr: at(o.slot, 0, 0), fixed: true, length: o.n * PG, prot: 'rw', shared: o.shared, file: h, offset: o.pgoff * PG });
              p.slots[o.slot] = { file: files[o.f]!, pgoff: o.pgoff, pages: o.n, shared: o.shared, copies: new Map() };
            } else {
              const mp = p.slots[o.slot];
              if (!mp) continue;
              if (o.t === 'munmap') {
                p.s.munmap(at(o.slot, 0, 0), mp.pages * PG);
                p.slots[o.slot] = undefined;
              } else if (o.t === 'msync') {
                p.s.msync(at(o.slot, 0, 0), mp.pages * PG, 'MS_SYNC');
              } else if (o.t === 'pageout') {
                // Private copies go to swap (anonymous pages); shared memory pages this process alone maps too.
                p.s.madvise(at(o.slot, 0, 0), mp.pages * PG, o.cold ? 'MADV_COLD' : 'MADV_PAGEOUT');
              } else if (o.t === 'dontneed') {
                p.s.madvise(at(o.slot, 0, 0), mp.pages * PG, 'MADV_DONTNEED');
                mp.copies.clear();
              } else {
                const pg = o.page % mp.pages;
                const pos = (mp.pgoff + pg) * PG + o.off;
                const va = at(o.slot, pg, o.off);
                const copy = mp.copies.get(pg);
                const past = mp.pgoff + pg >= Math.ceil(mp.file.size / PG);
                if (past && !copy) {
                  // Wholly past the end of the file: SIGBUS, BUS_ADRERR.
                  expect(() => (o.t === 'mwrite' ? p.s.write(va, [o.v]) : p.s.read(va, 1))).toThrow(BusError);
                } else if (o.t === 'mread') {
                  expect(p.s.read(va, 1)[0]).toBe(copy ? copy[o.off] : byteAt(mp.file, pos));
                } else if (!copy && pos >= mp.file.size) {
                  continue; // past the end inside the last page: the model does not follow those bytes
                } else if (mp.shared) {
                  p.s.write(va, [o.v]);
                  mp.file.bytes[pos] = o.v;
                } else {
                  p.s.write(va, [o.v]);
                  let c = copy;
                  if (!c) {
                    c = new Uint8Array(PG);
                    for (let k = 0; k < PG; k++) c[k] = byteAt(mp.file, (mp.pgoff + pg) * PG + k);
                    mp.copies.set(pg, c);
                  }
                  c[o.off] = o.v;
                }
              }
            }
          }
          auditMachine(m);
        }
        // Every file's bytes, through read(2), once more.
        for (let i = 0; i < PATHS.length; i++) {
          if (!linked[i]) continue;
          const model = files[i]!;
          expect(open(i)!.read(0, MAXPG * PG + 9000)).toEqual(model.bytes.slice(0, model.size));
        }
        for (const p of procs) p.s.destroy();
        for (const h of opened) if (h.isOpen) h.close();
        for (let i = 0; i < PATHS.length; i++) if (linked[i]) m.fs.unlink(PATHS[i]!);
        auditMachine(m);
        expect(m.meminfo().Cached).toBe(0);
        expect(m.stats().frames.used).toBe(framesAtStart);
        expect(m.reclaimStats().swap?.used).toBe(0);
        m.dispose();
      }),
      propertyOptions(60, 12),
    );
  }, 240_000);
});
