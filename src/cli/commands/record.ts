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
import { recordProgram, type RecordProgramResult } from '../../record/recorder.js';

const SPECS: OptionSpec[] = [
  { name: 'output', short: 'o', type: 'string', value: 'OUT', help: 'the trace file to write (required)' },
  { name: 'format', type: 'string', choices: ['bin', 'lackey'], value: 'bin|lackey', help: "bin: vmsim's binary trace; lackey: valgrind's text of the accesses alone", default: 'bin' },
  { name: 'accesses-only', type: 'flag', help: 'record the accesses alone, as one stream (no threads, calls or children: the trace of vmsim 0.1)' },
  { name: 'gzip', type: 'flag', help: 'gzip the output (also when OUT ends in .gz)' },
  { name: 'help', type: 'flag', help: 'show this help' },
];

export const RECORD_HELP = `usage: vmsim record -o OUT [--gzip] [--accesses-only | --format lackey] -- PROGRAM [ARGS...]

Runs PROGRAM under valgrind's lackey and records it whole into OUT: every thread's accesses
with the thread they belong to, the memory system calls with their arguments and results
(mmap, munmap, mprotect, brk, mremap, madvise, the mlock family, msync, shmget/shmat/shmdt),
the calls that say which file a descriptor names (open, openat, close, dup*, ftruncate), the
calls that make and end processes and threads (clone, fork, vfork, execve, exit, exit_group),
every child process, and the mappings each program image starts with (read from its
/proc/PID/maps while valgrind holds it at startup; valgrind's own memory is left out). The
trace is vmsim's binary format, version 2 (docs/trace-format.md); it is written as the
program runs, never held whole, and OUT grows meanwhile (on a terminal a line shows the
accesses so far). If recording fails, OUT is removed. PROGRAM keeps the terminal (its input
and output are yours). Needs valgrind (with its vgdb).

--accesses-only records the accesses alone (lackey --trace-mem=yes, one stream, binary
version 1), and --format lackey writes lackey's text of them.

options:
${formatOptions(SPECS)}

example:
  vmsim record -o ls.bin -- ls /
  vmsim replay ls.bin
  vmsim maps ls.bin`;

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
  if (!text && !a.options.has('accesses-only')) return recordWhole(command, out, gzip, io);
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

/** The default: the program whole (threads, calls, children), as a version-2 trace. */
async function recordWhole(command: string[], out: string, gzip: boolean, io: CommandIo): Promise<number> {
  const bar = new ProgressBar({ stream: io.stderr, label: `record ${out}: `, unit: 'accesses', elapsed: true, minIntervalMs: 250 });
  let r: RecordProgramResult;
  try {
    r = await recordProgram(command, { output: out, gzip, onProgress: (n) => bar.update(n) });
  } finally {
    bar.finish();
  }
  const program = r.exit.signal ? `was killed by ${r.exit.signal}` : `exited with ${r.exit.code}`;
  const n = r.notes;
  const remarks = [
    n.ambiguousRecords ? `${formatCount(n.ambiguousRecords)} accesses of a parent and its forked child running at once (given to the later to run)` : '',
    n.orphanResults ? `${formatCount(n.orphanResults)} call results torn from their call (dropped)` : '',
    n.tornCalls ? `${formatCount(n.tornCalls)} calls whose arguments were torn off` : '',
    n.unheldImages ? `${n.unheldImages} image(s) whose first mappings were read while running` : '',
    n.unexpectedImages ? `${n.unexpectedImages} image(s) with no execve seen for them` : '',
  ].filter(Boolean);
  io.stderr.write(
    `vmsim record: ${out}: ${formatCount(r.records)} accesses, ${formatCount(r.events)} events (${r.processes} process${r.processes === 1 ? '' : 'es'}, ${r.threads} thread${r.threads === 1 ? '' : 's'}), ${formatBytes(r.bytes)} (binary v2${gzip ? ', gzip' : ''}); ${command[0]} ${program}\n` +
      remarks.map((x) => `vmsim record: note: ${x}\n`).join(''),
  );
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
