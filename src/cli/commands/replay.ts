/** `vmsim replay TRACE`: one trace through one TLB configuration; a summary, JSON or CSV. */
import { writeFileSync } from 'node:fs';
import { lineChartSvg, toCsv } from '../../report/index.js';
import { flatResult, seriesRows } from '../result-csv.js';
import { UsageError } from '../args.js';
import { formatOptions, parseCommand, type OptionSpec } from '../args.js';
import type { CommandIo } from '../io.js';
import { shippedTracePath } from '../../package-info.js';
import { formatReplaySummary } from '../replay-summary.js';
import { machineSpecs, replayOptionsFrom } from '../replay-args.js';
import { runReplay } from './run-replay.js';
import { replay } from '../../replay/replay.js';
import { formatMultiReplaySummary } from '../multi-replay-summary.js';
import { recordLackey } from '../../trace/lackey-recorder.js';
import { TraceFormatError } from '../../trace/trace-error.js';
import { recordFailure, tapValgrindMessages } from './record.js';

import { addPressureOptions, courseSummary, PRESSURE_SPECS } from '../pressure-args.js';

const SPECS: OptionSpec[] = [
  ...machineSpecs(false),
  ...PRESSURE_SPECS,
  { name: 'series-csv', type: 'string', value: 'FILE.csv', help: 'with --series: write the miss rates per window as CSV' },
  { name: 'series-plot', type: 'string', value: 'FILE.svg', help: 'with --series: draw the miss rates per window as SVG' },
  { name: 'record', type: 'flag', help: 'run PROGRAM (after --) under valgrind lackey and replay its trace as it is produced' },
  { name: 'cpus', type: 'int', value: 'N', help: 'several TRACEs at once, one process each, on a machine of N CPUs (process i on CPU i mod N)', default: '1' },
  { name: 'quantum', type: 'int', value: 'N', help: 'with several TRACEs: accesses a process runs before its CPU switches to the next', default: '10000' },
  { name: 'json', type: 'flag', help: 'print the result as JSON' },
  { name: 'csv', type: 'flag', help: 'print the result as one CSV row with a header' },
  { name: 'help', type: 'flag', help: 'show this help' },
];

export const REPLAY_HELP = `usage: vmsim replay TRACE [options]
       vmsim replay TRACE TRACE... [--cpus N] [options]
       vmsim replay --record [options] -- PROGRAM [ARGS...]

Replays a memory-access trace through a simulated x86-64 process: every access goes
through the TLB, the 4-level page walk and the kernel's fault handler, and every page the
trace touches is mapped on demand as anonymous memory. Prints what the TLB and the page
tables did.

TRACE is a file written by  valgrind --tool=lackey --trace-mem=yes --log-file=TRACE PROGRAM
or a binary trace from  vmsim convert; either may be gzip, xz or zstd compressed. '-' reads
standard input; a FIFO or <(zcat t.gz) works too. Lines like CMU cachelab's ' L 10,1' (and
'L 10' without a size) are read as lackey's are.

options:
${formatOptions(SPECS)}

examples:
  vmsim replay ${shippedTracePath()}
  vmsim replay --record --json -- ls /
  vmsim replay trace.out --cpu skylake
  vmsim replay trace.out --cpu champsim --stlb-entries 2048 --stlb-ways 16 --series 100000 --series-plot rates.svg
  vmsim replay trace.out --tlb-entries 1536 --tlb-ways 12 --l1d-entries 64 --l1i-entries 128 --l1i-ways 8
  vmsim replay trace.bin --tlb-entries 64 --tlb-ways 64 --json
  vmsim replay traces/ls.lackey.gz --frames 64 --policy lru --swap 64MiB
  vmsim replay traces/ls.lackey.gz --frames 64 --policy opt     (reads TRACE twice: not from a pipe)
  vmsim replay a.trace b.trace c.trace --cpus 2 --quantum 5000   (one process per trace, sharing memory)`;

/** Runs `vmsim replay`; returns the exit code. */
export async function replayCommand(argv: string[], io: CommandIo): Promise<number> {
  const live = argv.includes('--record') && !argv.slice(0, argv.indexOf('--record')).includes('--');
  const a = parseCommand(argv, SPECS, 'replay', REPLAY_HELP, io.stdout, live ? { count: 1, what: 'a PROGRAM to run (after --)', orMore: true } : { count: 1, what: 'one or more TRACE files', orMore: true });
  if (!a) return 0;
  const options = addPressureOptions(a, replayOptionsFrom(a, 'replay'), 'replay');
  if (!live && (a.positional.length > 1 || a.options.has('cpus') || a.options.has('quantum'))) return replayMany(a, options, io);
  for (const k of ['series-csv', 'series-plot']) if (a.options.has(k) && options.seriesEvery === undefined) throw new UsageError(`replay: --${k} needs --series N`);
  const result = live ? await replayRecording(a.positional, options, io) : await runReplay(a.positional[0]!, options, io, 'replay');
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
  if (a.options.has('course-summary')) io.stdout.write(courseSummary(result));
  else if (a.options.has('json')) io.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else if (a.options.has('csv')) {
    const flat = flatResult(result);
    io.stdout.write(toCsv(Object.keys(flat), [Object.values(flat)]));
  } else io.stdout.write(formatReplaySummary(result));
  return 0;
}

/** `replay TRACE TRACE... --cpus N`: one process per trace on one machine; a summary or JSON. */
async function replayMany(a: NonNullable<ReturnType<typeof parseCommand>>, options: ReturnType<typeof replayOptionsFrom>, io: CommandIo): Promise<number> {
  for (const k of ['series', 'csv', 'course-summary', 'series-csv', 'series-plot']) if (a.options.has(k)) throw new UsageError(`replay: --${k} is for one TRACE`);
  const cpus = a.options.get('cpus') as number | undefined;
  const quantum = a.options.get('quantum') as number | undefined;
  const result = await replay(
    a.positional.map((t) => (t === '-' ? process.stdin : t)),
    { ...options, ...(cpus !== undefined ? { cpus } : {}), ...(quantum !== undefined ? { quantum } : {}) },
  ).catch((e: unknown) => {
    // Options of the machine are usage errors naming the flag.
    if (e instanceof Error && /options\.(cpus|quantum)/.test(e.message)) throw new UsageError(`replay: ${e.message.replace(/^E[A-Z]+: /, '').replace(/options\.(cpus|quantum)/, '--$1')}`);
    throw e;
  });
  io.stdout.write(a.options.has('json') ? JSON.stringify(result, null, 2) + '\n' : formatMultiReplaySummary(result));
  return 0;
}

/** `replay --record`: the program's trace replayed as valgrind produces it, with nothing written to disk. */
async function replayRecording(command: string[], options: ReturnType<typeof replayOptionsFrom>, io: CommandIo) {
  const rec = await recordLackey(command);
  const tap = tapValgrindMessages(rec);
  try {
    const result = await runReplay(tap.stream, { ...options }, io, 'replay');
    await rec.exit;
    result.trace.source = `valgrind lackey: ${command.join(' ')}`;
    return result;
  } catch (e) {
    rec.kill();
    const status = await rec.exit;
    if (e instanceof TraceFormatError) throw recordFailure(command, status, tap.messages(), e);
    throw e;
  }
}
