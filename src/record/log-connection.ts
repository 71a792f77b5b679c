/**
 * One valgrind instance's log, arriving on its own TCP connection (--log-socket): a program
 * image from its start (the first program, or one a process exec'd) to its end, with the
 * forked children that have not exec'd yet. Lackey's access lines become records, the rest
 * goes through the log interpreter; the image's first mappings are read while valgrind holds
 * it at startup; and records wait until the process they belong to is known to the trace.
 */
import { realpathSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { isAbsolute } from 'node:path';
import { LackeyParser } from '../trace/lackey-parser.js';
import type { NewTraceEvent, TraceEvent } from '../trace/trace-events.js';
import type { TraceChunk } from '../trace/trace-record.js';
import { LogInterpreter } from './log-interpreter.js';
import type { ProcessTable, RecordedProcess } from './process-table.js';
import type { StartupImage } from './startup-image.js';
import type { ThreadRef, TraceOutput } from './trace-output.js';

/** What a connection needs of the recorder. */
export interface ConnectionHost {
  readonly table: ProcessTable;
  readonly output: TraceOutput;
  /** Reads the held image's mappings and lets it run. */
  readStartup(pid: number): Promise<StartupImage>;
  /** Lets a held forked child run (its mappings are its parent's). */
  release(pid: number): void;
  /** Process `proc` called execve (heard on `from`); its image's connection may be waiting. */
  execCalled(proc: RecordedProcess, from: LogConnection): void;
  /** The connection has its process and mappings: it may go on, or must wait for its exec to be seen. */
  ready(c: LogConnection): void;
  /** The connection is done. */
  closed(c: LogConnection): void;
  /** Something failed for good. */
  fail(e: unknown): void;
}

/**
 * The file an open named, as the recorder sees it now (the program may have changed it since):
 * a relative path is looked up from the process's working directory or openat's directory
 * descriptor, through /proc, while the process lives.
 */
function fileInfo(pid: number, dirfd: number | undefined, path: string): { dev: number; inode: number; size: number; realPath?: string } | undefined {
  const AT_FDCWD = -100;
  const full = isAbsolute(path) ? path : dirfd !== undefined && dirfd !== AT_FDCWD ? `/proc/${pid}/fd/${dirfd}/${path}` : `/proc/${pid}/cwd/${path}`;
  try {
    const st = statSync(full);
    let realPath: string | undefined;
    try {
      realPath = realpathSync(full);
    } catch {
      // a file gone meanwhile keeps the path it was opened by
    }
    return { dev: st.dev, inode: st.ino, size: st.size, ...(realPath !== undefined && realPath !== path ? { realPath } : {}) };
  } catch {
    return undefined;
  }
}

/** Buffers of the socket kept before it is paused. */
const MAX_QUEUED = 8;

/** One connection: one image's log. */
export class LogConnection {
  /** The image's pid (from valgrind's `==PID==` prefix), once valgrind held it. */
  pid: number | undefined;
  /** The pid of the log's first message. */
  private logPid: number | undefined;
  /** Valgrind's `Command:` line. */
  command = '';
  /** Valgrind's `Using Valgrind-X` version. */
  valgrindVersion = '';
  /** The image's mappings, once read. */
  image: StartupImage | undefined;
  /** True when valgrind never held this image at startup (its maps were read while it ran). */
  unheld = false;
  readonly interp: LogInterpreter;
  private readonly parser: LackeyParser;
  private events: TraceEvent[] = [];
  private start: ThreadRef | undefined;
  private current: ThreadRef | undefined;
  private readonly queue: Buffer[] = [];
  private it: Generator<TraceChunk, void, undefined> | undefined;
  private blocked = false;
  private cutNow = false;
  private socketEnded = false;
  private done = false;
  private readonly afterWrite: Array<() => void> = [];
  private admitted = false;
  private readonly early: TraceChunk[] = [];
  /** Pids that ran in this log. */
  readonly pids = new Set<number>();

  constructor(
    private readonly host: ConnectionHost,
    private readonly socket: Socket,
    readonly first: boolean,
  ) {
    this.interp = new LogInterpreter(host.table, this.sink(), {
      execCalled: (proc) => this.afterWrite.push(() => host.execCalled(proc, this)),
      message: (pid, text) => this.message(pid, text),
      fileInfo: fileInfo,
    });
    this.parser = new LackeyParser({ source: 'valgrind', chunkRecords: 65536, onOtherLine: (b, s, e) => this.otherLine(b, s, e) });
    socket.on('data', (d: Buffer) => {
      this.queue.push(d);
      if (this.queue.length >= MAX_QUEUED) socket.pause();
      this.pump();
    });
    socket.on('end', () => {
      this.socketEnded = true;
      this.pump();
    });
    socket.on('error', (e) => host.fail(e));
  }

  /** Lets a held connection go on: its image is in the trace, what it read before follows. */
  resume(): void {
    this.admitted = true;
    for (const c of this.early.splice(0)) this.write(c);
    this.blocked = false;
    this.pump();
  }

  /** Closes the connection (the recording is over). */
  destroy(): void {
    this.done = true;
    this.socket.destroy();
  }

  /** Records read so far. */
  get records(): number {
    return this.parser.records;
  }

  private sink() {
    return {
      event: (e: NewTraceEvent) => void this.events.push({ ...e, at: this.parser.pending, byteOffset: 0 } as TraceEvent),
      context: (pid: number, thread: number) => {
        this.pids.add(pid);
        this.current = { pid, thread };
        const at = this.parser.pending;
        // Switches that leave no record between them: only the last counts.
        while (this.events.length > 0 && this.events[this.events.length - 1]!.type === 'thread' && this.events[this.events.length - 1]!.at === at) this.events.pop();
        this.events.push({ type: 'thread', pid, thread, at, byteOffset: 0 });
      },
      records: () => this.parser.records,
    };
  }

  private otherLine(buf: Uint8Array, start: number, end: number): boolean {
    const text = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8');
    if (this.pid === undefined && (text.startsWith('SYSCALL') || this.parser.pending > 0)) {
      // Log lines before valgrind said it holds the image: it does not (an old valgrind, or vgdb off).
      this.unheld = true;
      const sys = /^SYSCALL\[(\d+)/.exec(text);
      this.pid = this.logPid ?? (sys ? Number(sys[1]) : undefined);
      this.hold();
      this.otherLineLater = text;
      return true;
    }
    const cut = this.interp.line(text);
    const now = this.cutNow;
    this.cutNow = false;
    return cut || now;
  }
  private otherLineLater: string | undefined;

  private message(pid: number, text: string): void {
    this.logPid ??= pid;
    if (this.pid === undefined || this.pid === pid) {
      let m: RegExpExecArray | null;
      if ((m = /^Command: (.*)$/.exec(text))) this.command = m[1]!;
      else if ((m = /^Using (Valgrind-\S+)/.exec(text))) this.valgrindVersion = m[1]!;
    }
    // Valgrind says it holds a process ("vgdb me"), then makes its FIFOs and prints how to
    // connect, ending with "--pid is optional…": only then can vgdb reach it.
    if (text.startsWith('(action at startup) vgdb me')) this.heldPids.add(pid);
    else if (text.startsWith('--pid is optional') && this.heldPids.delete(pid)) {
      if (this.pid === undefined) {
        this.pid = pid;
        this.hold();
        this.cutNow = true;
      } else if (pid !== this.pid) {
        // A forked child: valgrind holds it at its "startup" as well.
        this.host.release(pid);
      }
    }
  }
  private readonly heldPids = new Set<number>();

  /** Valgrind holds the image: read its mappings (which lets it go), then ask the recorder whether it may go on. */
  private hold(): void {
    this.blocked = true;
    const pid = this.pid;
    if (pid === undefined) {
      this.host.fail(new Error('valgrind wrote its log before saying which process it traces'));
      return;
    }
    this.host.readStartup(pid).then(
      (image) => {
        this.image = image;
        this.host.ready(this);
      },
      (e) => this.host.fail(e),
    );
  }

  /** Parses what arrived, chunk by chunk, while not held and while the output has room. */
  private pump(): void {
    if (this.done) return;
    try {
      while (!this.blocked) {
        if (this.otherLineLater !== undefined) {
          const t = this.otherLineLater;
          this.otherLineLater = undefined;
          this.interp.line(t);
        }
        if (this.host.output.full) {
          void this.host.output.whenDrained().then(() => this.pump());
          return;
        }
        if (!this.it) {
          const d = this.queue.shift();
          if (!d) break;
          this.it = this.parser.feed(d);
        }
        const r = this.it.next();
        if (r.done) this.it = undefined;
        else this.write(r.value);
      }
      if (this.queue.length < MAX_QUEUED && this.socket.isPaused()) this.socket.resume();
      if (!this.blocked && this.socketEnded && !this.it && this.queue.length === 0) this.finish();
    } catch (e) {
      this.host.fail(e);
    }
  }

  private write(chunk: TraceChunk): void {
    if (!this.admitted) {
      // Read before the image was written (the scheduler's first lines, or a whole unheld start): kept until then.
      this.early.push({ words: chunk.words.slice(0, chunk.count * 2), count: chunk.count, events: [...this.events, ...(chunk.events ?? [])] });
      this.events = [];
      return;
    }
    const c: TraceChunk = this.events.length > 0 ? { words: chunk.words, count: chunk.count, events: this.events } : chunk;
    this.host.output.chunk(c, this.start);
    this.start = this.current;
    this.events = [];
    for (const f of this.afterWrite.splice(0)) f();
  }

  private finish(): void {
    this.done = true;
    if (this.pid === undefined) {
      // The log closed before valgrind held anything: valgrind could not run the program.
      this.host.closed(this);
      return;
    }
    for (const chunk of this.parser.finish()) this.write(chunk);
    this.interp.end();
    const lost: NewTraceEvent[] = [];
    for (const pid of new Set([this.pid, ...this.pids])) {
      const p = this.host.table.get(pid);
      if (p && !p.ended && !p.exec) {
        p.ended = true;
        lost.push({ type: 'end', pid, status: 0, signal: 0 });
      }
    }
    if (lost.length > 0) this.write({ words: new Uint32Array(0), count: 0, events: lost.map((e) => ({ ...e, at: 0, byteOffset: 0 }) as TraceEvent) });
    this.host.closed(this);
  }
}
