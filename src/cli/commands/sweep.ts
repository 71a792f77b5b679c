/** `vmsim sweep TRACE`: one trace under many TLB configurations, on every core; a table, JSON, CSV and an SVG chart. */
import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { combinations, type SweepConfig, type SweepRow } from '../../replay/sweep.js';
import { flattenObject, formatCount, formatRate, formatTable, lineChartSvg, svgToPng, toCsv } from '../../report/index.js';
import { formatOptions, parseCommand, UsageError, type OptionSpec, type ParsedArgs } from '../args.js';
import type { CommandIo } from '../io.js';
import { shippedTracePath } from '../../package-info.js';
import { curveCommand } from './curve.js';
import { machineSpecs, replayOptionsFrom } from '../replay-args.js';
import { flatResult } from '../result-csv.js';
import { CPU_NAMES } from '../../tlb/presets.js';
import { POLICY_NAMES } from '../../tlb/layout.js';
import { SOURCE_SPECS, sweepRows, type OutputRow } from '../sweep-rows.js';

const SPECS: OptionSpec[] = [
  ...machineSpecs(true),
  { name: 'fully-associative', type: 'flag', help: 'every TLB size fully associative (ways = entries; replaces --tlb-ways)' },
  { name: 'jobs', type: 'int', min: 1, value: 'N', help: 'worker threads', default: 'all cores' },
  ...SOURCE_SPECS,
  { name: 'plot', type: 'string', value: 'FILE.svg|FILE.png', help: 'draw the miss rate against the swept value (one line per other combination), as SVG or PNG by the name' },
  { name: 'plot-level', type: 'string', value: 'NAME', help: "the array (l1d, stlb, pwc-pde, ...), level (l1i, l1d, stlb, l2i) or 'all' whose miss rate is plotted", default: 'the swept array, else all levels' },
  { name: 'log', type: 'flag', help: 'logarithmic miss-rate axis' },
  { name: 'json', type: 'flag', help: 'print the rows as JSON' },
  { name: 'csv', type: 'flag', help: 'print the rows as CSV' },
  { name: 'help', type: 'flag', help: 'show this help' },
];

export const SWEEP_HELP = `usage: vmsim sweep TRACE... [--OPTION V1,V2,...]... [options]

Replays TRACE once per configuration — every combination of the listed values of any
size, associativity, replacement policy (--l1d-policy lru,fifo), preset (--cpu) or page size
(--page-size 4k,2m) — using worker threads
on every core, and prints one row per configuration. Combinations where an array's ways do
not divide its entries are left out. With no list given, --tlb-entries sweeps 16..1024.
A text, compressed or streamed TRACE ('-' is standard input) is first read once into a
temporary binary copy (8 bytes per access, in $TMPDIR), which the workers share; it is
removed at the end. With several TRACEs the rows are those of each trace in turn. --queue
runs the rows on vmsim workers elsewhere, --emit slurm on a SLURM cluster (docs/queue.md).

options:
${formatOptions(SPECS)}

examples:
  vmsim sweep ${shippedTracePath()} --tlb-entries 8,16,32,64,128,256 --tlb-ways 1,4,8 --plot miss.svg
  vmsim sweep trace.bin --cpu skylake --l1d-entries 16,32,64,128 --plot l1d.svg
  vmsim sweep trace.bin --cpu skylake,golden-cove,zen3,zen4,champsim,virtuoso --plot cpus.svg --log
  vmsim sweep /shared/a.bin /shared/b.bin --tlb-entries 16,64,256 --queue redis://head:6379/study --csv`;

/** A swept option: its name and values (numbers, or names for --cpu, --page-size and the policies). */
interface Axis {
  name: string;
  values: Array<number | string>;
}

/** The swept options, in the order of the specs. */
function axesOf(a: ParsedArgs): Axis[] {
  const axes: Axis[] = [];
  for (const s of SPECS) {
    const v = a.options.get(s.name);
    if (s.type === 'list' && Array.isArray(v) && v.length > 1) axes.push({ name: s.name, values: v });
  }
  const named: Array<readonly [string, readonly string[]]> = [['cpu', CPU_NAMES], ['page-size', ['4k', '2m']], ...SPECS.filter((sp) => sp.name.endsWith('-policy')).map((sp) => [sp.name, POLICY_NAMES] as const)];
  for (const [name, allowed] of named) {
    const v = a.options.get(name) as string | undefined;
    if (v === undefined) continue;
    const list = v.split(',').map((x) => x.trim()).filter((x) => x !== '');
    for (const x of list) if (!(allowed as readonly string[]).includes(x)) throw new UsageError(`sweep: --${name} must be one of ${allowed.join(', ')}; got ${JSON.stringify(x)}`);
    if (list.length > 1) axes.push({ name, values: list });
    else a.options.set(name, list[0]!);
  }
  return axes;
}

/** Runs `vmsim sweep` (or, with `gatherDir`, prints the rows of that SLURM sweep: vmsim gather); returns the exit code. */
export async function sweepCommand(argv: string[], io: CommandIo, gatherDir?: string): Promise<number> {
  // A sweep over resident limits (--frames) is the fault-rate curve: vmsim curve.
  if (argv.some((x) => x === '--frames' || x.startsWith('--frames='))) return curveCommand(argv, io);
  // A sweep over resident limits (--frames) is the fault-rate curve: vmsim curve.
  if (argv.some((x) => x === '--frames' || x.startsWith('--frames='))) return curveCommand(argv, io);
  const a = parseCommand(argv, SPECS, 'sweep', SWEEP_HELP, io.stdout, { count: 1, what: 'a TRACE file', orMore: true });
  if (!a) return 0;
  const traces = a.positional;
  const trace = traces[0]!;
  const plot = a.options.get('plot') as string | undefined;
  if (plot !== undefined && traces.length > 1) throw new UsageError('sweep: --plot draws one trace; give one TRACE (or plot each sweep apart)');
  if (plot !== undefined) checkPlotPath(plot);
  const full = a.options.has('fully-associative');
  if (full && a.options.has('tlb-ways')) throw new UsageError('sweep: --fully-associative replaces --tlb-ways; give one of them');
  let axes = axesOf(a);
  if (axes.length === 0) {
    const e = a.options.get('tlb-entries') as number[] | undefined;
    axes = [{ name: 'tlb-entries', values: e ?? [16, 32, 64, 128, 256, 512, 1024] }];
  }
  // The plotted axis varies fastest (last), the others make the lines.
  const xAxis = axes.find((x) => typeof x.values[0] === 'number') ?? axes[0]!;
  axes = [...axes.filter((x) => x !== xAxis), xAxis];
  const axisObj = Object.fromEntries(axes.map((x) => [x.name, x.values]));
  const single = (k: string) => {
    const v = a.options.get(k);
    return Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : (v as number | undefined);
  };
  const picks: Array<Record<string, number | string>> = [];
  for (const combo of combinations(axisObj)) {
    const pick: Record<string, number | string> = { ...combo };
    if (full) pick['tlb-ways'] = (pick['tlb-entries'] ?? (a.options.get('tlb-entries') as number[] | undefined)?.[0] ?? 64) as number;
    // Left out: an array whose swept ways do not divide its (swept or given) entries.
    const bad = SPECS.some(({ name: k }) => {
      if (!k.endsWith('-ways')) return false;
      const pre = k.slice(0, -5);
      const ent = (pick[`${pre}-entries`] ?? single(`${pre}-entries`)) as number | undefined;
      const w = (pick[k] ?? single(k)) as number | undefined;
      return ent !== undefined && w !== undefined && (w < 1 || w > ent || ent % w !== 0);
    });
    if (!bad) picks.push(pick);
  }
  if (picks.length === 0) throw new UsageError('sweep: no valid combination: the ways must divide the entries');
  const configs: SweepConfig[] = picks.map((p) => replayOptionsFrom(a, 'sweep', p));
  const plotLevel = a.options.get('plot-level') as string | undefined;
  const level = plotLevel ?? levelOfAxis(xAxis.name);
  const rows = await sweepRows(traces, configs, argv, a, io, gatherDir);
  if (rows === undefined) return 0;
  for (const r of rows) if (r.result && level !== 'all' && !levelRate(r, level)) throw new UsageError(`sweep: --plot-level ${level}: no such TLB array or level in the results (${r.result.tlb.levels.map((l) => l.name).join(', ')}, or all)`);
  if (plot !== undefined) {
    const svg = plotRows(rows, picks, axes, xAxis, level, trace, a.options.has('log'), full);
    writeFileSync(plot, extname(plot).toLowerCase() === '.png' ? svgToPng(svg) : svg);
  }
  if (a.options.has('json')) io.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  else if (a.options.has('csv')) {
    const flat = rows.map((r) => (r.result ? flatResult(r.result, { config: r.config }) : flattenObject({ config: r.config, trace: { source: r.trace }, error: r.error })));
    const header = [...new Set(flat.flatMap((f) => Object.keys(f)))];
    io.stdout.write(toCsv(header, flat.map((f) => header.map((h) => f[h] ?? null))));
  } else {
    const many = traces.length > 1;
    const table = rows.map((r, i) => {
      const lead = [...(many ? [traces[Math.floor(i / picks.length)]!] : []), ...axes.map((x) => String(picks[i % picks.length]![x.name]))];
      if (!r.result) return [...lead, 'failed', '', '', '', ''];
      const lr = levelRate(r, level)!;
      return [...lead, formatCount(lr.hits), formatCount(lr.misses), formatRate(lr.misses, lr.hits + lr.misses), formatRate(r.result.tlb.misses, r.result.tlb.lookups), formatCount(r.result.walks)];
    });
    io.stdout.write(
      formatTable(table, {
        header: [...(many ? ['trace'] : []), ...axes.map((x) => x.name), `${level} hits`, `${level} misses`, `${level} miss rate`, 'all-level miss rate', 'walks'],
        align: [...(many ? ['left' as const] : []), ...axes.map(() => 'right' as const), 'right', 'right', 'right', 'right', 'right'],
      }),
    );
    if (plot !== undefined) io.stdout.write(`chart written to ${plot}\n`);
  }
  return reportFailures(rows, io);
}

/** Failed rows (from a queue or a cluster) go to stderr, one line each; the exit code is then 1. */
function reportFailures(rows: OutputRow[], io: CommandIo): number {
  const failed = rows.flatMap((r, i) => (r.result ? [] : [`  row ${i} (${r.trace}, ${JSON.stringify(r.config)}): ${r.error}`]));
  if (failed.length === 0) return 0;
  io.stderr.write(`vmsim sweep: ${failed.length} of ${rows.length} rows failed (the others are above):\n${failed.join('\n')}\n`);
  return 1;
}

/** The level a swept option belongs to: --l1d-entries → l1d, --pwc-pde-ways → pwc-pde, --tlb-* → the last TLB array. */
function levelOfAxis(name: string): string {
  const m = /^(l1i-2m|l1i|l1d-2m|l1d-1g|l1d|stlb-1g|stlb|l2i|pwc-pml4e|pwc-pdpte|pwc-pde)-(entries|ways|policy)$/.exec(name);
  if (m) return m[1]!;
  if (name.startsWith('tlb-')) return 'last';
  return 'all';
}

/** Before any replay runs: the chart's format follows its name (.svg or .png) and its directory must be writable. */
function checkPlotPath(plot: string): void {
  const ext = extname(plot).toLowerCase();
  if (ext !== '.svg' && ext !== '.png') throw new UsageError(`sweep: --plot ${JSON.stringify(plot)} must end in .svg or .png (the format follows the name)`);
  const dir = dirname(resolve(plot));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`sweep: --plot: directory ${dirname(plot)} does not exist`);
  if (existsSync(plot) && statSync(plot).isDirectory()) throw new UsageError(`sweep: --plot ${plot} is a directory`);
  try {
    accessSync(existsSync(plot) ? plot : dir, constants.W_OK);
  } catch {
    throw new UsageError(`sweep: --plot ${plot} is not writable`);
  }
}

/** Hits and misses of the plotted array or level of one row ('last': the last TLB array, the unified TLB or the second level). */
function levelRate(r: SweepRow, level: string): { hits: number; misses: number; name: string } | undefined {
  const t = r.result.tlb;
  if (level === 'all') return { hits: t.hits, misses: t.misses, name: 'all levels' };
  if (level === 'last') {
    const l = [...t.levels].reverse().find((x) => x.level !== 'pwc')!;
    return { hits: l.hits, misses: l.misses, name: l.name };
  }
  const row = t.levels.find((l) => l.name === level);
  if (row) return { hits: row.hits, misses: row.misses, name: row.name };
  const h = t.hierarchy;
  const lv = h && (level === 'l1i' || level === 'l1d' || level === 'stlb' || level === 'l2i') ? h[level] : undefined;
  return lv ? { hits: lv.hits, misses: lv.misses, name: level } : undefined;
}

/** Miss rate of the plotted level against the x axis, one series per combination of the other axes. */
function plotRows(rows: OutputRow[], picks: Array<Record<string, number | string>>, axes: Axis[], x: Axis, level: string, trace: string, log: boolean, full: boolean): string {
  const numeric = typeof x.values[0] === 'number';
  const others = axes.filter((o) => o !== x);
  const series = new Map<string, Array<{ x: number; y: number }>>();
  let levelName = level;
  rows.forEach((r, i) => {
    if (!r.result) return;
    const p = picks[i]!;
    const name = others.length ? others.map((o) => (o.name.endsWith('-ways') ? (full ? 'fully associative' : `${p[o.name]}-way`) : `${o.name} ${p[o.name]}`)).join(', ') : full ? 'fully associative' : level === 'all' ? 'all levels' : 'miss rate';
    const lr = levelRate(r, level)!;
    levelName = lr.name;
    const y = lr.hits + lr.misses > 0 ? lr.misses / (lr.hits + lr.misses) : 0;
    if (log && y <= 0) return; // no place on a log axis
    if (!series.has(name)) series.set(name, []);
    series.get(name)!.push({ x: numeric ? (p[x.name] as number) : x.values.indexOf(p[x.name]!), y });
  });
  const xs = numeric ? [...new Set(x.values as number[])].sort((p, q) => p - q) : undefined;
  const pow2 = xs !== undefined && xs.every((v) => v > 0 && 2 ** Math.round(Math.log2(v)) === v);
  return lineChartSvg({
    title: `${levelName} miss rate — ${trace.split('/').pop()}`,
    xLabel: x.name,
    yLabel: `${levelName} miss rate${log ? ' (log scale)' : ''}`,
    xLog2: pow2,
    ...(xs ? { xTicks: xs } : { xCategories: x.values.map(String) }),
    yPercent: true,
    yLog10: log,
    series: [...series].map(([name, points]) => ({ name, points: points.sort((p, q) => p.x - q.x) })),
  });
}
