/** `vmsim curve TRACE --frames 8,16,32 --policy lru,clock,opt [--plot curve.png]`: the fault-rate curve per policy. */
import { faultCurve, type FaultCurve } from '../../replay/fault-curve.js';
import { POLICY_NAMES } from '../../reclaim/registry.js';
import type { PolicyName } from '../../reclaim/policy.js';
import { formatCount, formatTable, lineChartSvg, toCsv, writeChart } from '../../report/index.js';
import { formatOptions, parseCommand, UsageError, type OptionSpec } from '../args.js';
import type { CommandIo } from '../io.js';
import { POLICY_ALIASES } from '../pressure-args.js';
import { checkedPlot, plotSpec, traceName } from '../plot-args.js';
import { withRereadableTrace } from '../trace-once.js';
import { formatSpec } from '../replay-args.js';
import { shippedTracePath } from '../../package-info.js';

const SPECS: OptionSpec[] = [
  { name: 'frames', type: 'list', value: 'N[,N...]', help: 'resident limits (pages) to replay under (required)' },
  { name: 'policy', type: 'names', choices: POLICY_NAMES, choiceAliases: POLICY_ALIASES, value: 'NAME[,NAME...]', help: `replacement policies (${POLICY_NAMES.join(', ')}; any case)`, default: 'lru' },
  { name: 'swap', type: 'size', min: 2 * 4096, value: 'SIZE', help: 'swap device size', default: '1GiB' },
  { name: 'backend', type: 'string', choices: ['native', 'js', 'auto'], value: 'native|js|auto', help: 'simulation core', default: 'auto' },
  { name: 'strict', type: 'flag', help: 'stop at the first malformed trace line or record (default: skip and count it)' },
  (({ group: _g, ...s }) => s)(formatSpec()),
  plotSpec('plot', 'draw the fault rate against the resident limit (one line per policy, and Mattson\'s exact LRU)', 'output'),
  { name: 'log', type: 'flag', group: 'output', help: 'with --plot: a logarithmic fault-rate axis' },
  { name: 'json', type: 'flag', group: 'output', help: 'print the curve as JSON' },
  { name: 'csv', type: 'flag', group: 'output', help: 'print the curve as CSV (one row per policy and size)' },
  { name: 'help', type: 'flag', help: 'show this help' },
];

export const CURVE_HELP = `usage: vmsim curve TRACE --frames N,N,... [--policy NAME,NAME,...] [options]
       (also: vmsim sweep TRACE --frames ...)

Replays TRACE once per policy and resident limit (a process allowed that many resident
pages, evicting to swap) and prints the faults (page-ins) of each, next to the exact LRU
count for every size from one stack-distance pass (Mattson); the lru rows equal it. The
opt rows are Belady's optimum, the fewest faults any policy can have: that pass's page
touches are their future. TRACE is read once ('-', a FIFO and <(...) work): a text or
compressed trace is first copied into a temporary binary trace, removed at the end.

options:
${formatOptions(SPECS)}

example:
  vmsim curve ${shippedTracePath()} --frames 8,16,32,64,128 --policy lru,clock,opt --plot curve.png`;

/** Runs `vmsim curve`; returns the exit code. */
export async function curveCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommand(argv, SPECS, 'curve', CURVE_HELP, io.stdout, { count: 1, what: 'one TRACE file' });
  if (!a) return 0;
  const frames = a.options.get('frames') as number[] | undefined;
  if (!frames) throw new UsageError('curve: --frames N,N,... is required (the resident limits, in pages)');
  const policies = [...new Set(((a.options.get('policy') as string | undefined) ?? 'lru').split(','))] as PolicyName[];
  const plot = checkedPlot(a, 'plot', 'curve');
  if (a.options.has('log') && plot === undefined) throw new UsageError('curve: --log needs --plot FILE');
  const trace = a.positional[0]!;
  const sorted = [...new Set(frames)].sort((p, q) => p - q);
  const c = await withRereadableTrace(
    trace,
    a.options.has('strict'),
    (path) => faultCurve(path, { frames: sorted, policies, swap: (a.options.get('swap') as string | undefined) ?? '1GiB', backend: (a.options.get('backend') as 'native' | 'js' | 'auto' | undefined) ?? 'auto' }),
    a.options.get('format') as 'auto' | 'champsim' | 'champsim-cloudsuite' | undefined,
  );
  if (plot !== undefined) writeChart(plot, curveChart(c, sorted, policies, trace, a.options.has('log')));
  if (a.options.has('json')) io.stdout.write(JSON.stringify(c, null, 2) + '\n');
  else if (a.options.has('csv')) {
    io.stdout.write(toCsv(['policy', 'frames', 'faults', 'faultRate', 'majorFaults', 'swapIn', 'swapOut', 'mattsonLru'], c.rows.map((r) => [r.policy, r.frames, r.faults, r.faultRate, r.majorFaults, r.swapIn, r.swapOut, c.mattson[sorted.indexOf(r.frames)]!])));
  } else {
    const table = c.rows.map((r) => [r.policy, `${r.frames}`, formatCount(r.faults), `${(100 * r.faultRate).toFixed(2)}%`, formatCount(r.swapIn), formatCount(r.swapOut), formatCount(c.mattson[sorted.indexOf(r.frames)]!)]);
    io.stdout.write(formatTable(table, { header: ['policy', 'frames', 'faults', 'fault rate', 'swap in', 'swap out', 'LRU (Mattson)'], align: ['left', 'right', 'right', 'right', 'right', 'right', 'right'] }));
    io.stdout.write(`${formatCount(c.touches)} page touches; faults are page-ins (first touches and re-references after eviction)${plot !== undefined ? `; chart written to ${plot}` : ''}\n`);
  }
  return 0;
}

/** The chart: fault rate (% of page touches) against the resident limit, one line per policy and Mattson's exact LRU. */
function curveChart(c: FaultCurve, frames: number[], policies: PolicyName[], trace: string, log: boolean): string {
  const rate = (faults: number) => (c.touches ? faults / c.touches : 0);
  const series: Array<{ name: string; points: Array<{ x: number; y: number }> }> = policies.map((p) => ({ name: p, points: c.rows.filter((r) => r.policy === p).map((r) => ({ x: r.frames, y: r.faultRate })) }));
  series.push({ name: 'LRU (Mattson, exact)', points: frames.map((f, i) => ({ x: f, y: rate(c.mattson[i]!) })) });
  const pow2 = frames.every((f) => 2 ** Math.round(Math.log2(f)) === f);
  return lineChartSvg({
    title: `Page faults by replacement policy — ${traceName(trace)}`,
    subtitle: `${formatCount(c.touches)} page touches of 4 KiB pages; one replay per policy and resident limit`,
    x: { label: 'resident limit (pages)', scale: pow2 && frames.length > 1 ? 'log2' : 'linear', format: 'size', ticks: frames },
    y: { label: `fault rate (% of page touches${log ? ', log scale' : ''})`, format: 'percent', ...(log ? { scale: 'log10' as const } : {}) },
    // A rate of 0 has no place on a log axis: those points are left out.
    series: log ? series.map((s) => ({ ...s, points: s.points.filter((p) => p.y > 0) })) : series,
    legendTitle: 'policy',
  });
}
