/** replay(): hand-written lackey traces with answers worked out by hand, every mode and error path. */
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/replay/replay.js';
import { VmmError } from '../../src/errors.js';
import { TraceFormatError } from '../../src/trace/trace-error.js';
import { BACKENDS } from '../backends.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeHeader } from '../../src/trace/binary-trace.js';
import { packRecord } from '../../src/trace/trace-record.js';

const text = (s: string) => new TextEncoder().encode(s);

// Pages 0x400 (code), 0x7ff000 (stack-like), 0x600/0x601 (data); the last load crosses 0x600 → 0x601.
const SMALL = `==1== Lackey, an example Valgrind tool
I  00400000,4
 L 7ff000100,8
 S 7ff000100,8
 M 00601000,4
I  00400004,4
 L 00600ffc,8
`;

describe.each(BACKENDS)('replay (%s)', (backend) => {
  it('counts a small trace exactly: accesses, TLB, walks, faults, pages, frames', async () => {
    const r = await replay(text(SMALL), { backend, tlb: { entries: 64, ways: 4 } });
    expect(r.trace).toMatchObject({ format: 'lackey', gzip: false, records: 6, skipped: 0, ignoredLines: 1 });
    expect(r.accesses).toBe(6);
    expect(r.byKind).toEqual({ instructions: 2, loads: 2, stores: 1, modifies: 1 });
    expect(r.pageCrossing).toBe(1);
    // Touches 0x400 0x7ff000 0x7ff000 0x601 0x400 0x600 0x601: four first touches miss, three hit.
    expect(r.tlb).toMatchObject({ lookups: 7, hits: 3, misses: 4 });
    expect(r.tlb.levels).toEqual([{ name: 'tlb', entries: 64, ways: 4, hits: 3, misses: 4 }]);
    // Each first touch: a walk that faults and a walk on the retry (8); the store to the zero
    // page hits a read-only entry, faults without a walk, and its retry walks (1).
    expect(r.walks).toBe(9);
    // Faults: four first touches (page-ins) and the store to the zero page (a write-protect
    // fault that brings no page in); all resolved, all minor as Linux counts them.
    expect(r.faults).toEqual({ total: 5, pageIns: 4, writeProtect: 1, minor: 5, major: 0, cow: 0, segv: 0 });
    expect(r.pagesTouched).toBe(4);
    expect(r.pagesTouchedBySize).toEqual({ '4k': 4, '2m': 0 });
    expect(r.bytesTouched).toBe(4 * 4096);
    // Frames: two written pages (0x7ff000, 0x601) and six tables (PDPT, two PDs, three PTs).
    expect(r.framesUsed).toBe(8);
    expect(r.segfaults).toEqual([]);
    expect(r.backend).toBe(backend);
  });

  it('gives identical counts for the same trace in every run and on both backends (determinism)', async () => {
    const strip = (r: Awaited<ReturnType<typeof replay>>) => ({ ...r, timeMs: 0, nsPerAccess: 0, backend: '' });
    const a = strip(await replay(text(SMALL), { backend }));
    const b = strip(await replay(text(SMALL), { backend: 'js' }));
    expect(a).toEqual(b);
  });

  it('an empty trace replays to zeros', async () => {
    // A binary trace with no records is a trace of nothing; empty text is not a trace (trace-reader tests).
    const r = await replay(encodeHeader(), { backend });
    expect(r.accesses).toBe(0);
    expect(r.tlb).toMatchObject({ lookups: 0, hits: 0, misses: 0, missRate: 0 });
    expect(r.pagesTouched).toBe(0);
    expect(r.framesUsed).toBe(0);
    expect(r.nsPerAccess).toBe(0);
  });

  it('kernel addresses, addresses below mmap_min_addr and the page above TASK_SIZE are refused (SIGSEGV); huge user addresses work', async () => {
    const r = await replay(text('I  ffffffffff600000,4\n L 00001000,8\n L 7fffffffff00,8\n L 7ffe00000000,8\n S 7ffe00000fff,2\n'), { backend });
    expect(r.accesses).toBe(5);
    expect(r.faults.segv).toBe(3);
    expect(r.segfaults).toEqual([
      { address: '0xffffffffff600000', access: 'execute', cause: 'SEGV_MAPERR' },
      { address: '0x0000000000001000', access: 'read', cause: 'SEGV_MAPERR' },
      { address: '0x00007fffffffff00', access: 'read', cause: 'SEGV_MAPERR' },
    ]);
    // 0x7ffe00000000 works like any page; the 2-byte store at ...fff crosses into the next page.
    expect(r.pageCrossing).toBe(1);
    expect(r.pagesTouched).toBe(2);
  });

  it("'regions' mode: only the caller's regions exist; the rest is SIGSEGV, with the cause", async () => {
    const r = await replay(text(' L 10000000,8\n S 10000000,8\n L 20000000,8\n S 30000000,8\n'), {
      backend,
      mode: 'regions',
      setup: (space) => {
        space.mmap({ addr: 0x1000_0000, length: 4096, prot: 'rw', fixed: true });
        space.mmap({ addr: 0x3000_0000, length: 4096, prot: 'r', fixed: true });
      },
    });
    expect(r.faults.segv).toBe(2);
    expect(r.segfaults.map((s) => s.cause)).toEqual(['SEGV_MAPERR', 'SEGV_ACCERR']);
    expect(r.accesses).toBe(4);
    expect(r.regions).toBe(3); // two regions and the stack
  });

  it('what setup touches is neither counted as touched nor left in the TLB', async () => {
    const r = await replay(text(' L 10000000,8\n L 10000000,8\n'), {
      backend,
      mode: 'regions',
      setup: (space) => {
        const a = space.mmap({ addr: 0x1000_0000, length: 16 * 4096, prot: 'rw', fixed: true, populate: true });
        space.write(a, [1]);
        space.write(a + 4096, [2]);
      },
    });
    expect(r.pagesTouched).toBe(1);
    expect(r.tlb).toMatchObject({ hits: 1, misses: 1 });
    expect(r.faults.total).toBe(0);
  });

  it('2 MiB pages: one fault maps a whole huge page; its TLB entry covers every 4K page in it', async () => {
    const trace = ' S 40000000,8\n L 40001000,8\n L 401ff000,8\n L 40200000,8\n';
    const r = await replay(text(trace), { backend, pageSize: '2m', tlb: { entries: 4, ways: 4 } });
    expect(r.faults.total).toBe(2);
    expect(r.tlb).toMatchObject({ hits: 2, misses: 2 });
    expect(r.pagesTouched).toBe(2);
    expect(r.bytesTouched).toBe(2 * 2 ** 21);
    expect(r.framesUsed).toBeGreaterThanOrEqual(1024);
    const small = await replay(text(trace), { backend, tlb: { entries: 4, ways: 4 } });
    expect(small.tlb).toMatchObject({ hits: 0, misses: 4 });
    expect(small.pagesTouched).toBe(4);
  });

  it('paging-structure caches count the memory references a walk needs', async () => {
    // Three pages in one 2 MiB block, each first touched by a faulting walk and its retry.
    // Page 1's faulting walk stops at the absent PML4E (1 reference, no cache probed); its retry
    // reads 4 entries and fills the three caches. Pages 2 and 3 find the PDE cached (1 reference),
    // but their fault drops the cache entries used for the address (SDM 4.10.4.1), so each retry
    // reads 4 entries again and refills them.
    const r = await replay(text(' L 40000000,8\n L 40001000,8\n L 40002000,8\n'), { backend, tlb: { entries: 64, ways: 4, pwc: { pml4: 2, pdpt: 2, pd: 2 } } });
    expect(r.walks).toBe(6);
    expect(r.pwc!.walkReferences).toBe(1 + 4 + (1 + 4) * 2);
    expect(r.pwc!.levels).toEqual([
      { name: 'pml4', entries: 2, hits: 0, misses: 3 },
      { name: 'pdpt', entries: 2, hits: 0, misses: 3 },
      { name: 'pd', entries: 2, hits: 2, misses: 3 },
    ]);
    expect(r.tlb.hierarchy!.walkReferences).toMatchObject({ pml4e: 4, pdpte: 3, pde: 3, pte: 5, total: 15 });
    expect(r.tlb.levels.map((l) => l.name)).toEqual(['stlb', 'pwc-pml4e', 'pwc-pdpte', 'pwc-pde']);
  });

  it('malformed lines are skipped and counted; strict mode stops at the first with its line number', async () => {
    const bad = 'I  00400000,4\n L zz,8\n L 00400000,0\n S 00400008,8\n';
    const skipped: string[] = [];
    const r = await replay(text(bad), { backend, onSkip: (e) => skipped.push(e.message) });
    expect(r.trace.skipped).toBe(2);
    expect(r.accesses).toBe(2);
    expect(skipped.length).toBe(2);
    expect(skipped[0]).toMatch(/line 2/);
    const err = await replay(text(bad), { backend, strict: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TraceFormatError);
    expect((err as TraceFormatError).line).toBe(2);
  });
});

describe('replay: bad input', () => {
  it('rejects bad options with EINVAL naming the option, before reading anything', async () => {
    const cases: Array<[object, RegExp]> = [
      [{ tlb: { entries: 0 } }, /options\.tlb\.entries/],
      [{ tlb: { entries: 64, ways: 5 } }, /not a multiple/],
      [{ tlb: { entries: 8, ways: 16 } }, /options\.tlb\.ways/],
      [{ tlb: { l1d: { entries: -1 } } }, /options\.tlb\.l1d\.entries/],
      [{ tlb: { pwc: { pd: 1.5 } } }, /options\.tlb\.pwc\.pd/],
      [{ tlb: { size: 4 } }, /options\.tlb: unknown option "size"/],
      [{ pageSize: '1g' }, /options\.pageSize/],
      [{ mode: 'file' }, /options\.mode/],
      [{ strict: 'yes' }, /options\.strict/],
      [{ setup: 42 }, /options\.setup must be a function/],
      [{ tlbEntries: 4 }, /unknown replay option "tlbEntries"/],
    ];
    for (const [o, msg] of cases) {
      const e = await replay(text(SMALL), o as never).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(VmmError);
      expect((e as VmmError).code).toBe('EINVAL');
      expect((e as Error).message).toMatch(msg);
    }
  });

  it('rejects a bad trace argument and a missing file', async () => {
    await expect(replay(42 as never)).rejects.toThrow(/trace must be a file path/);
    const e = await replay('/nonexistent/trace.out').catch((x: unknown) => x);
    expect((e as VmmError).code).toBe('ENOENT');
    expect((e as Error).message).toMatch(/\/nonexistent\/trace\.out/);
  });

  it('a binary trace file replays as its bytes do: a record with reserved bits is skipped (or stops strict mode)', async () => {
    const n = 300;
    const words = new Uint32Array(n * 2);
    for (let i = 0; i < n; i++) packRecord(words, i, 0x400000 + ((i * 7) % 40) * 4096 + (i % 16) * 8, i % 4, 8);
    words[2 * 123 + 1]! |= 0x80000000;
    const bytes = Buffer.concat([encodeHeader(), Buffer.from(words.buffer)]);
    const dir = await mkdtemp(join(tmpdir(), 'vmsim-replay-'));
    try {
      for (const backend of BACKENDS) {
        const path = join(dir, 't.bin');
        await writeFile(path, bytes);
        const skips: number[] = [];
        const fromFile = await replay(path, { backend, onSkip: (e) => skips.push((e as TraceFormatError).byteOffset!) });
        const fromBytes = await replay(new Uint8Array(bytes), { backend });
        expect(fromFile.trace).toMatchObject({ format: 'binary', records: n - 1, skipped: 1 });
        expect(skips).toEqual([16 + 123 * 8]);
        expect(fromFile.accesses).toBe(n - 1);
        expect({ tlb: fromFile.tlb, faults: fromFile.faults, byKind: fromFile.byKind, walks: fromFile.walks, pages: fromFile.pagesTouched }).toEqual({ tlb: fromBytes.tlb, faults: fromBytes.faults, byKind: fromBytes.byKind, walks: fromBytes.walks, pages: fromBytes.pagesTouched });
        // The modelled hierarchy reads the same records.
        const modelled = await replay(path, { backend, tlb: { entries: 64, ways: 4, l1d: { entries: 16, ways: 4 } } });
        expect([modelled.accesses, modelled.trace.skipped]).toEqual([n - 1, 1]);
        await expect(replay(path, { backend, strict: true })).rejects.toThrow(`byte ${16 + 123 * 8}: malformed record`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects malformed record chunks and records with reserved bits, counting nothing', async () => {
    await expect(replay([{ words: new Float64Array(2), count: 1 } as never])).rejects.toThrow(/words: Uint32Array/);
    await expect(replay([{ words: new Uint32Array(2), count: 2 }])).rejects.toThrow(/words.length >= 2 \* count/);
    await expect(replay([{ words: Uint32Array.of(0x1000, 0xc0000000), count: 1 }])).rejects.toThrow(/reserved bits/);
  });
});

describe('sweep: bad input', () => {
  it('rejects a non-path trace, empty or invalid configurations and bad jobs with EINVAL', async () => {
    const { sweep, combinations } = await import('../../src/replay/sweep.js');
    await expect(sweep(42 as never, [{}])).rejects.toThrow(/trace must be a file path/);
    await expect(sweep('x.out', [])).rejects.toThrow(/non-empty array/);
    await expect(sweep('x.out', [{ tlb: { entries: 3, ways: 2 } }])).rejects.toThrow(/configs\[0\].*not a multiple/);
    await expect(sweep('x.out', [{}], { jobs: -1 })).rejects.toThrow(/options.jobs/);
    await expect(sweep('/nonexistent/trace.out', [{}, {}], { jobs: 1 })).rejects.toMatchObject({ code: 'ENOENT', message: expect.stringContaining('/nonexistent/trace.out') });
    expect(combinations({ a: [1, 2], b: ['x', 'y'] })).toEqual([
      { a: 1, b: 'x' },
      { a: 1, b: 'y' },
      { a: 2, b: 'x' },
      { a: 2, b: 'y' },
    ]);
  });
});
