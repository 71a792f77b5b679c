/** `vmsim curve TRACE --frames 8,16,32 --policy lru,clock,opt [--plot curve.svg]`: the fault-rate curve per policy. */
import { writeFileSync } from 'node:fs';
import { faultCurve } from '../../replay/fault-curve.js';
import { POLICY_NAMES, isPolicyName } from '../../reclaim/registry.js';
import { formatCount, formatTable, lineChartSvg } from '../../report/index.js';
import { formatOptions, parseCommand, UsageError, type OptionSpec } from '../args.js';
import type { CommandIo } from '../io.js';

const SPECS: OptionSpec[] = [
  { name: 'frames', type: 'list', value: 'N[,N...]', help: 'resident limits (pages) to replay under' },
  { name: 'policy', type: 'string', value: 'NAME[,NAME...]', help: `replacement policies (${POLICY_NAMES.join(', ')})`, default: 'lru' },
  { name: 'swap', type: 'string', value: 'SIZE', help: 'swap device size', default: '1GiB' },
  { name: 'backend', type: 'string', choices: ['native', 'js', 'auto'], help: 'core backend', default: 'auto' },
  { name: 'plot', type: 'string', value: 'FILE.svg', help: 'draw the fault rate against frames (one line per policy, and Mattson\'s exact LRU) as SVG' },
  { name: 'json', type: 'flag', help: 'print the curve as JSON' },
  { name: 'help', type: 'flag', help: 'show this help' },
];

export const CURVE_HELP = `usage: vmsim curve TRACE --frames N,N,... [--policy NAME,NAME,...] [options]
       (also: vmsim sweep TRACE --frames ...)

Replays TRACE once per policy and resident limit (a process allowed that many resident
pages, evicting to swap) and prints the faults (page-ins) of each, next to the exact LRU
count for every size from one stack-distance pass (Mattson); the lru rows equal it. The
opt rows are Belady's optimum, the fewest faults any policy can have: that pass's page
touches are their future.

options:
${formatOptions(SPECS)}

example:
  vmsim curve traces/ls.lackey.gz --frames 8,16,32,64,128 --policy lru,clock,opt --plot curve.svg`;

/** Runs `vmsim curve`; returns the exit code. */
export async function curveCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommand(argv, SPECS, 'curve', CURVE_HELP, io.stdout, { count: 1, what: 'one TRACE file' });
  if (!a) return 0;
  const frames = a.options.get('frames') as number[] | undefined;
  if (!frames) throw new UsageError('curve: --frames N,N,... is required');
  const policies = ((a.options.get('policy') as string | undefined) ?? 'lru').split(',');
  for (const p of policies) if (!isPolicyName(p)) throw new UsageError(`curve: --policy names must be among ${POLICY_NAMES.join(', ')}; got ${JSON.stringify(p)}`);
  const trace = a.positional[0]!;
  const c = await faultCurve(trace, { frames, policies: policies as never, swap: (a.options.get('swap') as string | undefined) ?? '1GiB', backend: (a.options.get('backend') as 'native' | 'js' | 'auto' | undefined) ?? 'auto' });
  const plot = a.options.get('plot') as string | undefined;
  if (plot !== undefined) {
    const series = policies.map((p) => ({ name: p, points: c.rows.filter((r) => r.policy === p).map((r) => ({ x: r.frames, y: r.faultRate })) }));
    series.push({ name: 'LRU (Mattson)', points: frames.map((f, i) => ({ x: f, y: c.touches ? c.mattson[i]! / c.touches : 0 })) });
    writeFileSync(plot, lineChartSvg({ title: `Fault rate — ${trace.split('/').pop()}`, xLabel: 'frames', yLabel: 'fault rate', xLog2: true, yPercent: true, series }));
  }
  if (a.options.has('json')) io.stdout.write(JSON.stringify(c, null, 2) + '\n');
  else {
    const table = c.rows.map((r) => [r.policy, `${r.frames}`, formatCount(r.faults), `${(100 * r.faultRate).toFixed(2)}%`, formatCount(r.swapIn), formatCount(r.swapOut), formatCount(c.mattson[frames.indexOf(r.frames)]!)]);
    io.stdout.write(formatTable(table, { header: ['policy', 'frames', 'faults', 'fault rate', 'swap in', 'swap out', 'LRU (Mattson)'], align: ['left', 'right', 'right', 'right', 'right', 'right', 'right'] }));
    io.stdout.write(`${formatCount(c.touches)} page touches${plot !== undefined ? `; chart written to ${plot}` : ''}\n`);
  }
  return 0;
}
