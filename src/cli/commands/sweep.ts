/** `vmsim sweep TRACE`: one trace under many TLB configurations, on every core; a table, JSON, CSV and an SVG chart. */
import { writeFileSync } from 'node:fs';
import { combinations, sweep, type SweepConfig, type SweepRow } from '../../replay/sweep.js';
import { flattenObject, formatCount, formatRate, formatTable, lineChartSvg, ProgressBar, toCsv } from '../../report/index.js';
import { formatOptions, parseCommand, UsageError, type OptionSpec } from '../args.js';
import type { CommandIo } from '../io.js';
import { curveCommand } from './curve.js';
import { machineSpecs, replayOptionsFrom } from '../replay-args.js';

const SPECS: OptionSpec[] = [
  ...machineSpecs(true),
  { name: 'fully-associative', type: 'flag', help: 'every TLB size fully associative (ways = entries; replaces --tlb-ways)' },
  { name: 'jobs', type: 'int', value: 'N', help: 'worker threads', default: 'all cores' },
  { name: 'plot', type: 'string', value: 'FILE.svg', help: 'draw the miss rate against TLB entries (one line per associativity) as SVG' },
  { name: 'json', type: 'flag', help: 'print the rows as JSON' },
  { name: 'csv', type: 'flag', help: 'print the rows as CSV' },
  { name: 'help', type: 'flag', help: 'show this help' },
];

export const SWEEP_HELP = `usage: vmsim sweep TRACE --tlb-entries N[,N...] [options]

Replays TRACE once per TLB configuration — every combination of the listed --tlb-entries
and --tlb-ways — using worker threads on every core, and prints one row per configuration.
Combinations where the ways do not divide the entries are left out.

options:
${formatOptions(SPECS)}

example:
  vmsim sweep traces/ls.lackey.gz --tlb-entries 8,16,32,64,128,256 --tlb-ways 1,4,8 --plot miss.svg`;

/** Runs `vmsim sweep`; returns the exit code. */
export async function sweepCommand(argv: string[], io: CommandIo): Promise<number> {
  // A sweep over resident limits (--frames) is the fault-rate curve: vmsim curve.
  if (argv.some((x) => x === '--frames' || x.startsWith('--frames='))) return curveCommand(argv, io);
  const a = parseCommand(argv, SPECS, 'sweep', SWEEP_HELP, io.stdout, { count: 1, what: 'one TRACE file' });
  if (!a) return 0;
  const trace = a.positional[0]!;
  const entriesList = (a.options.get('tlb-entries') as number[] | undefined) ?? [16, 32, 64, 128, 256, 512, 1024];
  const full = a.options.has('fully-associative');
  if (full && a.options.has('tlb-ways')) throw new UsageError('sweep: --fully-associative replaces --tlb-ways; give one of them');
  const waysList = (a.options.get('tlb-ways') as number[] | undefined) ?? [4];
  const configs: SweepConfig[] = [];
  for (const { ways, entries } of combinations({ ways: full ? [0] : waysList, entries: entriesList })) {
    const w = full ? entries : ways;
    if (w < 1 || w > entries || entries % w !== 0) continue;
    configs.push(replayOptionsFrom(a, 'sweep', { entries, ways: w }));
  }
  if (configs.length === 0) throw new UsageError('sweep: no valid combination: the ways must divide the entries');
  const jobs = a.options.get('jobs') as number | undefined;
  const bar = new ProgressBar({ stream: io.stderr, total: configs.length, label: 'sweep ', unit: 'configs' });
  const rows = await sweep(trace, configs, { ...(jobs !== undefined ? { jobs } : {}), onRow: (_r, done) => bar.update(done) });
  bar.finish();
  const plot = a.options.get('plot') as string | undefined;
  if (plot !== undefined) writeFileSync(plot, plotRows(rows, trace, full));
  if (a.options.has('json')) io.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  else if (a.options.has('csv')) {
    const flat = rows.map((r) => flattenObject({ config: r.config, ...omitSegfaults(r.result) }));
    io.stdout.write(toCsv(Object.keys(flat[0]!), flat.map((f) => Object.values(f))));
  } else {
    const table = rows.map((r) => {
      const l = r.result.tlb.levels[r.result.tlb.levels.length - 1]!;
      return [`${l.entries}`, l.ways === l.entries ? 'full' : `${l.ways}-way`, formatCount(r.result.tlb.hits), formatCount(r.result.tlb.misses), formatRate(r.result.tlb.misses, r.result.tlb.lookups), formatCount(r.result.walks)];
    });
    io.stdout.write(formatTable(table, { header: ['entries', 'assoc', 'hits', 'misses', 'miss rate', 'walks'], align: ['right', 'right', 'right', 'right', 'right', 'right'] }));
    if (plot !== undefined) io.stdout.write(`chart written to ${plot}\n`);
  }
  return 0;
}

function omitSegfaults(r: SweepRow['result']): Omit<SweepRow['result'], 'segfaults'> {
  const { segfaults: _s, ...rest } = r;
  return rest;
}

/** Miss rate against TLB entries, one series per swept number of ways (or one fully associative line). */
function plotRows(rows: SweepRow[], trace: string, full: boolean): string {
  const series = new Map<string, Array<{ x: number; y: number }>>();
  for (const r of rows) {
    const l = r.result.tlb.levels[r.result.tlb.levels.length - 1]!;
    const name = full ? 'fully associative' : `${l.ways}-way`;
    if (!series.has(name)) series.set(name, []);
    series.get(name)!.push({ x: l.entries, y: r.result.tlb.missRate });
  }
  return lineChartSvg({
    title: `TLB miss rate — ${trace.split('/').pop()}`,
    xLabel: 'TLB entries',
    yLabel: 'miss rate',
    xLog2: true,
    yPercent: true,
    series: [...series].map(([name, points]) => ({ name, points: points.sort((p, q) => p.x - q.x) })),
  });
}
