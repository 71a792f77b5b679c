/**
 * machine.fs and File: the API's rules and every refusal, with Linux's answers.
 * - creat(2) with O_EXCL: EEXIST over an existing path; open(2) of a missing one ENOENT; unlink
 *   ENOENT; a path is absolute, without '.', '..' or NUL (EINVAL), PATH_MAX and NAME_MAX
 *   (ENAMETOOLONG);
 * - a closed File is EBADF for everything; write(2) on a read-only descriptor is EBADF,
 *   ftruncate(2) on one EINVAL; sizes past the largest file are EFBIG;
 * - mmap: an unaligned offset is EINVAL, a MAP_SHARED writable mapping of a read-only file
 *   EACCES, a MAP_PRIVATE writable one fine, a mapping past the end fine (SIGBUS on access);
 * - unlink while open or mapped: the name goes, the file lives on until the last close and
 *   munmap, then its pages are freed;
 * - /dev/shm is the tmpfs of the shared memory objects: fs.create('/dev/shm/x') is
 *   machine.openSharedMemory('x'), and the reverse.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { BusError, Machine } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';

const PG = 4096;
const code = (c: string) => expect.objectContaining({ code: c });

describe.each(BACKENDS)('machine.fs and File (%s)', (backend) => {
  it('create, open, read, write, truncate, fsync, close; sizes and sparse files', () => {
    const m = new Machine({ memory: '32MiB', backend });
    const f = m.fs.create('/data/a.bin', { data: new Uint8Array([1, 2, 3]) });
    expect([f.path, f.size, f.readOnly, f.isOpen]).toEqual(['/data/a.bin', 3, false, true]);
    expect(f.read(0, 10)).toEqual(new Uint8Array([1, 2, 3]));
    expect(f.read(3, 10)).toEqual(new Uint8Array(0));
    expect(f.write(10, new Uint8Array([7]))).toBe(1);
    // The gap reads zeros; the file grew to the write's end.
    expect(f.read(0, 20)).toEqual(new Uint8Array([1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 7]));
    f.truncate(2);
    expect(f.read(0, 20)).toEqual(new Uint8Array([1, 2]));
    f.truncate(5);
    expect(f.read(0, 20)).toEqual(new Uint8Array([1, 2, 0, 0, 0]));
    f.fsync();
    // A 1 TiB file costs nothing until touched: no frame for it.
    const used = m.stats().frames.used;
    const big = m.fs.create('/big', { size: 2 ** 40 });
    expect(big.size).toBe(2 ** 40);
    expect(big.read(2 ** 39, 4)).toEqual(new Uint8Array(4));
    expect(m.stats().frames.used - used).toBe(1); // the one page read is cached
    const g = m.fs.open('/data/a.bin', { readOnly: true });
    expect(g.read(0, 5)).toEqual(new Uint8Array([1, 2, 0, 0, 0]));
    expect(m.fs.exists('/data/a.bin')).toBe(true);
    expect(m.fs.list()).toEqual(['/big', '/data/a.bin']);
    for (const h of [f, g, big]) h.close();
    auditMachine(m);
    m.dispose();
  });

  it("a host file's bytes come in as data (fs.readFileSync gives a Buffer, which is a Uint8Array)", () => {
    const m = new Machine({ memory: '32MiB', backend });
    const host = readFileSync(new URL(import.meta.url));
    const f = m.fs.create('/host/copy', { data: host });
    expect(Buffer.from(f.read(0, host.length)).equals(host)).toBe(true);
    // The bytes were copied: the host buffer changing later changes nothing.
    host[0] = host[0]! ^ 0xff;
    expect(f.read(0, 1)[0]).toBe(host[0]! ^ 0xff);
    m.dispose();
  });

  it('refuses bad paths, options and handles with Linux errnos, changing nothing', () => {
    const m = new Machine({ memory: '32MiB', backend });
    const f = m.fs.create('/x');
    expect(() => m.fs.create('/x')).toThrow(code('EEXIST'));
    expect(() => m.fs.create('//x')).toThrow(code('EEXIST')); // repeated slashes are one
    expect(() => m.fs.open('/nope')).toThrow(code('ENOENT'));
    expect(() => m.fs.unlink('/nope')).toThrow(code('ENOENT'));
    expect(() => m.fs.create('relative')).toThrow(code('EINVAL'));
    expect(() => m.fs.create('/a/../b')).toThrow(code('EINVAL'));
    expect(() => m.fs.create('/a\0b')).toThrow(code('EINVAL'));
    expect(() => m.fs.create('/')).toThrow(code('EINVAL'));
    expect(() => m.fs.create(3 as never)).toThrow(code('EINVAL'));
    expect(() => m.fs.create('/' + 'n'.repeat(256))).toThrow(code('ENAMETOOLONG'));
    expect(() => m.fs.create('/a/'.repeat(1400))).toThrow(code('ENAMETOOLONG'));
    expect(() => m.fs.create('/y', { size: -1 })).toThrow(code('EINVAL'));
    expect(() => m.fs.create('/y', { size: 2 ** 44 })).toThrow(code('EFBIG')); // ext4: 2^32 - 1 blocks of 4 KiB
    expect(() => m.fs.create('/y', { size: 2 ** 60 })).toThrow(code('EINVAL')); // not an exact integer
    expect(() => m.fs.create('/y', { data: [1, 2] as never })).toThrow(code('EINVAL'));
    expect(() => m.fs.create('/y', { data: new Uint8Array(10), size: 5 })).toThrow(code('EINVAL'));
    expect(() => m.fs.create('/y', { sizes: 1 } as never)).toThrow(/unknown option "sizes"/);
    expect(() => m.fs.open('/x', { readonly: true } as never)).toThrow(/unknown option "readonly"/);
    expect(() => m.fs.open('/x', { readOnly: 1 } as never)).toThrow(code('EINVAL'));
    expect(m.fs.exists('/y')).toBe(false);
    expect(() => f.read(-1, 1)).toThrow(code('EINVAL'));
    expect(() => f.read(0, 1.5)).toThrow(code('EINVAL'));
    expect(() => f.write(0, 'text' as never)).toThrow(code('EINVAL'));
    expect(() => f.write((2 ** 32 - 1) * PG - 5, new Uint8Array(10))).toThrow(code('EFBIG'));
    expect(() => f.truncate(-4)).toThrow(code('EINVAL'));
    const ro = m.fs.open('/x', { readOnly: true });
    expect(() => ro.write(0, new Uint8Array(1))).toThrow(code('EBADF'));
    expect(() => ro.truncate(0)).toThrow(code('EINVAL'));
    ro.fsync(); // fsync works on a read-only descriptor
    ro.close();
    for (const op of [() => ro.read(0, 1), () => ro.size, () => ro.fsync(), () => ro.close()]) expect(op).toThrow(code('EBADF'));
    f.close();
    m.dispose();
    expect(() => m.fs.open('/x')).toThrow(/disposed/);
  });

  it('mmap of files: offsets, permissions, past the end, and files of another machine', () => {
    const m = new Machine({ memory: '32MiB', backend });
    const s = m.createAddressSpace();
    const f = m.fs.create('/f', { data: new Uint8Array(2 * PG).fill(5) });
    const ro = m.fs.open('/f', { readOnly: true });
    expect(() => s.mmap({ length: PG, prot: 'r', file: f, offset: 100 })).toThrow(code('EINVAL'));
    expect(() => s.mmap({ length: PG, prot: 'r', file: f, offset: -PG })).toThrow(code('EINVAL'));
    expect(() => s.mmap({ length: PG, prot: 'rw', shared: true, file: ro })).toThrow(code('EACCES'));
    expect(s.read(s.mmap({ length: PG, prot: 'rw', file: ro }), 1)[0]).toBe(5);
    const obj = m.createSharedMemory('o', PG);
    expect(() => s.mmap({ length: PG, prot: 'r', file: f, object: obj })).toThrow(code('EINVAL'));
    const other = new Machine({ memory: '8MiB', backend });
    const alien = other.fs.create('/f');
    expect(() => s.mmap({ length: PG, prot: 'r', file: alien })).toThrow(code('EINVAL'));
    expect(() => s.mmap({ length: PG, prot: 'r', file: {} as never })).toThrow(code('EINVAL'));
    other.dispose();
    const regionsBefore = s.regions().length;
    ro.close();
    expect(() => s.mmap({ length: PG, prot: 'r', file: ro })).toThrow(code('EBADF'));
    expect(s.regions().length).toBe(regionsBefore);
    // Past the end: allowed, SIGBUS on access past the last page.
    const a = s.mmap({ length: 4 * PG, prot: 'r', shared: true, file: f });
    expect(s.findRegion(a)).toMatchObject({ backing: { type: 'file', path: '/f', offset: 0 }, shared: true });
    expect(s.maps()).toMatch(/r--s 00000000 08:01 \d+ +\/f\n/);
    expect(() => s.read(a + 2 * PG, 1)).toThrow(expect.objectContaining({ name: 'BusError', cause: 'BUS_ADRERR', address: a + 2 * PG, access: 'read' }));
    const e = (() => {
      try {
        s.write(a + 3 * PG, [1]);
      } catch (x) {
        return x;
      }
    })();
    // A write to a read-only mapping is SIGSEGV before anything else.
    expect(e).toMatchObject({ name: 'SegmentationFault', cause: 'SEGV_ACCERR' });
    const r = s.accessBatch(new Float64Array([a, a + 3 * PG]), new Uint8Array([0, 0]));
    expect(r.completed).toBe(1);
    expect(r.fault).toBeInstanceOf(BusError);
    auditMachine(m);
    m.dispose();
  });

  it('unlink while open and mapped: the file lives until the last close and munmap, then its pages go', () => {
    const m = new Machine({ memory: '32MiB', backend });
    const s = m.createAddressSpace();
    const f = m.fs.create('/u', { data: new Uint8Array(4 * PG).fill(8) });
    const a = s.mmap({ length: 4 * PG, prot: 'rw', shared: true, file: f });
    s.write(a + 5, [9]);
    m.fs.unlink('/u');
    expect(m.fs.exists('/u')).toBe(false);
    expect(s.maps()).toMatch(/\/u \(deleted\)\n/);
    expect(f.read(5, 1)[0]).toBe(9);
    // A new file may take the name; the old one is another inode.
    const g = m.fs.create('/u');
    expect(g.size).toBe(0);
    f.close();
    expect(s.read(a + 5, 1)[0]).toBe(9);
    expect(m.meminfo().Cached).toBeGreaterThan(0);
    s.munmap(a, 4 * PG);
    expect(m.meminfo().Cached).toBe(0);
    g.close();
    m.fs.unlink('/u');
    auditMachine(m);
    m.dispose();
  });

  it('/dev/shm holds the shared memory objects: fs and createSharedMemory see the same files', () => {
    const m = new Machine({ memory: '32MiB', backend });
    const s = m.createAddressSpace();
    const f = m.fs.create('/dev/shm/buf', { data: new Uint8Array([4, 5, 6]) });
    const obj = m.openSharedMemory('buf')!;
    expect(obj).toBeDefined();
    expect(obj.residentPages).toBe(1);
    const a = s.mmap({ length: PG, prot: 'rw', shared: true, object: obj });
    expect(s.read(a, 3)).toEqual(new Uint8Array([4, 5, 6]));
    s.write(a + 1, [50]);
    expect(f.read(0, 3)).toEqual(new Uint8Array([4, 50, 6]));
    m.createSharedMemory('other', 2 * PG);
    expect(m.fs.open('/dev/shm/other').size).toBe(2 * PG);
    expect(m.fs.list()).toEqual(['/dev/shm/buf', '/dev/shm/other']);
    expect(() => m.fs.create('/dev/shm/buf')).toThrow(code('EEXIST'));
    expect(() => m.fs.open('/dev/shm/a/b')).toThrow(code('ENOENT'));
    m.fs.unlink('/dev/shm/buf');
    expect(m.openSharedMemory('buf')).toBeUndefined();
    expect(s.read(a + 1, 1)[0]).toBe(50);
    f.close();
    s.destroy();
    auditMachine(m);
    m.dispose();
  });
});

describe('the README files example', () => {
  it('runs as written: the second process finds the first one’s cache page (a minor fault)', () => {
    const m = new Machine({ memory: '64MiB', vm: { swappiness: 60, readAheadKb: 128 } });
    const lib = m.fs.create('/lib/libc.so.6', { data: Buffer.alloc(2 << 20, 0x7f) });
    const a = m.createAddressSpace(),
      b = m.createAddressSpace();
    a.read(a.mmap({ file: lib, length: 1 << 20, prot: 'rx' }), 8);
    b.read(b.mmap({ file: lib, length: 1 << 20, prot: 'rx' }), 8);
    expect(a.stats().faults.major).toBe(1);
    expect(b.stats().faults).toMatchObject({ major: 0, minor: 1 });
    expect(m.meminfo()['Cached']).toBeGreaterThanOrEqual(128); // read_ahead_kb's window
    expect(m.vmstat().pgmajfault).toBe(1);
    lib.close();
    m.dispose();
  });
});
