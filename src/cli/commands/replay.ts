/** `vmsim replay TRACE`: one trace through one TLB configuration; a summary, JSON or CSV. */
import { writeFileSync } from 'node:fs';
import { lineChartSvg, toCsv } from '../../report/index.js';
import { flatResult, seriesRows } from '../result-csv.js';
import { UsageError } from '../args.js';
import { formatOptions, parseCommand, type OptionSpec } from '../args.js';
import type { CommandIo } from '../io.js';
import { formatReplaySummary } from '../replay-summary.js';
import { machineSpecs, replayOptionsFrom } from '../replay-args.js';
import { runReplay } from './run-replay.js';

const SPECS: OptionSpec[] = [
  ...machineSpecs(false),
  { name: 'series-csv', type: 'string', value: 'FILE.csv', help: 'with --series: write the miss rates per window as CSV' },
  { name: 'series-plot', type: 'string', value: 'FILE.svg', help: 'with --series: draw the miss rates per window as SVG' },
  { name: 'json', type: 'flag', help: 'print the result as JSON' },
  { name: 'csv', type: 'flag', help: 'print the result as one CSV row with a header' },
  { name: 'help', type: 'flag', help: 'show this help' },
];

export const REPLAY_HELP = `usage: vmsim replay TRACE [options]

Replays a memory-access trace through a simulated x86-64 process: every access goes
through the TLB, the 4-level page walk and the kernel's fault handler, and every page the
trace touches is mapped on demand as anonymous memory. Prints what the TLB and the page
tables did.

TRACE is a file written by  valgrind --tool=lackey --trace-mem=yes --log-file=TRACE PROGRAM
or a binary trace from  vmsim convert; either may be gzipped. '-' reads standard input.

options:
${formatOptions(SPECS)}

examples:
  vmsim replay traces/ls.lackey.gz
  vmsim replay trace.out --cpu skylake
  vmsim replay trace.out --cpu champsim --stlb-entries 2048 --stlb-ways 16 --series 100000 --series-plot rates.svg
  vmsim replay trace.out --tlb-entries 1536 --tlb-ways 12 --l1d-entries 64 --l1i-entries 128 --l1i-ways 8
  vmsim replay trace.bin --tlb-entries 64 --tlb-ways 64 --json`;

/** Runs `vmsim replay`; returns the exit code. */
export async function replayCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommand(argv, SPECS, 'replay', REPLAY_HELP, io.stdout, { count: 1, what: 'one TRACE file' });
  if (!a) return 0;
  const options = replayOptionsFrom(a, 'replay');
  for (const k of ['series-csv', 'series-plot']) if (a.options.has(k) && options.seriesEvery === undefined) throw new UsageError(`replay: --${k} needs --series N`);
  const result = await runReplay(a.positional[0]!, options, io, 'replay');
  if (result.series) {
    const { header, rows } = seriesRows(result);
    const csvFile = a.options.get('series-csv') as string | undefined;
    if (csvFile !== undefined) writeFileSync(csvFile, toCsv(header, rows));
    const plotFile = a.options.get('series-plot') as string | undefined;
    if (plotFile !== undefined) {
      const names = ['L1 instruction', 'L1 data', 'second level', 'misses per access'];
      writeFileSync(
        plotFile,
        lineChartSvg({
          title: `TLB miss rates every ${result.series.every} accesses — ${result.trace.source.split('/').pop()}`,
          xLabel: 'accesses',
          yLabel: 'miss rate',
          yPercent: true,
          series: names.map((name, k) => ({ name, points: rows.map((r) => ({ x: r[0]!, y: r[k + 1]! })) })),
        }),
      );
    }
  }
  if (a.options.has('json')) io.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else if (a.options.has('csv')) {
    const flat = flatResult(result);
    io.stdout.write(toCsv(Object.keys(flat), [Object.values(flat)]));
  } else io.stdout.write(formatReplaySummary(result));
  return 0;
}
