/** The small C programs of test/record/programs, built and recorded once per test file (each recording takes valgrind a second or two). */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordProgram, type RecordProgramResult } from '../../src/record/recorder.js';
import { openTrace } from '../../src/trace/trace-reader.js';
import type { TraceEvent } from '../../src/trace/trace-events.js';
import { recordKind, recordLa } from '../../src/trace/trace-record.js';

/** Why recording tests cannot run here (no valgrind, no vgdb, no C compiler), or undefined. */
export function cannotRecord(): string | undefined {
  const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
  if (!have('valgrind')) return 'valgrind is not installed (.ci/run installs it)';
  if (!have('vgdb')) return "valgrind's vgdb is not installed";
  if (!have('cc')) return 'no C compiler to build the test programs';
  return undefined;
}

/** A temporary directory for a test file's programs and traces. */
export function scratch(name: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `vmsim-${name}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Builds test/record/programs/NAME.c into `dir`; returns the executable's path. */
export function build(name: string, dir: string, flags: string[] = []): string {
  const exe = join(dir, name);
  execFileSync('cc', ['-O1', '-o', exe, join(import.meta.dirname, 'programs', `${name}.c`), ...flags], { stdio: 'pipe' });
  return exe;
}

/** A program's recording: what recordProgram said, what the program printed, and the trace read back. */
export interface Recorded {
  result: RecordProgramResult;
  /** The program's `CALL name value` lines. */
  calls: Map<string, string>;
  /** The program's own /proc/self/maps lines at its end. */
  maps: string[];
  trace: string;
  events: TraceEvent[];
  /** Each event's position among all records. */
  positions: number[];
  /** Every record as [linear address, kind, thread key "pid/thread"]. */
  records: Array<[number, number, string]>;
}

/** Records `command` into `dir`/`name`.trace, with the program's standard output captured (valgrind's stdout is the program's). */
export async function record(name: string, dir: string, command: string[]): Promise<Recorded> {
  const trace = join(dir, `${name}.trace`);
  const out = join(dir, `${name}.out`);
  const fd = openSync(out, 'w');
  let result: RecordProgramResult;
  try {
    result = await recordProgram(command, { output: trace, stdio: ['ignore', fd, 'inherit'] });
  } finally {
    closeSync(fd);
  }
  const printed = readFileSync(out, 'utf8').split('\n');
  const calls = new Map<string, string>();
  const maps: string[] = [];
  for (const l of printed) {
    if (l.startsWith('CALL ')) {
      const [, k, v] = l.split(' ');
      calls.set(k!, v!);
    } else if (l.startsWith('MAPS ')) maps.push(l.slice(5));
  }
  const events: TraceEvent[] = [];
  const positions: number[] = [];
  const records: Array<[number, number, string]> = [];
  let ctx = '';
  const reader = await openTrace(trace);
  for await (const c of reader.chunks()) {
    let i = 0;
    for (const e of c.events ?? []) {
      for (; i < e.at; i++) records.push([recordLa(c.words, i), recordKind(c.words, i), ctx]);
      events.push(e);
      positions.push(records.length);
      if (e.type === 'thread') ctx = `${e.pid}/${e.thread}`;
    }
    for (; i < c.count; i++) records.push([recordLa(c.words, i), recordKind(c.words, i), ctx]);
  }
  return { result, calls, maps, trace, events, positions, records };
}
