/**
 * Reads one valgrind instance's log (one connection) — system calls, scheduler switches,
 * forks, fatal signals — and turns it into trace events and the thread each access belongs to.
 *
 * Attribution. Lackey's access lines carry no pid or thread. Valgrind runs one thread of a
 * process at a time under its lock and prints `SCHED[tid]: acquired lock` (prefixed with the
 * pid) each time a thread takes it, so within a process every access belongs to the thread
 * that last acquired the lock. A forked child that has not exec'd is still the same valgrind
 * instance writing to the same log: its lines interleave with its parent's, its SYSCALL lines
 * name it, its scheduler lines carry its pid, and it comes out of the fork holding its own lock
 * (the parent's, copied). A process runs program code while it holds its lock and is not
 * inside a system call (between the call's first piece and its result nothing of the program
 * runs; a fork's child starts running where it prints its result, 0). Access lines go to the
 * process that most recently took its lock among those running; while a parent and its child
 * both run, their accesses cannot be told apart: they go to the one that took its lock last
 * and are counted as ambiguous in the recording's note.
 */
import type { NewTraceEvent } from '../trace/trace-events.js';
import { logPieces, type LogPiece, type SyscallPiece } from './valgrind-log-line.js';
import { CLONE_THREAD, FORK_LIKE, RECORDED_SYSCALLS } from './recorded-syscalls.js';
import type { HeldCall, ProcessTable, RecordedProcess } from './process-table.js';

/** Where the interpreter's output goes: the chunk under construction. */
export interface LogSink {
  /** Adds an event at the current place among the records. */
  event(e: NewTraceEvent): void;
  /** The records from here on are thread `thread` of process `pid`. */
  context(pid: number, thread: number): void;
  /** Records read so far on this connection. */
  records(): number;
}

/** What the recorder hears from a connection's log. */
export interface LogHooks {
  /** Process `pid` called execve; its new image will come on a connection of its own. */
  execCalled(p: RecordedProcess): void;
  /** A valgrind message (`==PID== text`). */
  message(pid: number, text: string): void;
  /** What the file an open named is (device, inode, size), when it can be told; `dirfd` is openat's. */
  fileInfo?(pid: number, dirfd: number | undefined, path: string): { dev: number; inode: number; size: number; realPath?: string } | undefined;
}

/** Counts of what could not be attributed exactly. */
export interface AttributionCounts {
  /** Access records read while two processes of this log ran at once, or while none was known to run (attributed to the latest to take its lock). */
  ambiguousRecords: number;
  /** System-call results that arrived torn from their call with no single call waiting for them. */
  orphanResults: number;
  /** Calls whose arguments were torn off by another process's output. */
  tornCalls: number;
}

interface Holder {
  pid: number;
  tid: number;
}

/** A fork waiting for its two results (the child's 0 and the parent's pid), printed by two processes. */
interface ForkInFlight extends HeldCall {
  pid: number;
  results: number;
  /** The child's pid, once the parent said it. */
  child?: number;
  /** The child printed its result (0) before the parent named it: it runs from its birth. */
  childRan?: boolean;
}

const SIGNAL = /^Process terminating with default action of signal (\d+)/;

/** The state machine of one connection's log. */
export class LogInterpreter {
  readonly counts: AttributionCounts = { ambiguousRecords: 0, orphanResults: 0, tornCalls: 0 };
  /** Processes of this log holding their lock, the latest to take it last. */
  private holders: Holder[] = [];
  /** Processes inside a system call (no program code runs). */
  private readonly inCall = new Set<number>();
  /** Calls printed without their result yet, by pid. */
  private readonly waiting = new Map<number, HeldCall>();
  /** Asynchronous calls in progress, by `pid,tid`. */
  private readonly async = new Map<string, HeldCall>();
  private readonly forks: ForkInFlight[] = [];
  private context: Holder | undefined;
  private ambiguousSince: number | undefined;

  constructor(
    private readonly table: ProcessTable,
    private readonly sink: LogSink,
    private readonly hooks: LogHooks,
  ) {}

  /** Reads one line (its pieces); true when the chunk should end after it (an execve: another connection follows from here). */
  line(text: string): boolean {
    let cut = false;
    const pieces = logPieces(text);
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!;
      switch (p.kind) {
        case 'syscall': {
          const next = pieces[i + 1];
          if (next?.kind === 'result') {
            i++;
            cut = this.called(p, next.pending ? 'pending' : next.value) || cut;
          } else {
            cut = this.called(p, undefined) || cut;
          }
          break;
        }
        case 'async-done': {
          const next = pieces[i + 1];
          if (next?.kind !== 'result' || next.pending) break;
          i++;
          const key = `${p.pid},${p.tid}`;
          const call = this.async.get(key);
          this.async.delete(key);
          if (call && call.nr === p.nr) this.complete(p.pid, call, next.value);
          break;
        }
        case 'result':
          this.orphanResult(p.pending ? 'pending' : p.value);
          break;
        case 'forked':
          this.forked(p.parent, p.child);
          break;
        case 'sched':
          this.sched(p.pid, p.tid, p.what);
          break;
        case 'message':
          this.message(p.pid, p.text);
          break;
      }
    }
    return cut;
  }

  /** The log ended: records still ambiguous are counted. */
  end(): void {
    this.setHolders([]);
  }

  // ------------------------------------------------------------------ calls

  /** A call's first pieces, with its result when it came on the same line; true when the chunk should end here. */
  private called(p: SyscallPiece, result: bigint | 'pending' | undefined): boolean {
    // Only a process holding its lock makes calls: one not known to hold it here (a child just forked) runs.
    if (!this.holders.some((h) => h.pid === p.pid)) {
      this.inCall.delete(p.pid);
      this.take(p.pid, p.tid);
    }
    const call: HeldCall = { tid: p.tid, nr: p.nr, args: p.args, ...(p.path !== undefined ? { path: p.path } : {}) };
    if (RECORDED_SYSCALLS.has(p.nr) && !p.args) this.counts.tornCalls++;
    if (this.isFork(call)) {
      const f: ForkInFlight = { ...call, pid: p.pid, results: 0 };
      this.forks.push(f);
      this.enterCall(p.pid);
      if (result !== undefined) this.forkResult(f, result);
      return false;
    }
    if (p.nr === 59) {
      // A successful execve never returns here: its new image connects anew. Its result only comes on failure.
      const proc = this.proc(p.pid);
      proc.exec = { ...call, thread: this.table.thread(proc, p.tid) };
      this.waiting.set(p.pid, call);
      this.drop(p.pid);
      // A child not yet named by its parent's fork line: its image waits for that line.
      if (proc.born) this.hooks.execCalled(proc);
      if (result !== undefined && result !== 'pending') this.complete(p.pid, call, result);
      return true;
    }
    if (result === undefined) {
      this.waiting.set(p.pid, call);
      this.enterCall(p.pid);
    } else if (result === 'pending') this.async.set(`${p.pid},${p.tid}`, call);
    else this.complete(p.pid, call, result);
    return false;
  }

  private isFork(call: HeldCall): boolean {
    if (!FORK_LIKE.has(call.nr)) return false;
    return call.nr !== 56 || call.args === undefined || (Number((call.args[0] ?? 0n) & 0xffffffffn) & CLONE_THREAD) === 0;
  }

  /** A result piece torn from its call: given to the one call that can own it. */
  private orphanResult(result: bigint | 'pending'): void {
    // Forks print two results (child and parent); the child's pid comes on the "created child" line.
    const f = this.forks[0];
    if (f && result !== 'pending') {
      this.forkResult(f, result);
      return;
    }
    // A successful execve never gets its result: such a call waits only for a failure.
    const calls = [...this.waiting].filter(([, c]) => c.nr !== 59);
    const execs = [...this.waiting].filter(([, c]) => c.nr === 59);
    if (calls.length === 1) {
      const [pid, call] = calls[0]!;
      this.waiting.delete(pid);
      if (result === 'pending') {
        this.async.set(`${pid},${call.tid}`, call);
        this.leaveCall(pid);
      } else this.complete(pid, call, result);
      return;
    }
    if (calls.length === 0 && execs.length === 1 && result !== 'pending' && result < 0n) {
      const [pid, call] = execs[0]!;
      const proc = this.table.get(pid);
      if (proc) delete proc.exec;
      this.complete(pid, call, result);
      this.take(pid, call.tid);
      return;
    }
    this.counts.orphanResults++;
  }

  private forkResult(f: ForkInFlight, result: bigint | 'pending'): void {
    if (result === 'pending') return;
    f.results++;
    if (result < 0n) {
      // The fork failed: one result, from the parent, and no child.
      this.forks.splice(this.forks.indexOf(f), 1);
      this.complete(f.pid, f, result);
      return;
    }
    if (result === 0n) {
      // The child's: it runs from here.
      if (f.child !== undefined) this.leaveCall(f.child);
      else f.childRan = true;
    } else {
      this.leaveCall(f.pid);
    }
    if (f.results >= 2 && f.child !== undefined) this.forks.splice(this.forks.indexOf(f), 1);
  }

  /** `clone(fork): process P created child C`: the fork's event (unless the child showed up first), and C running from here. */
  private forked(parent: number, child: number): void {
    const i = this.forks.findIndex((f) => f.pid === parent && (f.child === undefined || f.child === child));
    const f = i >= 0 ? this.forks[i]! : { tid: this.holders.find((h) => h.pid === parent)?.tid ?? 1, nr: 57, args: [], pid: parent, results: 2 };
    const known = f.child === child;
    const cproc = known ? this.table.get(child)! : this.born(f, child);
    if (i >= 0 && f.results >= 2) this.forks.splice(i, 1);
    // A child that already called execve runs no more in this log; its image may come now.
    if (!cproc.exec) this.take(child, f.tid);
    else if (!known) this.hooks.execCalled(cproc);
  }

  /** A call's result: its event (recorded calls), and what it does to processes and threads. */
  private complete(pid: number, call: HeldCall, result: bigint): void {
    this.waiting.delete(pid);
    this.leaveCall(pid);
    const info = RECORDED_SYSCALLS.get(call.nr);
    if (!info) return;
    const proc = this.proc(pid);
    const thread = this.table.thread(proc, call.tid);
    const ev: NewTraceEvent & { type: 'syscall' } = { type: 'syscall', pid, thread, nr: call.nr, args: call.args ?? [], result };
    if (call.path !== undefined) ev.path = call.path;
    if ((call.nr === 2 || call.nr === 257) && result >= 0n && call.path !== undefined) {
      const dirfd = call.nr === 257 && call.args ? Number(BigInt.asIntN(32, call.args[0] ?? 0n)) : undefined;
      const file = this.hooks.fileInfo?.(pid, dirfd, call.path);
      if (file) ev.file = file;
    }
    if (call.nr === 56 && result >= 0n && call.args && (Number((call.args[0] ?? 0n) & 0xffffffffn) & CLONE_THREAD) !== 0) ev.child = this.table.announceThread(proc);
    this.sink.event(ev);
    if (call.nr === 231 && result >= 0n) this.ended(proc);
  }

  // --------------------------------------------------------- processes

  /**
   * The process `pid`. One never seen before is a child whose parent's fork line has not come
   * yet: when one fork of this log is waiting for its child, it is that fork's, born here (so
   * the fork's event comes before anything of the child's).
   */
  private proc(pid: number): RecordedProcess {
    const known = this.table.get(pid);
    if (known) return known;
    const forks = this.forks.filter((f) => f.child === undefined && f.pid !== pid);
    if (forks.length === 1) {
      this.born(forks[0]!, pid);
      return this.table.get(pid)!;
    }
    return this.table.add(pid, 0, undefined, false);
  }

  /** Fork `f` made `child`: the fork's event, and the child in the table. */
  private born(f: ForkInFlight, child: number): RecordedProcess {
    const pproc = this.proc(f.pid);
    f.child = child;
    this.sink.event({ type: 'syscall', pid: f.pid, thread: this.table.thread(pproc, f.tid), nr: f.nr, args: f.args ?? [], result: BigInt(child), child });
    const cproc = this.table.add(child, f.pid, f.tid);
    // The child runs once it prints its result (valgrind holds it at its "startup" first).
    if (!f.childRan) this.inCall.add(child);
    return cproc;
  }

  private ended(proc: RecordedProcess): void {
    proc.ended = true;
    this.waiting.delete(proc.pid);
    this.inCall.delete(proc.pid);
    this.drop(proc.pid);
  }

  private sched(pid: number, tid: number, what: string): void {
    const proc = this.proc(pid);
    if (what.startsWith('acquired lock')) {
      if (what.includes('starting new thread')) this.table.startThread(proc, tid);
      this.take(pid, tid);
    } else if (what.startsWith('releasing lock')) {
      this.drop(pid);
    } else if (what.startsWith('release lock in VG_(exit_thread)')) {
      this.drop(pid);
      this.table.endThread(proc, tid);
    }
  }

  private message(pid: number, text: string): void {
    const m = SIGNAL.exec(text);
    if (m) {
      const proc = this.proc(pid);
      if (!proc.ended) {
        this.sink.event({ type: 'end', pid, status: 0, signal: Number(m[1]) });
        this.ended(proc);
      }
    }
    this.hooks.message(pid, text);
  }

  // --------------------------------------------------------- attribution

  private enterCall(pid: number): void {
    if (this.inCall.has(pid)) return;
    this.inCall.add(pid);
    this.setHolders(this.holders);
  }

  private leaveCall(pid: number): void {
    if (!this.inCall.delete(pid)) return;
    this.setHolders(this.holders);
  }

  /** `pid` took its lock with its thread `tid`. */
  private take(pid: number, tid: number): void {
    this.setHolders([...this.holders.filter((h) => h.pid !== pid), { pid, tid }]);
  }

  /** `pid` let go of its lock (or stopped running in this log). */
  private drop(pid: number): void {
    if (this.holders.some((h) => h.pid === pid)) this.setHolders(this.holders.filter((h) => h.pid !== pid));
  }

  /** The holders changed (or who of them is inside a call): the records from here on are the latest running one's. */
  private setHolders(next: Holder[]): void {
    const records = this.sink.records();
    if (this.ambiguousSince !== undefined) {
      this.counts.ambiguousRecords += records - this.ambiguousSince;
      this.ambiguousSince = undefined;
    }
    this.holders = next;
    const running = next.filter((h) => !this.inCall.has(h.pid));
    // Two processes running, or none known to run (a child between its fork and its first line): the records go to the latest holder, unsure.
    if (running.length > 1 || (running.length === 0 && next.length > 0)) this.ambiguousSince = records;
    const h = running[running.length - 1] ?? next[next.length - 1];
    if (!h) return;
    const proc = this.proc(h.pid);
    const thread = this.table.thread(proc, h.tid);
    if (this.context?.pid !== h.pid || this.context.tid !== thread) {
      this.context = { pid: h.pid, tid: thread };
      this.sink.context(h.pid, thread);
    }
  }
}

/** The pieces a line holds (for tests of the interpreter's input). */
export type { LogPiece };
