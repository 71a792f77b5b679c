/** `vmsim replay TRACE`: one trace through one TLB configuration; a summary, JSON or CSV. */
import { flattenObject, toCsv } from '../../report/index.js';
import { formatOptions, parseCommand, type OptionSpec } from '../args.js';
import type { CommandIo } from '../io.js';
import { formatReplaySummary } from '../replay-summary.js';
import { machineSpecs, replayOptionsFrom } from '../replay-args.js';
import { runReplay } from './run-replay.js';
import { addPressureOptions, courseSummary, PRESSURE_SPECS } from '../pressure-args.js';

const SPECS: OptionSpec[] = [
  ...machineSpecs(false),
  ...PRESSURE_SPECS,
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
  vmsim replay trace.out --tlb-entries 1536 --tlb-ways 12 --l1d-entries 64 --l1i-entries 128 --l1i-ways 8
  vmsim replay trace.bin --tlb-entries 64 --tlb-ways 64 --json
  vmsim replay traces/ls.lackey.gz --frames 64 --policy lru --swap 64MiB`;

/** Runs `vmsim replay`; returns the exit code. */
export async function replayCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommand(argv, SPECS, 'replay', REPLAY_HELP, io.stdout, { count: 1, what: 'one TRACE file' });
  if (!a) return 0;
  const result = await runReplay(a.positional[0]!, addPressureOptions(a, replayOptionsFrom(a, 'replay'), 'replay'), io, 'replay');
  if (a.options.has('course-summary')) io.stdout.write(courseSummary(result));
  else if (a.options.has('json')) io.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else if (a.options.has('csv')) {
    const { segfaults: _s, ...rest } = result;
    const flat = flattenObject(rest);
    io.stdout.write(toCsv(Object.keys(flat), [Object.values(flat)]));
  } else io.stdout.write(formatReplaySummary(result));
  return 0;
}
