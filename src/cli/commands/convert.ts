/** `vmsim convert IN OUT`: a lackey (or binary) trace into vmsim's compact binary format. */
import { convertTrace } from '../../trace/trace-writer.js';
import { checkWritable, formatBytes, formatCount } from '../../report/index.js';
import { formatOptions, parseCommand, UsageError, type OptionSpec } from '../args.js';
import type { CommandIo } from '../io.js';
import { formatSpec } from '../replay-args.js';

const SPECS: OptionSpec[] = [
  { name: 'strict', type: 'flag', help: 'stop at the first malformed line (default: skip and count it)' },
  (({ group: _g, ...s }) => s)(formatSpec()),
  { name: 'accesses-only', type: 'flag', help: "leave out a recorded program's threads, calls and processes: its accesses alone (binary version 1)" },
  { name: 'gzip', type: 'flag', help: 'gzip the output (also when OUT ends in .gz)' },
  { name: 'help', type: 'flag', help: 'show this help' },
];

export const CONVERT_HELP = `usage: vmsim convert IN OUT [options]

Converts a trace (lackey text or binary, optionally gzipped) into vmsim's binary trace
format: 8 bytes per access (docs/trace-format.md), several times smaller than the text and
much faster to replay, for replaying the same trace many times. IN may be lackey text, a
plain list of addresses or a binary trace, gzip, xz or zstd compressed, a FIFO, or '-'
(standard input). Nothing is written when IN is not a trace.

options:
${formatOptions(SPECS)}`;

/** Runs `vmsim convert`; returns the exit code. */
export async function convertCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommand(argv, SPECS, 'convert', CONVERT_HELP, io.stdout, { count: 2, what: 'IN and OUT' });
  if (!a) return 0;
  const [input, output] = a.positional as [string, string];
  if (input === output) throw new UsageError('convert: IN and OUT must be different files');
  // Checked before the input is read: a typo in OUT must not cost the conversion.
  try {
    checkWritable(output);
  } catch (e) {
    throw new UsageError(`convert: OUT ${output}: ${(e as Error).message}`);
  }
  let firstSkip: Error | undefined;
  const r = await convertTrace(input === '-' ? process.stdin : input, output, {
    strict: a.options.has('strict'),
    ...(a.options.has('format') ? { format: a.options.get('format') as 'auto' | 'champsim' | 'champsim-cloudsuite' } : {}),
    ...(a.options.has('accesses-only') ? { accessesOnly: true } : {}),
    gzip: a.options.has('gzip') || undefined,
    onSkip: (e: Error) => {
      firstSkip ??= e;
    },
  });
  if (firstSkip) io.stderr.write(`vmsim convert: skipped ${r.skipped} malformed line(s); first: ${firstSkip.message}\n`);
  io.stdout.write(`${output}: ${formatCount(r.records)} records, ${formatBytes(r.bytes)}${r.skipped ? ` (${formatCount(r.skipped)} malformed skipped)` : ''}\n`);
  return 0;
}
