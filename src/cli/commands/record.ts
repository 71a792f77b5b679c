/** `vmsim record -o OUT -- PROGRAM ARGS...`: a program's memory trace, recorded by valgrind lackey and written as it is produced. */
import { Readable } from 'node:stream';
import { recordLackey, type LackeyRecording } from '../../trace/lackey-recorder.js';
import { openTrace } from '../../trace/trace-reader.js';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, createGzip } from 'node:zlib';
import { encodeHeader, encodeRecords } from '../../trace/binary-trace.js';
import { TraceFormatError } from '../../trace/trace-error.js';
import { formatBytes, formatCount, ProgressBar } from '../../report/index.js';
import { checkOutputPath } from '../plot-args.js';
import { formatOptions, parseCommand, UsageError, type OptionSpec } from '../args.js';
import { LackeyParser } from '../../trace/lackey-parser.js';
import type { CommandIo } from '../io.js';

const SPECS: OptionSpec[] = [
  { name: 'output', short: 'o', type: 'string', value: 'OUT', help: 'the trace file to write (required)' },
  { name: 'format', type: 'string', choices: ['bin', 'lackey'], value: 'bin|lackey', help: "bin: vmsim's binary trace, 8 bytes an access; lackey: valgrind's text", default: 'bin' },
  { name: 'gzip', type: 'flag', help: 'gzip the output (also when OUT ends in .gz)' },
  { name: 'help', type: 'flag', help: 'show this help' },
];

export const RECORD_HELP = `usage: vmsim record -o OUT [--format bin|lackey] [--gzip] -- PROGRAM [ARGS...]

Runs PROGRAM under valgrind's lackey (--tool=lackey --trace-mem=yes) and writes its memory
trace to OUT as it is produced: lackey writes into a pipe, so the gigabytes of text that a
program's run makes never land on disk, and OUT grows while the program runs (on a terminal
a line shows the accesses so far and the time). The binary format takes 8 bytes an access
(lackey's text about 14); with --gzip it is several times smaller again. If recording
fails, OUT is removed. PROGRAM keeps the terminal (its input and output are yours).
Needs valgrind.

options:
${formatOptions(SPECS)}

example:
  vmsim record -o ls.bin -- ls /
  vmsim replay ls.bin`;

/**
 * The lackey output, with the first 64 KiB of valgrind's own messages kept on the side: when the
 * program cannot run, they are what to tell the user.
 */
export function tapValgrindMessages(rec: LackeyRecording): { stream: Readable; messages: () => string[] } {
  let head = '';
  const stream = Readable.from(
    (async function* () {
      for await (const piece of rec.trace as AsyncIterable<Buffer>) {
        if (head.length < 65536) head += piece.toString('latin1', 0, Math.min(piece.length, 65536));
        yield piece;
      }
    })(),
    { objectMode: false },
  );
  const messages = () => head.split('\n').filter((l) => /^valgrind:|^==\d+== (?!Lackey|Copyright|Using Valgrind|Command:|Parent PID:|$)/.test(l) && !/^==\d+== +$/.test(l)).slice(0, 5);
  return { stream, messages };
}

/** Why nothing was recorded: valgrind's complaint and the exit status. */
export function recordFailure(command: readonly string[], status: { code: number | null; signal: NodeJS.Signals | null }, messages: string[], cause: unknown): Error {
  const how = status.signal ? `killed by ${status.signal}` : `exit ${status.code}`;
  const said = messages.length ? `: ${messages.join(' / ')}` : status.code === 0 ? `: ${(cause as Error).message}` : "; valgrind's own message is above";
  return new TraceFormatError(command.join(' '), {}, `valgrind recorded no memory access (${how})${said}`);
}

/** Runs `vmsim record`; returns the exit code (0 when the trace was written, whatever the program's own exit code). */
export async function recordCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommand(argv, SPECS, 'record', RECORD_HELP, io.stdout, { count: 1, what: 'a PROGRAM to run (after --)', orMore: true });
  if (!a) return 0;
  const out = a.options.get('output') as string | undefined;
  if (out === undefined) throw new UsageError('record: -o OUT is required (the trace file to write)');
  checkOutputPath(out, 'output', 'record');
  const text = a.options.get('format') === 'lackey';
  const command = a.positional;
  const gzip = a.options.has('gzip') || out.endsWith('.gz');
  const rec = await recordLackey(command);
  const tap = tapValgrindMessages(rec);
  const bar = new ProgressBar({ stream: io.stderr, label: `record ${out}: `, unit: 'accesses', elapsed: true, minIntervalMs: 250 });
  let result: { records: number; bytes: number };
  try {
    result = await writeGrowing(out, text ? lackeyText(tap.stream, bar) : binaryRecords(tap.stream, bar), gzip);
  } catch (e) {
    bar.finish();
    rec.kill();
    const status = await rec.exit;
    if (e instanceof TraceFormatError) throw recordFailure(command, status, tap.messages(), e);
    throw e;
  }
  bar.finish();
  const status = await rec.exit;
  const program = status.signal ? `was killed by ${status.signal}` : `exited with ${status.code}`;
  io.stderr.write(`vmsim record: ${out}: ${formatCount(result.records)} accesses, ${formatBytes(result.bytes)} (${text ? 'lackey text' : 'binary'}${gzip ? ', gzip' : ''}); ${command[0]} ${program}\n`);
  return 0;
}

/** What the output holds, counted as it is written. */
interface Counted {
  body: AsyncIterable<Buffer | Uint8Array>;
  records(): number;
}

/** The binary trace of lackey's text: the header, then 8 bytes a record, chunk by chunk. */
function binaryRecords(input: Readable, bar: ProgressBar): Counted {
  let records = 0;
  return {
    records: () => records,
    body: (async function* () {
      const reader = await openTrace(input, { source: 'valgrind' });
      let header = false;
      for await (const chunk of reader.chunks()) {
        if (chunk.count === 0) continue;
        if (!header) {
          yield encodeHeader();
          header = true;
        }
        records += chunk.count;
        bar.update(records);
        yield encodeRecords(chunk);
      }
      if (!header) yield encodeHeader();
    })(),
  };
}

/** lackey's text as it comes, its records counted by the parser on the way. */
function lackeyText(input: Readable, bar: ProgressBar): Counted {
  const parser = new LackeyParser({ source: 'valgrind' });
  return {
    records: () => parser.records,
    body: (async function* () {
      for await (const b of input as AsyncIterable<Buffer>) {
        for (const _ of parser.feed(b));
        bar.update(parser.records);
        yield b;
      }
      for (const _ of parser.finish());
      if (parser.records === 0) throw new TraceFormatError('valgrind', {}, 'no memory access was recorded');
    })(),
  };
}

/**
 * Writes the output as it comes, straight into `path` (a file that grows while the program
 * runs, as a recording should be: it can be watched, and what was written survives an
 * interruption); a failure removes it.
 */
async function writeGrowing(path: string, c: Counted, gzip: boolean): Promise<{ records: number; bytes: number }> {
  const file = createWriteStream(path, { highWaterMark: 1 << 20 });
  try {
    await pipeline([Readable.from(c.body, { objectMode: false }), ...(gzip ? [createGzip({ flush: zlibConstants.Z_SYNC_FLUSH })] : []), file]);
  } catch (e) {
    file.destroy();
    await rm(path, { force: true });
    throw e;
  }
  if (c.records() === 0) {
    await rm(path, { force: true });
    throw new TraceFormatError('valgrind', {}, 'no memory access was recorded');
  }
  return { records: c.records(), bytes: file.bytesWritten };
}
