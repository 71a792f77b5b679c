/**
 * Runs a program under valgrind's lackey and hands over its trace as it is produced: lackey
 * writes to a pipe on fd 3 (--log-fd=3), never to a file, so a trace of gigabytes of text is
 * parsed (or compressed) on the fly and never lands on disk as text. The program keeps the
 * terminal: its stdin, stdout and stderr are the caller's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { VmmError } from '../errors.js';
import { trackChild } from '../live-children.js';

/** A program running under lackey. */
export interface LackeyRecording {
  /** lackey's output: the trace, with valgrind's own `==PID==` messages among it. */
  readonly trace: Readable;
  /** Settles when valgrind exits: the program's exit code (valgrind passes it on), or the signal that ended it. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Ends the recording (SIGTERM to valgrind). */
  kill(): void;
}

/** Options of recordLackey. */
export interface RecordLackeyOptions {
  /** The valgrind executable (default 'valgrind' from PATH). */
  valgrind?: string;
}

/** Starts `command` (program and arguments) under `valgrind --tool=lackey --trace-mem=yes`; ENOENT when valgrind is not installed. */
export async function recordLackey(command: readonly string[], options: RecordLackeyOptions = {}): Promise<LackeyRecording> {
  if (!Array.isArray(command) || command.length === 0 || command.some((a) => typeof a !== 'string')) {
    throw new VmmError('EINVAL', 'record: the command must be a non-empty array of strings (program and arguments)');
  }
  const valgrind = options.valgrind ?? 'valgrind';
  const child: ChildProcess = spawn(valgrind, ['--tool=lackey', '--trace-mem=yes', '--log-fd=3', ...command], {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new VmmError('ENOENT', `recording needs valgrind, which is not installed (${valgrind} not found; on Debian: apt-get install valgrind)`) : e),
    );
  });
  trackChild(child); // a SIGTERM to vmsim ends valgrind too, as Ctrl-C does
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { trace: child.stdio[3] as Readable, exit, kill: () => void child.kill('SIGTERM') };
}
