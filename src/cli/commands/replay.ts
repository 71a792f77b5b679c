/** `vmsim replay TRACE`: one trace through one TLB configuration; a summary, JSON or CSV. */
import { writeFileSync } from 'node:fs';
import { formatDuration, lineChartSvg, toCsv, writeChart, type ChartPanel } from '../../report/index.js';
import { flatResult, seriesRows } from '../result-csv.js';
import { UsageError } from '../args.js';
import { formatOptions, parseCommand, type OptionSpec } from '../args.js';
import type { CommandIo } from '../io.js';
import { shippedTracePath } from '../../package-info.js';
import { formatReplaySummary } from '../replay-summary.js';
import { GROUP, machineSpecs, replayOptionsFrom, windowSpecs } from '../replay-args.js';
import { runReplay } from './run-replay.js';
import { replay } from '../../replay/replay.js';
import { formatMultiReplaySummary } from '../multi-replay-summary.js';
import { recordLackey } from '../../trace/lackey-recorder.js';
import { TraceFormatError } from '../../trace/trace-error.js';
import { recordFailure, tapValgrindMessages } from './record.js';
import { checkedOutput, checkedPlot, plotSpec, traceName } from '../plot-args.js';
import { addPressureOptions, courseSummary, PRESSURE_SPECS } from '../pressure-args.js';
import type { ReplayResult } from '../../replay/replay-result.js';
import { checkFrom, FROM_SPEC, reportEmptiedTlbs, SAVE_SPEC } from '../snapshot-args.js';

const SPECS: OptionSpec[] = [
  ...machineSpecs(false),
  ...windowSpecs(),
  ...PRESSURE_SPECS,
  FROM_SPEC,
  SAVE_SPEC,
  { name: 'series', type: 'int', min: 1, value: 'N', group: GROUP.output, help: 'the miss rates within every N accesses (a time series: in --json, --series-csv, --series-plot)' },
  { name: 'series-csv', type: 'string', value: 'FILE.csv', group: GROUP.output, help: 'with --series: write the miss rates per window as CSV' },
  plotSpec('series-plot', 'with --series: draw the miss rates per window', GROUP.output),
  { name: 'record', type: 'flag', group: GROUP.memory, help: "run PROGRAM (after --) under valgrind lackey and replay its trace as it is produced (ns per access then leaves out the time spent waiting for valgrind)" },
  { name: 'cpus', type: 'int', min: 1, max: 256, value: 'N', group: GROUP.memory, help: "CPUs of the machine: a recorded program's threads run on them (a new thread on the first CPU running none, else the least loaded); several TRACEs run one process each, process i on CPU i mod N", default: '1' },
  { name: 'quantum', type: 'int', min: 1, value: 'N', group: GROUP.memory, help: 'with several TRACEs: accesses a process runs before its CPU switches to the next', default: '10000' },
  { name: 'json', type: 'flag', group: GROUP.output, help: 'print the result as JSON' },
  { name: 'csv', type: 'flag', group: GROUP.output, help: 'print the result as one CSV row with a header' },
  { name: 'help', type: 'flag', help: 'show this help' },
];

export const REPLAY_HELP = `usage: vmsim replay TRACE [options]
       vmsim replay TRACE TRACE... [--cpus N] [options]
       vmsim replay --record [options] -- PROGRAM [ARGS...]

Replays a memory-access trace through a simulated x86-64 process: every access goes
through the TLB, the 4-level page walk and the kernel's fault handler, and every page the
trace touches is mapped on demand as anonymous memory (the fallback for traces without
system calls). Prints what the TLB and the page tables did.

A program recorded whole by  vmsim record  replays as it ran: its processes (fork, execve),
its threads on --cpus CPUs, each memory system call through the VMM compared with its
recorded result, and an access outside every mapping a SIGSEGV (docs/replay.md).

TRACE is a file written by  valgrind --tool=lackey --trace-mem=yes --log-file=TRACE PROGRAM,
a binary trace from  vmsim record  or  vmsim convert, a ChampSim trace (input_instr, or
CloudSuite's; told by its contents), or a plain list of addresses, one a line (0x7ffd1234,
optionally followed by R or W); any may be gzip, xz or zstd compressed. '-' reads standard
input; a FIFO or <(zcat t.gz) works too. Lines like CMU cachelab's ' L 10,1' are read as
lackey's are (docs/trace-format.md).

options:
${formatOptions(SPECS)}

examples:
  vmsim replay ${shippedTracePath()}
  vmsim replay --record --json -- ls /
  vmsim replay trace.out --cpu skylake
  vmsim replay trace.out --cpu champsim --stlb-entries 2048 --series 100000 --series-plot rates.png
  vmsim replay trace.out --tlb-entries 1536 --tlb-ways 12 --l1d-entries 64 --l1i-entries 128 --l1i-ways 8
  vmsim replay trace.bin --tlb-entries 64 --tlb-ways 64 --json
  vmsim replay traces/ls.lackey.gz --frames 64 --policy lru --swap 64MiB
  vmsim replay traces/ls.lackey.gz --frames 64 --policy opt     (reads TRACE twice: not from a pipe)
  vmsim replay warmup.bin --cpu skylake --save warm.vmsnap     (then: ... rest.bin --from warm.vmsnap)
  vmsim replay a.trace b.trace c.trace --cpus 2 --quantum 5000   (one process per trace, sharing memory)`;

/** Runs `vmsim replay`; returns the exit code. */
export async function replayCommand(argv: string[], io: CommandIo): Promise<number> {
  const live = argv.includes('--record') && !argv.slice(0, argv.indexOf('--record')).includes('--');
  const a = parseCommand(argv, SPECS, 'replay', REPLAY_HELP, io.stdout, live ? { count: 1, what: 'a PROGRAM to run (after --)', orMore: true } : { count: 1, what: 'one or more TRACE files', orMore: true });
  if (!a) return 0;
  checkFrom(a, 'replay');
  const options = addPressureOptions(a, replayOptionsFrom(a, 'replay'), 'replay');
  if (!live && (a.positional.length > 1 || a.options.has('quantum'))) return replayMany(a, options, io);
  // One TRACE on several CPUs: a recorded program's threads run on them.
  if (a.options.has('cpus')) options.cpus = a.options.get('cpus') as number;
  for (const k of ['series-csv', 'series-plot']) if (a.options.has(k) && options.seriesEvery === undefined) throw new UsageError(`replay: --${k} needs --series N`);
  // Output files are checked before the replay, so a typo does not cost the run.
  const csvFile = checkedOutput(a, 'series-csv', 'replay');
  const plotFile = checkedPlot(a, 'series-plot', 'replay');
  const save = checkedOutput(a, 'save', 'replay');
  if (save !== undefined) options.save = save;
  const result = live ? await replayRecording(a.positional, options, io) : await runReplay(a.positional[0]!, options, io, 'replay');
  reportEmptiedTlbs([result], 'replay', io);
  if (save !== undefined) io.stderr.write(`vmsim replay: saved the machine to ${save} (go on from it with --from ${save})\n`);
  if (result.series) {
    const { header, rows } = seriesRows(result);
    if (csvFile !== undefined) writeFileSync(csvFile, toCsv(header, rows));
    if (plotFile !== undefined) writeChart(plotFile, seriesChart(result, live ? 'valgrind lackey' : traceName(a.positional[0]!), (a.options.get('cpu') as string | undefined) ?? undefined));
  }
  if (a.options.has('course-summary')) io.stdout.write(courseSummary(result));
  else if (a.options.has('json')) io.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else if (a.options.has('csv')) {
    const flat = flatResult(result);
    io.stdout.write(toCsv(Object.keys(flat), [Object.values(flat)]));
  } else io.stdout.write(formatReplaySummary(result) + (live && result.trace.waitMs !== undefined ? `(waited ${formatDuration(result.trace.waitMs)} for valgrind to produce the trace; ns per access leaves that out)\n` : ''));
  return 0;
}

/** The time series as panels over the accesses: each level's miss rate (% of its lookups), then the misses per 1,000 accesses. */
function seriesChart(r: ReplayResult, trace: string, cpu: string | undefined): string {
  const s = r.series!;
  const pts = s.points;
  const panel = (title: string, label: string, pick: (p: (typeof pts)[number]) => number | undefined, format: 'percent' | 'number' = 'percent'): ChartPanel => ({
    title,
    y: { label, format },
    series: [{ name: title, points: pts.flatMap((p) => (pick(p) === undefined ? [] : [{ x: p.accesses, y: pick(p)! }])) }],
  });
  const h = r.tlb.hierarchy;
  const rateLabel = 'miss rate (% of its lookups)';
  const t = r.tlb.levels[0]!;
  const panels: ChartPanel[] = h
    ? [
        ...(h.l1i.present ? [panel('L1 instruction TLB', rateLabel, (p) => p.l1iMissRate)] : []),
        ...(h.l1d.present ? [panel('L1 data TLB', rateLabel, (p) => p.l1dMissRate)] : []),
        ...(h.stlb.present || h.l2i.present ? [panel(`second-level TLB${h.l2i.present ? ' and L2 instruction TLB' : ''}`, rateLabel, (p) => p.stlbMissRate)] : []),
        panel('misses of the whole hierarchy (page walks needed)', 'per 1,000 accesses', (p) => p.missesPerAccess * 1000, 'number'),
      ]
    : [panel(`TLB (${t.entries} entries, ${t.ways === t.entries ? 'fully associative' : `${t.ways}-way`})`, 'miss rate (% of lookups)', (p) => p.tlbMissRate)];
  return lineChartSvg({
    title: `TLB misses over time — ${trace}`,
    subtitle: `${cpu ? `preset ${cpu}` : h ? 'a TLB hierarchy' : 'one TLB'}; each point: the ${s.every.toLocaleString('en-US')} accesses up to it; ${r.pageSize === '2m' ? '2 MiB' : '4 KiB'} pages`,
    x: { label: 'accesses (trace records)', format: 'si', fromZero: true },
    panels,
    legend: false,
    panelHeight: panels.length > 2 ? 130 : panels.length === 2 ? 170 : 300,
  });
}

/** `replay TRACE TRACE... --cpus N`: one process per trace on one machine; a summary or JSON. */
async function replayMany(a: NonNullable<ReturnType<typeof parseCommand>>, options: ReturnType<typeof replayOptionsFrom>, io: CommandIo): Promise<number> {
  for (const k of ['series', 'csv', 'course-summary', 'series-csv', 'series-plot', 'from', 'save']) if (a.options.has(k)) throw new UsageError(`replay: --${k} is for one TRACE`);
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
async function replayRecording(command: string[], options: ReturnType<typeof replayOptionsFrom>, io: CommandIo): Promise<ReplayResult> {
  const rec = await recordLackey(command);
  const tap = tapValgrindMessages(rec);
  try {
    const cpu0 = process.cpuUsage();
    const result = await runReplay(tap.stream, { ...options }, io, 'replay');
    const cpu = process.cpuUsage(cpu0);
    await rec.exit;
    result.trace.source = `valgrind lackey: ${command.join(' ')}`;
    // Valgrind runs the program 50-100 times slower than it runs alone, in its own process: the
    // replay's wall time is mostly waiting for it. Its own time is the CPU time of this process.
    const busy = Math.min(result.timeMs, (cpu.user + cpu.system) / 1000);
    result.trace.waitMs = result.timeMs - busy;
    result.nsPerAccess = result.trace.records > 0 ? (busy * 1e6) / result.trace.records : 0;
    return result;
  } catch (e) {
    rec.kill();
    const status = await rec.exit;
    if (e instanceof TraceFormatError) throw recordFailure(command, status, tap.messages(), e);
    throw e;
  }
}
