/**
 * Snapshot files: a machine saved and loaded continues exactly as the original does (on either
 * backend, and through a diff of a parent); a file cut short at any offset, a byte flipped
 * anywhere, a file of another format or vmsim version, a diff whose parent changed or is gone
 * are refused with a SnapshotError before anything is built; a save that cannot complete
 * leaves no file.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Machine } from '../../src/system/machine.js';
import { SnapshotError } from '../../src/snapshot/snapshot-error.js';
import { BACKENDS } from '../backends.js';
import { LONG, propertyOptions } from '../property-options.js';
import { tempDir } from '../support/temp-dir.js';
import { thrown } from '../support/thrown.js';
import { auditMachine } from '../support/invariants.js';
import { configArb, digest, runStep, stepArb } from '../support/machine-program.js';

const other = (b: 'js' | 'native'): 'js' | 'native' => (BACKENDS.length === 2 ? (b === 'js' ? 'native' : 'js') : b);

describe.each(BACKENDS)('snapshot files (%s)', (backend) => {
  it('a loaded machine, and one loaded from a diff, continue exactly as the original', () => {
    const dir = tempDir('snapfile');
    let n = 0;
    fc.assert(
      fc.property(configArb(backend), fc.array(stepArb, { minLength: 1, maxLength: 40 }), fc.array(stepArb, { maxLength: 30 }), fc.array(stepArb, { minLength: 1, maxLength: 40 }), (cfg, first, middle, rest) => {
        using m = new Machine(cfg);
        m.createAddressSpace();
        for (const s of first) runStep(m, s);
        const base = join(dir, `base${n}.vmsnap`);
        const diff = join(dir, `diff${n++}.vmsnap`);
        m.save(base);
        for (const s of middle) runStep(m, s);
        const info = m.save(diff, { parent: base });
        expect(info.storedPages).toBeLessThanOrEqual(info.nonZeroPages);
        using a = Machine.load(diff, { backend });
        using b = Machine.load(diff, { backend: other(backend) });
        auditMachine(a);
        auditMachine(b);
        const want = rest.map((s) => runStep(m, s));
        expect(rest.map((s) => runStep(a, s))).toEqual(want);
        expect(rest.map((s) => runStep(b, s))).toEqual(want);
        const d = digest(m);
        expect(digest(a)).toBe(d);
        expect(digest(b)).toBe(d);
      }),
      propertyOptions(60, 6),
    );
  });

  it('stores zero pages as nothing and a duplicate page once', () => {
    const dir = tempDir('snapdup');
    using m = new Machine({ backend, memory: '16MiB' });
    const p = m.createAddressSpace();
    const a = p.mmap({ length: 64 * 4096, prot: 'rw' });
    for (let i = 0; i < 64; i++) p.write(a + i * 4096 + 100, [1, 2, 3]); // 64 equal pages
    p.read(p.mmap({ length: 64 * 4096, prot: 'rw' }), 1); // the zero page, mapped
    const info = m.save(join(dir, 'd.vmsnap'));
    expect(info.duplicatePages).toBeGreaterThanOrEqual(63);
    expect(info.storedPages).toBe(info.nonZeroPages - info.duplicatePages);
    // The same machine again as a diff of itself: nothing changed, nothing stored.
    const again = m.save(join(dir, 'same.vmsnap'), { parent: join(dir, 'd.vmsnap') });
    expect(again.storedPages).toBe(0);
    expect(again.sameAsParentPages).toBe(again.nonZeroPages);
  });
});

/** A small saved machine (a few pages: every offset can be tried). */
function smallFile(dir: string): { path: string; bytes: Buffer } {
  using m = new Machine({ backend: BACKENDS[0], memory: '2MiB' });
  const p = m.createAddressSpace({ stack: false });
  const a = p.mmap({ length: 4 * 4096, prot: 'rw' });
  p.write(a, [1, 2, 3]);
  const path = join(dir, 'small.vmsnap');
  m.save(path);
  return { path, bytes: readFileSync(path) };
}

/** Offsets to try in a file of `n` bytes: every one under test:long; else the header's every few bytes and 150 spread over the rest (each try is a file write: ~1-2 ms here). */
function offsets(n: number): number[] {
  if (LONG) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  for (let i = 0; i < 320; i += 3) out.push(i);
  for (let k = 0; k < 150; k++) out.push(320 + Math.floor(((n - 320) * k) / 150));
  out.push(4095, 4096, 4097, n - 1);
  return out.filter((i) => i < n);
}

/** Loading `path` throws a SnapshotError (what it says is returned). */
function refused(path: string): SnapshotError {
  const e = thrown(() => Machine.load(path));
  expect(e).toBeInstanceOf(SnapshotError);
  expect(['EIO', 'EINVAL']).toContain((e as SnapshotError).code);
  return e as SnapshotError;
}

/** The same header with `edit` applied to its text and its CRC made right again. */
function rewriteHeader(bytes: Buffer, edit: (text: string) => string): Buffer {
  const end = bytes.indexOf('\n\n');
  const lines = bytes.subarray(0, end).toString('latin1').split('\n').slice(0, -1);
  const text = edit(lines.map((l) => l + '\n').join(''));
  const head = Buffer.alloc(4096);
  head.write(`${text}header-crc32: ${(crc32(text) >>> 0).toString(16).padStart(8, '0')}\n\n`, 'latin1');
  return Buffer.concat([head, bytes.subarray(4096)]);
}

describe('snapshot files: bad input', () => {
  it('a file cut short at any offset is refused', () => {
    const dir = tempDir('snaptrunc');
    const { bytes } = smallFile(dir);
    const cut = join(dir, 'cut.vmsnap');
    for (const n of offsets(bytes.length)) {
      writeFileSync(cut, bytes.subarray(0, n));
      const e = refused(cut);
      expect(e.message).toContain(cut);
    }
  });

  it('a byte flipped anywhere is refused', () => {
    const dir = tempDir('snapflip');
    const { bytes } = smallFile(dir);
    const bad = join(dir, 'flip.vmsnap');
    for (const i of offsets(bytes.length)) {
      const b = Buffer.from(bytes);
      b[i] = b[i]! ^ (1 << (i % 8));
      writeFileSync(bad, b);
      refused(bad);
    }
  });

  it('a file of another format or vmsim version, or not a snapshot, is refused saying so', () => {
    const dir = tempDir('snapver');
    const { bytes } = smallFile(dir);
    const f = join(dir, 'x.vmsnap');
    writeFileSync(f, rewriteHeader(bytes, (t) => t.replace(/^vmsim: .*$/m, 'vmsim: 0.0.1')));
    expect(refused(f).message).toMatch(/written by vmsim 0\.0\.1; this is vmsim/);
    writeFileSync(f, rewriteHeader(bytes, (t) => t.replace(/^vmsim snapshot 1$/m, 'vmsim snapshot 2')));
    expect(refused(f).message).toMatch(/snapshot format 2; this vmsim reads format 1/);
    writeFileSync(f, 'hello\n');
    expect(refused(f).message).toMatch(/not a vmsim snapshot file/);
    // The intact file still loads.
    writeFileSync(f, bytes);
    Machine.load(f).dispose();
  });

  it('a diff whose parent changed or is gone is refused', () => {
    const dir = tempDir('snapparent');
    using m = new Machine({ backend: BACKENDS[0], memory: '2MiB' });
    const p = m.createAddressSpace({ stack: false });
    p.write(p.mmap({ length: 4096, prot: 'rw' }), [1]);
    mkdirSync(join(dir, 'sub'));
    const base = join(dir, 'sub', 'base.vmsnap');
    m.save(base);
    p.write(p.mmap({ length: 4096, prot: 'rw' }), [2]);
    const diff = join(dir, 'diff.vmsnap');
    m.save(diff, { parent: base });
    Machine.load(diff).dispose();
    p.write(p.mmap({ length: 4096, prot: 'rw' }), [3]);
    m.save(base); // another machine state under the parent's name
    expect(refused(diff).message).toMatch(/which has changed since/);
    writeFileSync(base, '');
    refused(diff);
  });

  it('a save that cannot be written leaves nothing, and callbacks cannot go to a file', () => {
    const dir = tempDir('snapsave');
    using m = new Machine({ backend: BACKENDS[0], memory: '2MiB', onOomKill: () => {} });
    m.createAddressSpace();
    const e = thrown(() => m.save(join(dir, 'cb.vmsnap')));
    expect(e).toBeInstanceOf(SnapshotError);
    expect((e as Error).message).toMatch(/onOomKill is a callback/);
    expect((thrown(() => m.save(join(dir, 'nope', 'x.vmsnap'))) as SnapshotError).code).toBe('EINVAL');
    using m2 = new Machine({ backend: BACKENDS[0], memory: '2MiB' });
    expect((thrown(() => m2.save(join(dir, 'nope', 'x.vmsnap'))) as SnapshotError).code).toBe('ENOENT');
    expect((thrown(() => m2.save(join(dir, 'y.vmsnap'), { parent: join(dir, 'missing.vmsnap') })) as SnapshotError).code).toBe('ENOENT');
    expect((thrown(() => m2.save(join(dir, 'y.vmsnap'), { bogus: 1 } as never)) as Error).message).toMatch(/bogus/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
