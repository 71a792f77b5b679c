/**
 * The processes and threads of a recording as the recorder learns of them: valgrind numbers a
 * process's threads itself (the lowest free slot of its thread table, reused after a thread
 * ends), the trace numbers them in creation order, once each (thread 1 is the first; after an
 * execve the calling thread is thread 1 of the new image). A clone's new thread gets valgrind's
 * number when the clone returns, as valgrind allocates it then (VG_(alloc_ThreadState)).
 */

/** A system call waiting for something (its result, or for a new image to show up). */
export interface HeldCall {
  tid: number;
  nr: number;
  args: bigint[] | undefined;
  path?: string;
}

/** One recorded process. */
export interface RecordedProcess {
  readonly pid: number;
  /** The parent's pid (0: the first process, or not known yet). */
  parent: number;
  /** False while only the process's own lines were seen, before its parent's fork said it exists. */
  born: boolean;
  /** Valgrind's thread id → the trace's thread number, for the threads alive. */
  readonly threads: Map<number, number>;
  /** The next thread number to hand out. */
  nextThread: number;
  /** An execve made and not yet answered (a new image, or a failure). */
  exec?: HeldCall & { thread: number };
  /** True once the process ended (exit_group, a fatal signal, or its log closed). */
  ended: boolean;
  /** A new image's first thread is the one that called execve: not a new thread. */
  execThread?: boolean;
}

/** All processes of one recording, by pid (a pid used again after its process ended names a new one). */
export class ProcessTable {
  private readonly procs = new Map<number, RecordedProcess>();
  /** Threads valgrind ran that no clone announced (anomalies, counted for the note). */
  unannouncedThreads = 0;
  /** Thread numbers handed out, over all processes and images. */
  threadsSeen = 0;

  get(pid: number): RecordedProcess | undefined {
    return this.procs.get(pid);
  }

  /**
   * A process that starts here: the first one (`born`), one whose lines came before its
   * parent's fork said so (not born yet), or a fork's child, whose one thread continues
   * valgrind's thread `tid` (a child already seen is adopted, keeping what it did).
   */
  add(pid: number, parent: number, tid?: number, born = true): RecordedProcess {
    const old = this.procs.get(pid);
    if (old && !old.born && !old.ended && parent !== 0) {
      old.parent = parent;
      old.born = true;
      if (tid !== undefined && !old.threads.has(tid)) {
        old.threads.set(tid, old.nextThread++);
        this.threadsSeen++;
      }
      return old;
    }
    const p: RecordedProcess = { pid, parent, born, threads: new Map(), nextThread: 1, ended: false };
    if (tid !== undefined) {
      p.threads.set(tid, p.nextThread++);
      this.threadsSeen++;
    }
    this.procs.set(pid, p);
    return p;
  }

  /** The trace's number of valgrind's thread `tid` in `p`; a thread nobody announced gets the next number. */
  thread(p: RecordedProcess, tid: number): number {
    let t = p.threads.get(tid);
    if (t === undefined) {
      t = p.nextThread++;
      if (t > 1) this.unannouncedThreads++;
      if (p.execThread) delete p.execThread;
      else this.threadsSeen++;
      p.threads.set(tid, t);
    }
    return t;
  }

  /** A clone made a thread: its number, under the valgrind id valgrind gave it (the lowest free one). */
  announceThread(p: RecordedProcess): number {
    let tid = 1;
    while (p.threads.has(tid)) tid++;
    const t = p.nextThread++;
    this.threadsSeen++;
    p.threads.set(tid, t);
    return t;
  }

  /** Valgrind started thread `tid` of `p` ("starting new thread"): the number its clone announced (or the first thread's). */
  startThread(p: RecordedProcess, tid: number): number {
    return this.thread(p, tid);
  }

  /** Valgrind's thread `tid` of `p` ended: its id may name another thread later. */
  endThread(p: RecordedProcess, tid: number): void {
    p.threads.delete(tid);
  }

  /** `p` runs a new image: one thread, numbered 1 again. */
  newImage(p: RecordedProcess): void {
    p.threads.clear();
    p.nextThread = 1;
    p.execThread = true;
    delete p.exec;
  }

  /** Every process. */
  all(): IterableIterator<RecordedProcess> {
    return this.procs.values();
  }
}
