/**
 * `vmsim record`: runs a program under valgrind's lackey with its system calls, thread
 * switches and children, and writes one version-2 binary trace as the program runs.
 *
 *   valgrind --tool=lackey --trace-mem=yes --trace-syscalls=yes --trace-sched=yes
 *            --trace-children=yes --vgdb=yes --vgdb-stop-at=startup --vgdb-prefix=TMP/vgdb
 *            --log-socket=127.0.0.1:PORT PROGRAM ARGS…
 *
 * Each valgrind instance (the program, and every image a process exec's) connects to the
 * recorder's listener and sends its log on its own connection, so every stream is one image's
 * (plus its forked children until they exec; see log-interpreter.ts). Nothing is held whole:
 * connections are parsed as bytes arrive and chunks are written as they fill. The order of the
 * trace keeps cause before effect: a process's records come after the fork that made it, and
 * an exec'd image's after the execve that asked for it (a connection that arrives early waits,
 * and valgrind blocks on its log meanwhile).
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { VmmError } from '../errors.js';
import { TraceFormatError } from '../trace/trace-error.js';
import { createGzip, constants as zlibConstants } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { rm } from 'node:fs/promises';
import type { NewTraceEvent } from '../trace/trace-events.js';
import { packageVersion } from '../package-info.js';
import { trackChild } from '../live-children.js';
import { trackTemp, untrackTemp } from '../temp-files.js';
import { LogConnection, type ConnectionHost } from './log-connection.js';
import { ProcessTable, type RecordedProcess } from './process-table.js';
import { readStartupImage, releaseHeld, type StartupImage } from './startup-image.js';
import { TraceOutput } from './trace-output.js';

/** Options of recordProgram. */
export interface RecordProgramOptions {
  /** The trace file to write. */
  output: string;
  /** Gzip it (default: when the name ends in .gz). */
  gzip?: boolean;
  /** The valgrind executable (default 'valgrind' from PATH). */
  valgrind?: string;
  /** The vgdb executable (default 'vgdb' from PATH, which valgrind's package installs). */
  vgdb?: string;
  /** Called as records are written (their count so far). */
  onProgress?: (records: number) => void;
  /** The program's standard input, output and error (default: this process's, inherited). */
  stdio?: StdioOptions;
  /** @internal Copies each connection's raw log into this directory (conn-N.log), for debugging the recorder. */
  rawLogDir?: string;
}

/** What a recording produced. */
export interface RecordProgramResult {
  /** Access records written. */
  records: number;
  /** Event records written. */
  events: number;
  /** Bytes in the file. */
  bytes: number;
  /** Processes recorded (the program and every child). */
  processes: number;
  /** Threads recorded (every thread of every image). */
  threads: number;
  /** The program's exit: its code (valgrind passes it on) or the signal that ended it. */
  exit: { code: number | null; signal: NodeJS.Signals | null };
  /** What could not be attributed exactly, and other remarks (also in the trace's last note). */
  notes: RecordNotes;
}

/** The recorder's remarks on a recording. */
export interface RecordNotes {
  /** Access records read while a parent and its forked child ran at once in one log (attributed to the later to run). */
  ambiguousRecords: number;
  /** System-call results torn from their call that no single waiting call could own (dropped). */
  orphanResults: number;
  /** Recorded calls whose arguments another process's output tore off. */
  tornCalls: number;
  /** Threads valgrind ran that no clone announced. */
  unannouncedThreads: number;
  /** Images whose starting mappings were read while they ran (valgrind did not hold them at startup). */
  unheldImages: number;
  /** Images that came with no execve seen for them (written as new processes). */
  unexpectedImages: number;
  /** Mappings of the traced processes left out as valgrind's own. */
  valgrindMappings: number;
}

/** A private directory for vgdb's FIFOs, removed on an interrupt too. */
function trackedTempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmsim-record-'));
  trackTemp(dir);
  return dir;
}

/** Records `command` (program and arguments) into `options.output`; rejects with ENOENT when valgrind is missing. */
export async function recordProgram(command: readonly string[], options: RecordProgramOptions): Promise<RecordProgramResult> {
  if (!Array.isArray(command) || command.length === 0 || command.some((a) => typeof a !== 'string')) {
    throw new VmmError('EINVAL', 'record: the command must be a non-empty array of strings (program and arguments)');
  }
  const rec = new Recording(command, options);
  try {
    return await rec.run();
  } finally {
    rec.cleanup();
  }
}

class Recording implements ConnectionHost {
  readonly table = new ProcessTable();
  readonly output = new TraceOutput();
  private readonly dir = trackedTempDir();
  private readonly vgdbPrefix = join(this.dir, 'vgdb');
  private readonly connections = new Set<LogConnection>();
  private readonly waiting = new Map<number, LogConnection>();
  private server: Server | undefined;
  private child: ChildProcess | undefined;
  private childExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private first = true;
  private connectionCount = 0;
  private images = 0;
  private failure: unknown;
  private settle: (() => void) | undefined;
  private readonly notes: RecordNotes = { ambiguousRecords: 0, orphanResults: 0, tornCalls: 0, unannouncedThreads: 0, unheldImages: 0, unexpectedImages: 0, valgrindMappings: 0 };
  private valgrindVersion = '';

  constructor(
    private readonly command: readonly string[],
    private readonly options: RecordProgramOptions,
  ) {}

  async run(): Promise<RecordProgramResult> {
    const port = await this.listen();
    this.output.write([{ type: 'note', text: JSON.stringify({ recorder: 'vmsim record', vmsim: packageVersion(), command: this.command }) }]);
    const writing = writeGrowing(this.options.output, this.output.body, this.options.gzip ?? this.options.output.endsWith('.gz'));
    writing.catch(() => {});
    const progress = this.options.onProgress;
    const timer = progress ? setInterval(() => progress(this.output.records), 250) : undefined;
    try {
      return await this.record(port, writing);
    } finally {
      clearInterval(timer);
    }
  }

  private async record(port: number, writing: Promise<number>): Promise<RecordProgramResult> {
    await this.start(port);
    await new Promise<void>((resolve) => {
      this.settle = resolve;
      this.check();
    });
    if (this.failure) {
      this.output.body.destroy(this.failure as Error);
      await writing.catch(() => {});
      throw this.failure;
    }
    // Images no execve asked for: written as processes of their own, at the end.
    const early = [...this.waiting.values()];
    this.waiting.clear();
    for (const c of early) {
      this.notes.unexpectedImages++;
      this.admit(c, undefined);
    }
    await new Promise<void>((resolve) => {
      this.settle = resolve;
      this.check();
    });
    this.notes.unannouncedThreads = this.table.unannouncedThreads;
    if (this.images === 0) {
      this.output.body.destroy(new Error('nothing recorded'));
      await writing.catch(() => {});
      const how = this.childExit!.signal ? `killed by ${this.childExit!.signal}` : `exit ${this.childExit!.code}`;
      throw new TraceFormatError(this.command.join(' '), {}, `valgrind recorded nothing (${how}); valgrind's own message is above`);
    }
    const records = this.output.records;
    this.output.write([{ type: 'note', text: JSON.stringify({ valgrind: this.valgrindVersion, ...this.notes }) }]);
    const events = this.output.events;
    this.output.end();
    const bytes = await writing;
    return { records, events, bytes, processes: [...this.table.all()].length, threads: this.table.threadsSeen, exit: this.childExit!, notes: this.notes };
  }

  cleanup(): void {
    this.server?.close();
    for (const c of this.connections) c.destroy();
    if (this.child && this.childExit === undefined) this.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
    untrackTemp(this.dir);
  }

  private listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => this.connected(socket));
      this.server = server;
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
  }

  private async start(port: number): Promise<void> {
    const valgrind = this.options.valgrind ?? 'valgrind';
    const args = [
      '--tool=lackey',
      '--trace-mem=yes',
      '--trace-syscalls=yes',
      '--trace-sched=yes',
      '--trace-children=yes',
      '--vgdb=yes',
      '--vgdb-stop-at=startup',
      `--vgdb-prefix=${this.vgdbPrefix}`,
      `--log-socket=127.0.0.1:${port}`,
      ...this.command,
    ];
    const child = spawn(valgrind, args, { stdio: this.options.stdio ?? 'inherit' });
    this.child = child;
    trackChild(child); // a SIGTERM to vmsim ends valgrind too, as Ctrl-C does
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e: NodeJS.ErrnoException) =>
        reject(e.code === 'ENOENT' ? new VmmError('ENOENT', `recording needs valgrind, which is not installed (${valgrind} not found; on Debian: apt-get install valgrind)`) : e),
      );
    });
    child.once('exit', (code, signal) => {
      this.childExit = { code, signal };
      this.check();
    });
  }

  private connected(socket: Socket): void {
    socket.setNoDelay(true);
    if (this.options.rawLogDir) {
      const raw = createWriteStream(join(this.options.rawLogDir, `conn-${this.connectionCount}.log`));
      socket.on('data', (d: Buffer) => raw.write(d));
      socket.on('close', () => raw.end());
    }
    this.connectionCount++;
    const c = new LogConnection(this, socket, this.first);
    this.first = false;
    this.connections.add(c);
  }

  readStartup(pid: number): Promise<StartupImage> {
    return readStartupImage(pid, { vgdb: this.options.vgdb ?? 'vgdb', vgdbPrefix: this.vgdbPrefix });
  }

  release(pid: number): void {
    releaseHeld(pid, { vgdb: this.options.vgdb ?? 'vgdb', vgdbPrefix: this.vgdbPrefix }).catch((e: Error) => this.fail(e));
  }

  ready(c: LogConnection): void {
    if (c.unheld) this.notes.unheldImages++;
    this.valgrindVersion ||= c.valgrindVersion;
    if (c.first) {
      this.admit(c, undefined);
      return;
    }
    const p = this.table.get(c.pid!);
    if (p?.exec && !p.ended) this.admit(c, p);
    else this.waiting.set(c.pid!, c);
  }

  execCalled(proc: RecordedProcess): void {
    const c = this.waiting.get(proc.pid);
    if (c) {
      this.waiting.delete(proc.pid);
      this.admit(c, proc);
    }
  }

  /** Writes the image's events (the execve that made it, when seen) and lets its records follow. */
  private admit(c: LogConnection, exec: RecordedProcess | undefined): void {
    const pid = c.pid!;
    const image = c.image!;
    const events: NewTraceEvent[] = [];
    let parent = 0;
    if (exec?.exec) {
      const x = exec.exec;
      events.push({ type: 'syscall', pid, thread: x.thread, nr: x.nr, args: x.args ?? [], result: 0n, ...(x.path !== undefined ? { path: x.path } : {}) });
      parent = exec.parent;
      this.table.newImage(exec);
    } else {
      // Its scheduler's first lines may have named it already.
      const old = this.table.get(pid);
      if (!old || old.ended) this.table.add(pid, 0);
      else old.born = true;
    }
    this.notes.valgrindMappings += image.excluded;
    this.images++;
    events.push({ type: 'image', pid, parent, path: imagePath(c, exec, image) });
    for (const m of image.mappings) events.push({ type: 'map', pid, ...m });
    this.output.write(events);
    c.resume();
  }

  closed(c: LogConnection): void {
    this.connections.delete(c);
    const n = c.interp.counts;
    this.notes.ambiguousRecords += n.ambiguousRecords;
    this.notes.orphanResults += n.orphanResults;
    this.notes.tornCalls += n.tornCalls;
    this.check();
  }

  fail(e: unknown): void {
    if (this.failure) return;
    this.failure = e;
    this.child?.kill('SIGKILL');
    this.check(true);
  }

  /** Settles the current wait when valgrind has exited and every connection is done or waiting. */
  private check(now = false): void {
    if (!this.settle) return;
    const busy = [...this.connections].some((c) => !this.waiting.has(c.pid ?? -1));
    if (now || (this.childExit !== undefined && !busy)) {
      const s = this.settle;
      this.settle = undefined;
      s();
    }
  }
}

/**
 * Writes the trace as it comes, straight into `path` (a recording's file grows while the
 * program runs, as `vmsim record` promises: it can be watched, and what was written survives an
 * interruption); a failure removes it. Returns the bytes written.
 */
async function writeGrowing(path: string, body: Readable, gzip: boolean): Promise<number> {
  const file = createWriteStream(path, { highWaterMark: 1 << 20 });
  try {
    await pipeline([body, ...(gzip ? [createGzip({ flush: zlibConstants.Z_SYNC_FLUSH })] : []), file]);
  } catch (e) {
    file.destroy();
    await rm(path, { force: true });
    throw e;
  }
  return file.bytesWritten;
}

/** The image's program: the file mapped at the image's lowest address among those named like the command, else the command. */
function imagePath(c: LogConnection, exec: RecordedProcess | undefined, image: StartupImage): string {
  const asked = exec?.exec?.path ?? c.command.split(' ')[0] ?? '';
  const files = image.mappings.filter((m) => m.kind === 'file' && m.path);
  const named = files.find((m) => basename(m.path!) === basename(asked));
  return named?.path ?? files[0]?.path ?? asked;
}
