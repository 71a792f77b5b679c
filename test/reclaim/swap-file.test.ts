/**
 * A swap file as hostile users and neighbours treat it (issue 24, items 1-3): two machines on
 * one file (in this process and across processes), a file truncated under a machine, short
 * writes, a FIFO, /dev/null, a directory and a full disk. Every failure is a VmmError with the
 * errno and the host's error as `cause`, no page reads back as zeros, and no descriptor stays open.
 */
import { describe, expect, it } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs, { closeSync, openSync, readdirSync, readFileSync, truncateSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Machine, VmmError } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';
import { thrown } from '../support/thrown.js';
import { tempDir } from '../support/temp-dir.js';

const PG = 4096;
const DIST = fileURLToPath(new URL('../../dist/index.js', import.meta.url));


/** Open descriptors of this process. */
function fds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** A machine with a file swap, a process and `n` pages written with i + 1 and paged out. */
function swapped(backend: 'js' | 'native', file: string, n = 8) {
  const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', file, pageCluster: 0 } });
  const s = m.createAddressSpace();
  const b = s.mmap({ length: n * PG, prot: 'rw' });
  for (let i = 0; i < n; i++) s.write(b + i * PG, new Uint8Array(PG).fill(i + 1));
  s.madvise(b, n * PG, 'MADV_PAGEOUT');
  expect(m.reclaimStats().swap!.used).toBe(n);
  return { m, s, b };
}

/** A child node process holding a machine on `file` until killed; resolves once it holds it. */
function holder(file: string, env: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
  const code = `import { Machine } from ${JSON.stringify(DIST)};
new Machine({ memory: '16MiB', swap: { size: '1MiB', file: ${JSON.stringify(file)} } });
process.stdout.write('ready\\n');
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (c) => reject(new Error(`holder exited (${c}): ${err}`)));
  });
}

/** Runs `code` (an ES module using Machine from dist) in a child; its stdout. */
function inChild(code: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', `import { Machine, VmmError } from ${JSON.stringify(DIST)};\n${code}`], { env: { ...process.env, ...env }, encoding: 'utf8' });
}

async function killed(child: ChildProcess): Promise<void> {
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

describe.each(BACKENDS)('swap file: one machine per file (%s)', (backend) => {
  it('a second live machine on the same file is EBUSY (as swapon), and the first keeps its pages', () => {
    const file = join(tempDir('swapfile'), 'swap');
    const { m, s, b } = swapped(backend, file);
    const e = thrown(() => new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', file } }));
    expect(e).toBeInstanceOf(VmmError);
    expect((e as VmmError).code).toBe('EBUSY');
    expect((e as VmmError).message).toContain(file);
    for (let i = 0; i < 8; i++) expect(s.read(b + i * PG + 100, 1)[0]).toBe(i + 1);
    auditMachine(m);
    m.dispose();
    // Once the first is disposed the file is free again.
    const again = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', file } });
    again.dispose();
  });

  it('a machine in another process holding the file makes this one EBUSY; its death frees the file', async () => {
    const file = join(tempDir('swapfile'), 'swap');
    const child = await holder(file);
    try {
      const e = thrown(() => new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', file } }));
      expect((e as VmmError).code).toBe('EBUSY');
    } finally {
      await killed(child); // SIGKILL: no cleanup ran, the kernel drops the lock with the process
    }
    new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', file } }).dispose();
  });
});

describe('swap file: one machine per file without the native addon (a lock file with the owner pid)', () => {
  const noAddon = { VMSIM_NATIVE_ADDON: '/nonexistent/vmsim.node' };

  it('across processes: EBUSY while the owner lives, free after it was killed (a stale lock is taken over)', async () => {
    const dir = tempDir('swaplock');
    const file = join(dir, 'swap');
    const child = await holder(file, noAddon);
    const attempt = `try { new Machine({ memory: '16MiB', swap: { size: '1MiB', file: ${JSON.stringify(file)} } }).dispose(); console.log('ok'); } catch (e) { console.log(e instanceof VmmError ? e.code : String(e)); }`;
    try {
      expect(inChild(attempt, noAddon).trim()).toBe('EBUSY');
    } finally {
      await killed(child);
    }
    expect(inChild(attempt, noAddon).trim()).toBe('ok');
    // The machine that took it over released it at dispose: nothing is left beside the swap file.
    expect(readdirSync(dir)).toEqual(['swap']);
  });

  it('in one process: EBUSY for the second machine, free after dispose', () => {
    const file = join(tempDir('swaplock'), 'swap');
    const out = inChild(
      `const a = new Machine({ memory: '16MiB', swap: { size: '1MiB', file: ${JSON.stringify(file)} } });
try { new Machine({ memory: '16MiB', swap: { size: '1MiB', file: ${JSON.stringify(file)} } }); console.log('ok'); } catch (e) { console.log(e.code); }
a.dispose();
new Machine({ memory: '16MiB', swap: { size: '1MiB', file: ${JSON.stringify(file)} } }).dispose();
console.log('free');`,
      noAddon,
    );
    expect(out.trim().split('\n')).toEqual(['EBUSY', 'free']);
  });
});

describe.each(BACKENDS)('swap file I/O errors (%s)', (backend) => {
  it('a file truncated under the machine: the page-in is EIO (never zeros) and changes nothing', () => {
    const file = join(tempDir('swapfile'), 'swap');
    const { m, s, b } = swapped(backend, file);
    const before = readFileSync(file);
    truncateSync(file, PG); // another process cuts the file back to its header
    const e = thrown(() => s.read(b + 3 * PG, 1));
    expect(e).toBeInstanceOf(VmmError);
    expect((e as VmmError).code).toBe('EIO');
    expect((e as VmmError).message).toMatch(/short read/);
    expect(m.reclaimStats().swap!.used).toBe(8); // still in swap
    auditMachine(m);
    // Put the bytes back: the same access now reads the page that was written.
    fs.writeFileSync(file, before);
    expect(s.read(b + 3 * PG + 5, 1)[0]).toBe(4);
    auditMachine(m);
    m.dispose();
  });

  it('readahead that meets the cut-off end of the file reads what it can: the fault succeeds, no frame leaks', () => {
    const file = join(tempDir('swapfile'), 'swap');
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', file, pageCluster: 3 } });
    const s = m.createAddressSpace();
    const b = s.mmap({ length: 8 * PG, prot: 'rw' });
    for (let i = 0; i < 8; i++) s.write(b + i * PG, new Uint8Array(PG).fill(i + 1));
    s.madvise(b, 8 * PG, 'MADV_PAGEOUT');
    truncateSync(file, 5 * PG); // the header and slots 1-4 are left (page i went to slot i + 1)
    expect(s.read(b + 2 * PG + 5, 1)[0]).toBe(3); // slot 3: no window yet
    const ra = m.reclaimStats().counters.swap_ra;
    // Slot 4 next to slot 3: a window of two, [4, 5], and slot 5 is past the end.
    expect(s.read(b + 3 * PG + 5, 1)[0]).toBe(4);
    expect(m.vmm.swap!.readahead.history.at(-1)).toBe(2);
    expect(m.reclaimStats().counters.swap_ra).toBe(ra);
    auditMachine(m);
    expect(thrown(() => s.read(b + 4 * PG, 1))).toMatchObject({ code: 'EIO' });
    auditMachine(m);
    m.dispose();
  });

  it('a short write at swap-out is EIO: the page stays resident, no slot is taken', () => {
    const file = join(tempDir('swapfile'), 'swap');
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', file } });
    const s = m.createAddressSpace();
    const b = s.mmap({ length: 4 * PG, prot: 'rw' });
    for (let i = 0; i < 4; i++) s.write(b + i * PG, new Uint8Array(PG).fill(i + 1));
    const real = fs.writeSync;
    (fs as { writeSync: unknown }).writeSync = (...a: Parameters<typeof real>) => Math.min(100, real(...(a as unknown as [number, Uint8Array, number, number, number])));
    syncBuiltinESMExports();
    let e: unknown;
    try {
      e = thrown(() => s.madvise(b, 4 * PG, 'MADV_PAGEOUT'));
    } finally {
      (fs as { writeSync: unknown }).writeSync = real;
      syncBuiltinESMExports();
    }
    expect(e).toBeInstanceOf(VmmError);
    expect((e as VmmError).code).toBe('EIO');
    expect((e as VmmError).message).toMatch(/short write/);
    expect(m.reclaimStats().swap!.used).toBe(0);
    for (let i = 0; i < 4; i++) expect(s.read(b + i * PG + 7, 1)[0]).toBe(i + 1);
    auditMachine(m);
    m.dispose();
  });

  it('a full disk at swap-out is ENOSPC with the host error as cause, the state consistent', () => {
    const file = join(tempDir('swapfile'), 'swap');
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', file } });
    const s = m.createAddressSpace();
    const b = s.mmap({ length: 4 * PG, prot: 'rw' });
    for (let i = 0; i < 4; i++) s.write(b + i * PG, new Uint8Array(PG).fill(i + 1));
    // /dev/full answers every write with the kernel's ENOSPC: it stands in for the full filesystem.
    const dev = m.vmm.swap!.device as unknown as { fd: number };
    const full = openSync('/dev/full', 'r+');
    const fd = dev.fd;
    dev.fd = full;
    let e: unknown;
    try {
      e = thrown(() => s.madvise(b, 4 * PG, 'MADV_PAGEOUT'));
    } finally {
      dev.fd = fd;
      closeSync(full);
    }
    expect(e).toBeInstanceOf(VmmError);
    expect((e as VmmError).code).toBe('ENOSPC');
    expect(((e as VmmError).cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(m.reclaimStats().swap!.used).toBe(0);
    for (let i = 0; i < 4; i++) expect(s.read(b + i * PG + 7, 1)[0]).toBe(i + 1);
    auditMachine(m);
    m.dispose();
  });

  it('a zswap writeback that fails (the device full) keeps the page in the pool: every page reads back as written', () => {
    const file = join(tempDir('swapfile'), 'swap');
    const m = new Machine({ memory: '16MiB', backend, swap: { size: '4MiB', file, zswap: { maxPoolPercent: 1 }, pageCluster: 0 } });
    const s = m.createAddressSpace({ residentLimit: 16 });
    const n = 160;
    const b = s.mmap({ length: n * PG, prot: 'rw' });
    // Half random, half zeros: about 2 KiB compressed, so ~80 pages fill the 1% pool and it writes back to the file.
    let seed = 7;
    const page = (i: number) => {
      const p = new Uint8Array(PG);
      for (let k = 0; k < PG / 2; k++) {
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        p[k] = seed & 0xff;
      }
      p[PG - 1] = i;
      return p;
    };
    const pages: Uint8Array[] = [];
    for (let i = 0; i < n / 2; i++) s.write(b + i * PG, (pages[i] = page(i)));
    const dev = m.vmm.swap!.device as unknown as { fd: number };
    const full = openSync('/dev/full', 'r+');
    const fd = dev.fd;
    dev.fd = full;
    let failed = 0;
    try {
      for (let i = n / 2; i < n; i++) {
        try {
          s.write(b + i * PG, (pages[i] = page(i)));
        } catch (e) {
          expect((e as VmmError).code).toBe('ENOSPC');
          expect(((e as VmmError).cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
          failed++;
          pages[i] = new Uint8Array(PG); // that write never happened: the page reads as zeros
        }
      }
    } finally {
      dev.fd = fd;
      closeSync(full);
    }
    expect(failed).toBeGreaterThan(0);
    auditMachine(m);
    for (let i = 0; i < n; i++) expect(s.read(b + i * PG, PG), `page ${i}`).toEqual(pages[i]);
    auditMachine(m);
    m.dispose();
  });

  it('a FIFO, /dev/null and a directory are refused by errno with the reason, and no descriptor leaks', () => {
    const dir = tempDir('swapfile');
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const cases: Array<[string, string, RegExp]> = [
      [fifo, 'EINVAL', /not a regular file/],
      ['/dev/null', 'EINVAL', /not a regular file/],
      [dir, 'EISDIR', /directory/],
    ];
    const open0 = fds();
    for (let round = 0; round < 5; round++) {
      for (const [file, code, msg] of cases) {
        const e = thrown(() => new Machine({ memory: '16MiB', backend, swap: { size: '1MiB', file } }));
        expect(e, file).toBeInstanceOf(VmmError);
        expect((e as VmmError).code, file).toBe(code);
        expect((e as VmmError).message, file).toMatch(msg);
      }
    }
    // A leak grows with every refused machine (15 here); the count may also fall meanwhile, when
    // the collector closes the RAM memfd of an earlier test's machine.
    expect(fds()).toBeLessThanOrEqual(open0);
  });
});
