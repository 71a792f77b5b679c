/** The replay, maps, convert and sweep commands: output, exit codes, --json/--csv, --plot, bad options. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileTempDir } from './support/temp-dir.js';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';

/** Runs a command in-process; returns exit code and what it wrote. */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

const dir = fileTempDir('cli');
const trace = join(dir, 'small.out');
writeFileSync(trace, '==1== header\nI  00400000,4\n L 7ff000100,8\n S 7ff000100,8\n M 00601000,4\nI  00400004,4\n L 00600ffc,8\n');

describe('vmsim replay', () => {
  it('prints a summary with the counts', async () => {
    const r = await run('replay', trace, '--backend', 'js');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/small\.out \(lackey\): 6 records/);
    expect(r.out).toMatch(/tlb\s+64\s+4-way\s+3\s+4\s+57\.14%/);
    expect(r.out).toMatch(/pages touched \(4k\)\s+4/);
    expect(r.err).toBe('');
  });

  it('--json parses and carries the names the API keeps', async () => {
    const r = await run('replay', trace, '--json', '--tlb-entries', '8', '--tlb-ways', '8');
    const j = JSON.parse(r.out);
    expect(j.accesses).toBe(6);
    expect(j.tlb.hits).toBe(3);
    expect(j.tlb.misses).toBe(4);
    expect(j.walks).toBe(9);
    expect(j.faults.minor).toBe(5);
    expect(j.pagesTouched).toBe(4);
    expect(j.tlb.levels[0]).toEqual({ name: 'tlb', entries: 8, ways: 8, hits: 3, misses: 4 });
  });

  it('--csv is a header and one row with the same numbers', async () => {
    const r = await run('replay', trace, '--csv');
    const [header, row, end] = r.out.split('\n');
    expect(end).toBe('');
    const cols = header!.split(',');
    const vals = row!.split(',');
    expect(vals[cols.indexOf('tlb.misses')]).toBe('4');
    expect(vals[cols.indexOf('accesses')]).toBe('6');
  });

  it('split L1 TLBs and walk caches show as levels', async () => {
    const r = await run('replay', trace, '--l1d-entries', '4', '--l1i-entries', '2', '--l1i-ways', '2', '--pwc', '1,1,4', '--json');
    const j = JSON.parse(r.out);
    expect(j.tlb.levels.map((l: { name: string }) => l.name)).toEqual(['l1i', 'l1d', 'stlb', 'pwc-pml4e', 'pwc-pdpte', 'pwc-pde']);
    expect(j.pwc.levels.map((l: { name: string }) => l.name)).toEqual(['pml4', 'pdpt', 'pd']);
  });

  it('reports a missing file and a malformed trace (strict) with exit 1', async () => {
    const missing = await run('replay', join(dir, 'nope.out'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/ENOENT.*nope\.out/);
    const bad = join(dir, 'bad.out');
    writeFileSync(bad, 'I  00400000,4\n L xyz,8\n');
    const strict = await run('replay', bad, '--strict');
    expect(strict.code).toBe(1);
    expect(strict.err).toMatch(/line 2/);
    const lax = await run('replay', bad);
    expect(lax.code).toBe(0);
    expect(lax.err).toMatch(/skipped 1 malformed.*line 2/);
  });

  it('bad options give a clear message and exit 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['replay'], /expected one or more TRACE files/],
      [['replay', trace, '--tlb-entries'], /--tlb-entries needs a value/],
      [['replay', trace, '--tlb-entries', 'many'], /--tlb-entries many: needs a whole number of at least 1/],
      [['replay', trace, '--page-size', '1g'], /--page-size 1g: must be one of 4k, 2m/],
      [['replay', trace, '--frobnicate'], /unknown option --frobnicate/],
      [['replay', trace, '--json', '--csv'], /choose one of --json and --csv/],
      [['replay', trace, '--pwc', '1,2'], /--pwc 1,2: needs three entry counts PML4,PDPT,PD/],
      [['replay', trace, '--l1d-ways', '2'], /--l1d-ways needs --l1d-entries/],
      [['sweep', trace, '--tlb-entries', '6', '--tlb-ways', '4'], /no valid combination/],
      [['sweep', trace, '--cpu', 'skylake,p4'], /--cpu skylake,p4: "p4" is not one of skylake/],
      [['convert', trace], /expected IN and OUT/],
      [['maps'], /expected one TRACE/],
      [['replay', trace, trace, '--cpus', '0'], /--cpus 0: needs a whole number in \[1, 256\]/],
      [['replay', trace, trace, '--csv'], /--csv is for one TRACE/],
    ];
    for (const [argv, msg] of cases) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(msg);
    }
    // A bad TLB configuration is misuse too (exit 2), and the message names the flags.
    const tlbErr = await run('replay', trace, '--tlb-entries', '6', '--tlb-ways', '4');
    expect(tlbErr.code).toBe(2);
    expect(tlbErr.err).toMatch(/--tlb-entries 6: is not a multiple of --tlb-ways 4/);
    const hier: Array<[string[], RegExp]> = [
      [['--l1d-entries', '64', '--l1d-ways', '3'], /--l1d-ways 3: does not divide --l1d-entries 64/],
      [['--stlb-entries', '0'], /--stlb-entries 0: needs a whole number of at least 1/],
      [['--stlb-entries', '2000000'], /--stlb-entries 2000000: must be an integer in \[1, 1048576\]$/m],
      [['--cpu', 'haswell'], /--cpu haswell: must be one of skylake, golden-cove, zen3, zen4, champsim, virtuoso/],
      [['--cpu', 'skylake', '--stlb-policy', 'plru'], /--stlb-policy plru: needs a power-of-two number of ways, got --stlb-ways 12/],
      [['--l1d-policy', 'mru'], /--l1d-policy mru: must be one of lru, plru, fifo, random/],
      [['--pwc-pde-ways', '2'], /--pwc-pde-ways needs --pwc-pde-entries \(or --cpu\)/],
      [['--pwc-pde-entries', '6', '--pwc-pde-ways', '4'], /--pwc-pde-ways 4: does not divide --pwc-pde-entries 6/],
      [['--series', '0', '--cpu', 'zen3'], /--series 0: needs a whole number of at least 1/],
      [['--series-csv', 'x.csv', '--cpu', 'zen3'], /--series-csv needs --series N/],
      [['--tlb-entries', '64', '--stlb-entries', '64', '--l1d-entries', '4'], /not both/],
    ];
    for (const [args, msg] of hier) {
      const r = await run('replay', trace, ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(msg);
    }
  });

  it('several TRACEs with --cpus: one process each, a table per process and per CPU, or JSON', async () => {
    const r = await run('replay', trace, trace, trace, '--cpus', '2', '--quantum', '2', '--backend', 'js');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/3 processes on 2 CPUs, quantum 2 accesses/);
    expect(r.out).toMatch(/CPU\s+TLB hits\s+misses\s+switch flushes/);
    const j = JSON.parse((await run('replay', trace, trace, '--cpus', '2', '--json')).out);
    expect(j.processes.map((p: { cpu: number; accesses: number }) => [p.cpu, p.accesses])).toEqual([
      [0, 6],
      [1, 6],
    ]);
    expect(j.cpus).toHaveLength(2);
    expect(j.machine.accesses).toBe(12);
  });

  it('--help explains every option', async () => {
    for (const cmd of ['replay', 'sweep', 'convert', 'maps']) {
      const r = await run(cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`usage: vmsim ${cmd}`));
    }
    const replayHelp = (await run('replay', '--help')).out;
    for (const o of ['--tlb-entries', '--tlb-ways', '--page-size', '--json', '--csv', '--l1i-entries', '--l1d-entries', '--pwc', '--strict', '--backend', '--memory']) expect(replayHelp).toContain(o);
  });
});

describe('vmsim maps, convert, sweep', () => {
  it('maps prints the regions of the replayed process', async () => {
    const r = await run('maps', trace);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^00400000-00800000 rwxp 00000000 00:00 0/m);
    expect(r.out).toMatch(/\[stack\]/);
  });

  it('convert writes a binary trace that replays to the same result', async () => {
    const bin = join(dir, 'small.bin');
    const c = await run('convert', trace, bin);
    expect(c.code).toBe(0);
    expect(c.out).toMatch(/6 records/);
    expect(readFileSync(bin).subarray(0, 8).toString('latin1')).toBe('VMSTRACE');
    const a = JSON.parse((await run('replay', trace, '--json')).out);
    const b = JSON.parse((await run('replay', bin, '--json')).out);
    expect(b.trace.format).toBe('binary');
    expect({ ...b, trace: 0, timeMs: 0, nsPerAccess: 0 }).toEqual({ ...a, trace: 0, timeMs: 0, nsPerAccess: 0 });
  });

  it('sweep gives one row per configuration in order, and plots an SVG', async () => {
    const svg = join(dir, 'miss.svg');
    const r = await run('sweep', trace, '--tlb-entries', '1,2,4', '--tlb-ways', '1,2', '--json', '--jobs', '1', '--plot', svg);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out);
    expect(rows.map((x: { config: { tlb: { entries: number; ways: number } } }) => [x.config.tlb.entries, x.config.tlb.ways])).toEqual([
      [1, 1],
      [2, 1],
      [4, 1],
      [2, 2],
      [4, 2],
    ]);
    // Pages 0x400 0x7ff000 0x600 share set 0 of a direct-mapped 4-entry TLB (5 misses); 2 ways hold them but one (4).
    expect(rows[2].result.tlb.misses).toBe(5);
    // A text trace is converted once for the sweep; the rows still describe it.
    expect(rows[0].result.trace).toMatchObject({ source: trace, format: 'lackey', gzip: false, records: 6, ignoredLines: 1 });
    expect(rows[4].result.tlb.misses).toBe(4);
    const text = readFileSync(svg, 'utf8');
    expect(text.startsWith('<svg')).toBe(true);
    expect(text.match(/<polyline/g)!.length).toBe(2);
    expect(text).toContain('1-way');
  });
});

describe('the installed command (dist)', () => {
  const bin = 'dist/cli/main.js'; // built by npm install (prepare) and by npm test
  it('sweeps with worker threads and gives the same rows as in-process', () => {
    const p = spawnSync(process.execPath, [bin, 'sweep', trace, '--tlb-entries', '1,2,4,8', '--fully-associative', '--csv', '--jobs', '2'], { encoding: 'utf8' });
    expect(p.status).toBe(0);
    const lines = p.stdout.trim().split('\n');
    expect(lines.length).toBe(5);
    const h = lines[0]!.split(',');
    expect(lines.slice(1).map((l) => Number(l.split(',')[h.indexOf('tlb.misses')]))).toEqual([6, 6, 4, 4]); // fully associative: 1 and 2 entries thrash, 4 hold every page
  });

  it('replays the shipped ls trace (the README main command)', () => {
    expect(existsSync('traces/ls.lackey.gz')).toBe(true);
    const p = spawnSync(process.execPath, [bin, 'replay', 'traces/ls.lackey.gz', '--json'], { encoding: 'utf8' });
    expect(p.status).toBe(0);
    const j = JSON.parse(p.stdout);
    expect(j.trace).toMatchObject({ format: 'lackey', gzip: true, records: 773849 });
    expect(j.byKind).toEqual({ instructions: 570229, loads: 141695, stores: 59597, modifies: 2328 });
    expect(j.faults.segv).toBe(0);
  });

  it("reads the trace from standard input with '-'", () => {
    const p = spawnSync(process.execPath, [bin, 'replay', '-', '--json'], { encoding: 'utf8', input: 'I  00400000,4\n L 7ff000100,8\n' });
    expect(p.status).toBe(0);
    const j = JSON.parse(p.stdout);
    expect(j.trace.source).toBe('<stream>');
    expect([j.accesses, j.tlb.misses, j.pagesTouched]).toEqual([2, 2, 2]);
  });

  it('exits 2 without a command', () => {
    const p = spawnSync(process.execPath, [bin], { encoding: 'utf8' });
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(/usage: vmsim COMMAND/);
  });
});

describe('replay options that changed', () => {
  it('--series works with the one default TLB: its miss rate per window, adding up to the totals', async () => {
    const csv = join(dir, 'series.csv');
    const png = join(dir, 'series.png');
    const r = await run('replay', 'traces/ls.lackey.gz', '--series', '100000', '--series-csv', csv, '--series-plot', png, '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    const rows = readFileSync(csv, 'utf8').trim().split('\n').map((l) => l.split(','));
    expect(rows[0]).toEqual(['accesses', 'tlbMissRate', 'missesPerAccess']);
    expect(j.series.points.length).toBe(Math.ceil(j.accesses / 100000));
    // Misses per window (rate x window length) add up to the replay's misses.
    let prev = 0;
    let misses = 0;
    for (const p of j.series.points) {
      misses += p.missesPerAccess * (p.accesses - prev);
      prev = p.accesses;
    }
    expect(Math.round(misses)).toBe(j.tlb.misses);
    expect([...readFileSync(png).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  });

  it('--swap-file never shrinks an existing swap file: a smaller --swap is refused before the replay', async () => {
    const file = join(dir, 'swapfile');
    const first = await run('replay', trace, '--frames', '2', '--swap', '64KiB', '--swap-file', file);
    expect(first.code, first.err).toBe(0);
    const smaller = await run('replay', trace, '--frames', '2', '--swap', '32KiB', '--swap-file', file);
    expect(smaller.code).toBe(2);
    expect(smaller.err).toBe(`vmsim replay: --swap-file ${file} is an existing 64.0 KiB swap file and --swap 32KiB would shrink it; give --swap 64KiB (or more), another --swap-file, or remove the file first\n`);
    expect(readFileSync(file).length).toBe(65536);
    expect((await run('replay', trace, '--frames', '2', '--swap', '64KiB', '--swap-file', file)).code).toBe(0);
  });
});
