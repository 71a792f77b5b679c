/** The TLB hierarchy on the command line: presets, per-array flags, CSV columns per level, the time series, sweeps over any array parameter or preset. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileTempDir } from './support/temp-dir.js';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

/** CSV rows (these results have no commas or quotes inside a field). */
function parseCsv(text: string): string[][] {
  return text.trim().split('\n').map((line) => line.split(','));
}

const dir = fileTempDir('cli-h');
const LS = 'traces/ls.lackey.gz';

describe('vmsim replay with a TLB hierarchy', () => {
  it('--cpu skylake prints one row per array, the level totals with MPKI, walks by level and the cost', async () => {
    const r = await run('replay', LS, '--cpu', 'skylake');
    expect(r.code).toBe(0);
    for (const name of ['l1i', 'l1i-2m', 'l1d', 'l1d-2m', 'l1d-1g', 'stlb', 'stlb-1g', 'pwc-pml4e', 'pwc-pdpte', 'pwc-pde']) expect(r.out).toMatch(new RegExp(`^${name}\\s`, 'm'));
    expect(r.out).toMatch(/^stlb\s+1536\s+12-way\s+4k\+2m\s+lru/m);
    expect(r.out).toMatch(/MPKI/);
    expect(r.out).toMatch(/PML4E [\d,]+, PDPTE [\d,]+, PDE [\d,]+, PTE [\d,]+/);
    expect(r.out).toMatch(/translation cost: [\d,]+ cycles/);
    // Real rates below 1% are printed with three significant digits, never 0.00%.
    expect(r.out).toMatch(/^l1i\s.*\s0\.0\d{3}%$/m);
  });

  it('a preset is overridden field by field; --json keeps accesses, tlb.hits, tlb.misses, walks and names every level', async () => {
    const r = await run('replay', LS, '--cpu', 'champsim', '--l1d-entries', '128', '--stlb-policy', 'fifo', '--json');
    const j = JSON.parse(r.out);
    const l1d = j.tlb.levels.find((l: { name: string }) => l.name === 'l1d');
    expect(l1d).toMatchObject({ entries: 128, ways: 4, policy: 'lru' });
    expect(j.tlb.levels.find((l: { name: string }) => l.name === 'stlb')).toMatchObject({ entries: 1536, ways: 12, policy: 'fifo' });
    expect(j.tlb.hits + j.tlb.misses).toBe(j.tlb.lookups);
    expect(j.walks).toBeGreaterThanOrEqual(j.tlb.misses);
    expect(typeof j.accesses).toBe('number');
  });

  it('--csv columns are named by level (tlb.levels.l1d.misses), the same whatever else is configured', async () => {
    const a = parseCsv((await run('replay', LS, '--cpu', 'skylake', '--csv')).out);
    const b = parseCsv((await run('replay', LS, '--l1d-entries', '64', '--csv')).out);
    for (const t of [a, b]) for (const c of ['tlb.levels.l1d.hits', 'tlb.levels.l1d.misses', 'tlb.levels.l1d.missRate', 'tlb.levels.stlb.misses', 'accesses', 'walks']) expect(t[0]).toContain(c);
    expect(a[0]).toContain('tlb.levels.pwc-pde.hits');
    expect(a[0]).toContain('tlb.hierarchy.mpki.l1d');
  });

  it('--series writes the miss rates per window as CSV and a chart of a panel per level', async () => {
    const csv = join(dir, 's.csv');
    const svg = join(dir, 's.svg');
    const r = await run('replay', LS, '--cpu', 'zen3', '--series', '100000', '--series-csv', csv, '--series-plot', svg, '--json');
    const j = JSON.parse(r.out);
    const rows = parseCsv(readFileSync(csv, 'utf8'));
    expect(rows[0]).toEqual(['accesses', 'l1iMissRate', 'l1dMissRate', 'stlbMissRate', 'missesPerAccess']);
    expect(rows.length - 1).toBe(Math.ceil(j.accesses / 100000));
    expect(Number(rows[1]![0])).toBe(100000);
    expect(j.series.points.length).toBe(rows.length - 1);
    const text = readFileSync(svg, 'utf8');
    expect(text).toContain('each point: the 100,000 accesses up to it');
    for (const panel of ['L1 instruction TLB', 'L1 data TLB', 'second-level TLB and L2 instruction TLB', 'per 1,000 accesses']) expect(text).toContain(`>${panel}</text>`);
  });
});

describe('vmsim sweep over the hierarchy', () => {
  it('--l1d-entries with a preset: one row per value, the chart names the L1D and shows every swept value', async () => {
    const svg = join(dir, 'l1d.svg');
    const r = await run('sweep', LS, '--cpu', 'skylake', '--l1d-entries', '16,32,48,64', '--jobs', '1', '--plot', svg);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/l1d-entries\s+l1d hits\s+l1d misses\s+l1d miss rate/);
    const text = readFileSync(svg, 'utf8');
    expect(text).toContain('L1 data TLB miss rate (% of its lookups)');
    expect(text).toContain('L1 data TLB entries (--l1d-entries)');
    for (const v of ['16', '32', '48', '64']) expect(text).toContain(`>${v}</text>`);
  });

  it('--cpu over every preset with --log: the x axis names the presets, the y axis is logarithmic', async () => {
    const svg = join(dir, 'cpus.svg');
    const r = await run('sweep', LS, '--cpu', 'skylake,zen4,champsim', '--jobs', '1', '--plot', svg, '--log', '--csv');
    expect(r.code).toBe(0);
    const rows = parseCsv(r.out);
    expect(rows.length).toBe(4);
    expect(rows[0]).toContain('tlb.levels.stlb.misses');
    const text = readFileSync(svg, 'utf8');
    for (const n of ['skylake', 'zen4', 'champsim']) expect(text).toContain(`>${n}</text>`);
    expect(text).toContain('miss rate (% of the level&apos;s lookups, log scale)');
    // Names on the x axis are bars, one per level of each preset (zen4's L2 ITLB is the only one of its kind here).
    for (const level of ['L1 instruction TLB', 'L1 data TLB', 'second-level TLB', 'L2 instruction TLB']) expect(text).toContain(`>${level}</text>`);
    expect(text).not.toContain('<polyline');
  });

  it('a policy list is an axis: one row per policy, the chart names each on the x axis', async () => {
    const svg = join(dir, 'pol.svg');
    const r = await run('sweep', LS, '--cpu', 'champsim', '--stlb-entries', '64', '--stlb-policy', 'lru,plru,fifo,random', '--stlb-ways', '4', '--jobs', '1', '--plot', svg, '--json');
    const rows = JSON.parse(r.out);
    expect(rows.map((x: { config: { tlb: { stlb: { policy: string } } } }) => x.config.tlb.stlb.policy)).toEqual(['lru', 'plru', 'fifo', 'random']);
    expect(rows.map((x: { result: { tlb: { levels: Array<{ name: string; policy: string }> } } }) => x.result.tlb.levels.find((l) => l.name === 'stlb')!.policy)).toEqual(['lru', 'plru', 'fifo', 'random']);
    const text = readFileSync(svg, 'utf8');
    for (const p of ['lru', 'plru', 'fifo', 'random']) expect(text).toContain(`>${p}</text>`);
    expect(text).toContain('second-level TLB miss rate (% of its lookups)');
    expect((await run('sweep', LS, '--stlb-entries', '64', '--stlb-policy', 'lru,mru')).err).toMatch(/--stlb-policy lru,mru: "mru" is not one of lru, plru, fifo, random; did you mean lru\?/);
  });

  it('--pwc-pde-entries and --page-size lists are axes too; an unknown --plot-level is a clear error', async () => {
    const r = await run('sweep', LS, '--l1d-entries', '64', '--pwc-pde-entries', '4,16', '--page-size', '4k,2m', '--jobs', '1', '--json');
    const rows = JSON.parse(r.out);
    expect(rows.map((x: { config: { pageSize: string; tlb: { pwc: { pd: { entries: number } } } } }) => [x.config.pageSize, x.config.tlb.pwc.pd.entries])).toEqual([
      ['4k', 4],
      ['4k', 16],
      ['2m', 4],
      ['2m', 16],
    ]);
    const bad = await run('sweep', LS, '--l1d-entries', '16,32', '--plot-level', 'l3', '--jobs', '1');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--plot-level l3: no such TLB array/);
  });
});
