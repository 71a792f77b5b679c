/** `vmsim sweep TRACE`: one trace under many TLB configurations, on every core; a table, JSON, CSV and a chart. */
import { combinations, type SweepConfig, type SweepRow } from '../../replay/sweep.js';
import { barChartSvg, flattenObject, formatCount, formatRate, formatTable, lineChartSvg, toCsv, writeChart } from '../../report/index.js';
import { badValue, formatOptions, parseCommand, typed, UsageError, type OptionSpec, type ParsedArgs } from '../args.js';
import type { CommandIo } from '../io.js';
import { shippedTracePath } from '../../package-info.js';
import { curveCommand } from './curve.js';
import { ARRAY_FLAGS, GROUP, machineSpecs, replayOptionsFrom, windowSpecs } from '../replay-args.js';
import { flatResult } from '../result-csv.js';
import { didYouMean } from '../suggest.js';
import { checkedPlot, plotSpec, traceName } from '../plot-args.js';
import { SOURCE_SPECS, sweepRows, type OutputRow } from '../sweep-rows.js';
import { checkFrom, FROM_SPEC, reportEmptiedTlbs } from '../snapshot-args.js';

/** What --plot-level may name: every array, the levels, 'all'. */
const PLOT_LEVELS = ['all', 'tlb', 'l1i', 'l1d', 'stlb', 'l2i', ...ARRAY_FLAGS.map(([flag]) => flag)].filter((v, i, l) => l.indexOf(v) === i);

const SPECS: OptionSpec[] = [
  ...machineSpecs(true),
  ...windowSpecs(),
  { name: 'fully-associative', type: 'flag', group: GROUP.tlb, help: 'every TLB size fully associative (ways = entries; replaces --tlb-ways)' },
  FROM_SPEC,
  { name: 'jobs', type: 'int', min: 1, value: 'N', group: GROUP.memory, help: 'worker threads', default: 'all cores' },
  ...SOURCE_SPECS,
  plotSpec('plot', 'draw the miss rate against the swept value (a line per combination of the other swept options; bars when the swept values are names, e.g. --cpu)', GROUP.output),
  { name: 'plot-level', type: 'string', value: 'NAME', group: GROUP.output, help: `the array or level whose miss rate is plotted and tabled (${PLOT_LEVELS.join(', ')})`, default: 'the swept array, else all levels; across presets, each level' },
  { name: 'log', type: 'flag', group: GROUP.output, help: 'with --plot: a logarithmic miss-rate axis' },
  { name: 'json', type: 'flag', group: GROUP.output, help: 'print the rows as JSON' },
  { name: 'csv', type: 'flag', group: GROUP.output, help: 'print the rows as CSV' },
  { name: 'help', type: 'flag', help: 'show this help' },
];

export const SWEEP_HELP = `usage: vmsim sweep TRACE... [--OPTION V1,V2,...]... [options]
       vmsim sweep TRACE --frames N,N,... [--policy ...]     (the fault-rate curve: vmsim curve)

Replays TRACE once per configuration — every combination of the listed values of any
size, associativity, replacement policy (--l1d-policy lru,fifo), preset (--cpu) or page size
(--page-size 4k,2m) — using worker threads on every core, and prints one row per
configuration. Combinations that cannot exist (ways that do not divide the entries, plru
with a number of ways that is not a power of two) are left out, and the command says so.
With no list given, --tlb-entries sweeps 16..1024. A text, compressed or streamed TRACE
('-' is standard input) is first read once into a temporary binary copy (8 bytes per
access, in $TMPDIR), which the workers share; it is removed at the end. With several TRACEs
the rows are those of each trace in turn. --queue runs the rows on vmsim workers elsewhere,
--emit slurm on a SLURM cluster (docs/queue.md).

options:
${formatOptions(SPECS)}

examples:
  vmsim sweep ${shippedTracePath()} --tlb-entries 8,16,32,64,128,256 --tlb-ways 1,4,8 --plot miss.png
  vmsim sweep trace.bin --cpu skylake --l1d-entries 16,32,64,128 --plot l1d.svg
  vmsim sweep trace.bin --cpu skylake,golden-cove,zen3,zen4,champsim,virtuoso --plot cpus.png --log
  vmsim sweep /shared/a.bin /shared/b.bin --tlb-entries 16,64,256 --queue redis://head:6379/study --csv
  vmsim sweep rest.bin --cpu skylake --stlb-entries 512,1536,4096 --from warm.vmsnap`;

/** A swept option: its name and values (numbers, or names for --cpu, --page-size and the policies). */
interface Axis {
  name: string;
  values: Array<number | string>;
}

/** The swept options, in the order of the specs (a list of one value is that value). */
function axesOf(a: ParsedArgs): Axis[] {
  const axes: Axis[] = [];
  for (const s of SPECS) {
    const v = a.options.get(s.name);
    if (s.type === 'list' && Array.isArray(v) && v.length > 1) axes.push({ name: s.name, values: [...new Set(v)] });
    if (s.type === 'names' && typeof v === 'string') {
      const list = [...new Set(v.split(','))];
      if (list.length > 1) axes.push({ name: s.name, values: list });
      else a.options.set(s.name, list[0]!);
    }
  }
  return axes;
}

/** Why a combination cannot exist, or undefined: ways that do not divide the entries, plru with ways not a power of two. */
function impossible(pick: Record<string, number | string>, a: ParsedArgs, command: string): string | undefined {
  const single = (k: string) => {
    const v = a.options.get(k);
    return Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : (v as number | string | undefined);
  };
  for (const s of SPECS) {
    if (!s.name.endsWith('-ways')) continue;
    const pre = s.name.slice(0, -5);
    const ent = (pick[`${pre}-entries`] ?? single(`${pre}-entries`)) as number | undefined;
    const w = (pick[s.name] ?? single(s.name)) as number | undefined;
    if (ent !== undefined && w !== undefined && (w > ent || ent % w !== 0)) return 'the ways must divide the entries';
  }
  try {
    replayOptionsFrom(a, command, pick);
  } catch (e) {
    // The ways a policy cannot work with (a preset's 12-way STLB under plru): left out as the above are.
    if (e instanceof UsageError && /power-of-two/.test(e.message)) {
      // Named with this combination's values, not the lists typed.
      let m = e.message.replace(/^sweep: /, '');
      for (const [k, v] of Object.entries(pick)) if (a.raw.has(k)) m = m.replace(typed(k, a.raw.get(k)!), typed(k, String(v)));
      return m;
    }
    throw e;
  }
  return undefined;
}

/** Runs `vmsim sweep` (or, with `gatherDir`, prints the rows of that SLURM sweep: vmsim gather); returns the exit code. */
export async function sweepCommand(argv: string[], io: CommandIo, gatherDir?: string): Promise<number> {
  // A sweep over resident limits (--frames) is the fault-rate curve: vmsim curve.
  if (argv.some((x) => x === '--frames' || x.startsWith('--frames='))) return curveCommand(argv, io);
  const a = parseCommand(argv, SPECS, 'sweep', SWEEP_HELP, io.stdout, { count: 1, what: 'a TRACE file', orMore: true });
  if (!a) return 0;
  checkFrom(a, 'sweep');
  const traces = a.positional;
  const trace = traces[0]!;
  const plot = checkedPlot(a, 'plot', 'sweep');
  if (plot !== undefined && traces.length > 1) throw new UsageError('sweep: --plot draws one trace; give one TRACE (or plot each sweep apart)');
  if (a.options.has('log') && plot === undefined) throw new UsageError('sweep: --log needs --plot FILE');
  const plotLevel = a.options.get('plot-level') as string | undefined;
  if (plotLevel !== undefined && !PLOT_LEVELS.includes(plotLevel)) throw badValue('sweep', 'plot-level', plotLevel, `no such TLB array or level (${PLOT_LEVELS.join(', ')})${didYouMean(plotLevel, PLOT_LEVELS)}`);
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
  const picks: Array<Record<string, number | string>> = [];
  const leftOut = new Map<string, number>();
  for (const combo of combinations(Object.fromEntries(axes.map((x) => [x.name, x.values])))) {
    const pick: Record<string, number | string> = { ...combo };
    if (full) pick['tlb-ways'] = (pick['tlb-entries'] ?? (a.options.get('tlb-entries') as number[] | undefined)?.[0] ?? 64) as number;
    const why = impossible(pick, a, 'sweep');
    if (why === undefined) picks.push(pick);
    else leftOut.set(why, (leftOut.get(why) ?? 0) + 1);
  }
  if (picks.length === 0) throw new UsageError(`sweep: no valid combination: ${[...leftOut.keys()].join('; ')}`);
  for (const [why, n] of leftOut) io.stderr.write(`vmsim sweep: left out ${n} combination${n === 1 ? '' : 's'} that cannot exist (${why})\n`);
  const configs: SweepConfig[] = picks.map((p) => replayOptionsFrom(a, 'sweep', p));
  const level = plotLevel ?? levelOfAxis(xAxis.name);
  const rows = await sweepRows(traces, configs, argv, a, io, gatherDir);
  if (rows === undefined) return 0;
  reportEmptiedTlbs(rows.map((r) => r.result), 'sweep', io);
  for (const r of rows) if (r.result && level !== 'all' && !levelRate(r, level)) throw badValue('sweep', 'plot-level', level, `no such TLB array or level in the results (${r.result.tlb.levels.map((l) => l.name).join(', ')}, or all)`);
  // A row that failed (on a queue's worker) has no point to draw: the chart shows the others.
  if (plot !== undefined) writeChart(plot, sweepChart(rows.map((r) => (r.result ? r : undefined)), picks, axes, xAxis, level, plotLevel !== undefined, a, trace, full));
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

/** A swept option as an axis title: 'l1d-entries' → 'L1 data TLB entries (--l1d-entries)'. */
function axisTitle(name: string): string {
  const m = /^(.*)-(entries|ways|policy)$/.exec(name);
  const what = m ? `${m[1] === 'tlb' ? 'TLB' : levelTitle(m[1]!)} ${m[2] === 'policy' ? 'replacement policy' : m[2]}` : name === 'cpu' ? 'CPU preset' : name === 'page-size' ? 'page size' : name;
  return `${what} (--${name})`;
}

/** What a level is, for axis titles: 'l1d' → 'L1 data TLB'. */
function levelTitle(name: string): string {
  const known: Record<string, string> = { tlb: 'TLB', 'all levels': 'TLB (all levels)', l1i: 'L1 instruction TLB', l1d: 'L1 data TLB', stlb: 'second-level TLB', l2i: 'L2 instruction TLB' };
  const arrays: Record<string, string> = { 'l1i-2m': 'L1 instruction TLB (2M)', 'l1d-2m': 'L1 data TLB (2M)', 'l1d-1g': 'L1 data TLB (1G)', 'stlb-1g': 'second-level TLB (1G)' };
  return known[name] ?? arrays[name] ?? (name.startsWith('pwc-') ? `${name.slice(4).toUpperCase()} walk cache` : `${name} TLB array`);
}

/**
 * The chart: the plotted level's miss rate (% of its lookups) against the swept value — lines
 * for numbers, grouped bars for names (presets, policies, page sizes) — one series per
 * combination of the other swept options. Across presets alone, one bar per level.
 */
function sweepChart(rows: Array<SweepRow | undefined>, picks: Array<Record<string, number | string>>, axes: Axis[], x: Axis, level: string, levelGiven: boolean, a: ParsedArgs, trace: string, full: boolean): string {
  const others = axes.filter((o) => o !== x);
  const rate = (h: { hits: number; misses: number }) => (h.hits + h.misses > 0 ? h.misses / (h.hits + h.misses) : 0);
  const log = a.options.has('log');
  const value = (o: Axis, p: Record<string, number | string>) => (o.name.endsWith('-ways') ? (full ? 'fully associative' : `${p[o.name]}-way`) : String(p[o.name]));
  const fixed = [...a.raw].filter(([k]) => !axes.some((o) => o.name === k) && !['plot', 'plot-level', 'jobs', 'backend', 'json', 'csv', 'log', 'memory'].includes(k)).map(([k, v]) => `--${k} ${v}`);
  const first = rows.find((r) => r !== undefined)!;
  const records = first.result.accesses;
  const subtitle = [...fixed, ...(full ? ['fully associative'] : []), `${formatCount(records)} accesses`].join('; ');
  const levelName = levelRate(first, level)?.name ?? level;
  const yLabel = (name: string) => `${name} miss rate (% of its lookups${log ? ', log scale' : ''})`;
  const y = { label: yLabel(levelTitle(levelName)), format: 'percent' as const, ...(log ? { scale: 'log10' as const } : {}) };
  const keep = (v: number) => (log && v <= 0 ? undefined : v);
  if (typeof x.values[0] !== 'number') {
    const categories = x.values.map(String);
    const at = (i: number) => categories.indexOf(String(picks[i]![x.name]));
    // Across presets or page sizes alone: one bar per level of the hierarchy, unless a level was asked for.
    if (others.length === 0 && !levelGiven && level === 'all' && rows.every((r) => r === undefined || r.result.tlb.hierarchy)) {
      const levels = (['l1i', 'l1d', 'stlb', 'l2i'] as const).filter((l) => rows.some((r) => r?.result.tlb.hierarchy![l].present));
      return barChartSvg({
        title: `TLB miss rates by ${axisTitle(x.name).replace(/ \(--.*/, '')} — ${traceName(trace)}`,
        subtitle,
        categories,
        xLabel: axisTitle(x.name),
        y: { ...y, label: `miss rate (% of the level's lookups${log ? ', log scale' : ''})` },
        series: levels.map((l) => ({ name: levelTitle(l), values: categories.map((_, c) => { const i = picks.findIndex((_p, k) => at(k) === c); const h = rows[i]?.result.tlb.hierarchy![l]; return h?.present ? keep(rate(h)) : undefined; }) })),
        legendTitle: 'level',
      });
    }
    const names = [...new Set(picks.map((p) => others.map((o) => value(o, p)).join(', ')))];
    return barChartSvg({
      title: `${levelTitle(levelName)} miss rate by ${axisTitle(x.name).replace(/ \(--.*/, '')} — ${traceName(trace)}`,
      subtitle,
      categories,
      xLabel: axisTitle(x.name),
      y,
      series: (names.length ? names : ['miss rate']).map((n) => ({
        name: n,
        values: categories.map((_, c) => {
          const i = picks.findIndex((p, k) => at(k) === c && others.map((o) => value(o, p)).join(', ') === (names.length ? n : ''));
          const r = rows[i];
          return i < 0 || r === undefined ? undefined : keep(rate(levelRate(r, level)!));
        }),
      })),
      ...(others.length ? { legendTitle: others.map((o) => `--${o.name}`).join(', ') } : {}),
    });
  }
  const series = new Map<string, Array<{ x: number; y: number }>>();
  rows.forEach((r, i) => {
    if (r === undefined) return;
    const p = picks[i]!;
    const name = others.length ? others.map((o) => value(o, p)).join(', ') : full ? 'fully associative' : levelTitle(levelName);
    const v = keep(rate(levelRate(r, level)!));
    if (!series.has(name)) series.set(name, []);
    if (v !== undefined) series.get(name)!.push({ x: p[x.name] as number, y: v });
  });
  const xs = [...new Set(x.values as number[])].sort((p, q) => p - q);
  const pow2 = xs.length > 1 && xs.every((v) => v > 0 && 2 ** Math.round(Math.log2(v)) === v);
  return lineChartSvg({
    title: `${levelTitle(levelName)} miss rate — ${traceName(trace)}`,
    subtitle,
    x: { label: axisTitle(x.name), scale: pow2 ? 'log2' : 'linear', format: 'size', ticks: xs },
    y,
    series: [...series].map(([name, points]) => ({ name, points: points.sort((p, q) => p.x - q.x) })),
    ...(others.length ? { legendTitle: others.map((o) => `--${o.name}`).join(', ') } : {}),
  });
}
