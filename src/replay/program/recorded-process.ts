/** A recorded process in the replay: its address space (one per image), its threads and CPUs, its descriptors, and what it counted. */
import type { AddressSpace } from '../../vmm/address-space.js';
import type { Thread } from '../../machine/thread.js';
import type { Task } from '../../machine/task.js';
import type { ReplayEngine } from '../replay-engine.js';
import type { RecordedFile } from './recorded-files.js';
import type { ProcessResult, ThreadResult } from './program-result.js';

/** One thread: the task that runs its accesses (thread 1: the address space itself), and its CPU. */
export interface ReplayThread {
  number: number;
  image: number;
  task: Task;
  cpu: number;
  /** Accesses by trace kind (load, store, fetch, modify), as TraceOut orders them. */
  byKind: Float64Array;
  /** The faults its accesses took (the engine's counts while it ran). */
  faults: ThreadResult['faults'];
  ended: boolean;
}

/** What the program's brk is (valgrind's own: an rwx mapping from `base`, one page at least, within 8 MiB). */
export interface BrkState {
  base: number;
  end: number;
}

/** Counts of a finished image, summed into its process. */
export interface ImageCounts {
  pageIns: number;
  writeProtect: number;
  minor: number;
  major: number;
  cow: number;
  segv: number;
  sigbus: number;
}

/** One process of the replay. */
export class RecordedProcessState {
  space: AddressSpace;
  engine: ReplayEngine;
  readonly threads = new Map<number, ReplayThread>();
  /** Every thread it had, ended ones too (for the result). */
  readonly allThreads: ReplayThread[] = [];
  readonly fds = new Map<number, RecordedFile>();
  readonly images: string[] = [];
  brk: BrkState | undefined;
  /** SysV shared memory it attached, by address. */
  readonly shmAt = new Map<number, number>();
  /** An execve succeeded: the next IMAGE event is its new image. */
  execPending = false;
  /** The thread that called it (it goes on as thread 1 of the new image). */
  execCaller: ReplayThread | undefined;
  /** Where that execve is in the trace, and the file it named (for errors). */
  execCall: { byteOffset: number; path: string } | undefined;
  exit: ProcessResult['exit'] = 'running';
  peak = 0;
  readonly counts: ImageCounts = { pageIns: 0, writeProtect: 0, minor: 0, major: 0, cow: 0, segv: 0, sigbus: 0 };
  readonly segfaults: ProcessResult['segfaults'] = [];
  maps = '';
  residentAtExit = 0;
  regionsAtExit = 0;
  /** Accessed pages at exit (for the replay's pagesTouched). */
  touched = { leaves: 0, pages: 0 };
  ended = false;
  /** Its faults (minor, major, copy-on-write) at the end of a warm-up: the counts start there. */
  faultBase: { minor: number; major: number; cow: number } | undefined;
  /** It ended during a warm-up: nothing of it is counted. */
  discarded = false;
  /** True for a process the trace never gave an image (the anonymous-memory fallback). */
  readonly anonymous: boolean;

  constructor(
    readonly pid: number,
    readonly parent: number,
    space: AddressSpace,
    engine: ReplayEngine,
    anonymous: boolean,
  ) {
    this.space = space;
    this.engine = engine;
    this.anonymous = anonymous;
  }

  /** The image now running (0 = the first). */
  get image(): number {
    return Math.max(0, this.images.length - 1);
  }

  /** Folds the current image's engine counts into the process's (at exec or exit). */
  foldImage(): void {
    const e = this.engine;
    const f = this.space.destroyed ? undefined : this.space.stats().faults;
    this.counts.pageIns += e.pageIns;
    this.counts.writeProtect += e.writeProtect;
    this.counts.segv += e.segv;
    this.counts.sigbus += e.sigbus;
    if (f) {
      this.counts.minor += f.minor - (this.faultBase?.minor ?? 0);
      this.counts.major += f.major - (this.faultBase?.major ?? 0);
      this.counts.cow += f.cow - (this.faultBase?.cow ?? 0);
      this.faultBase = undefined;
    }
    for (const s of e.segfaults) if (this.segfaults.length < 10) this.segfaults.push(s);
  }

  /** The result of one thread. */
  static threadResult(t: ReplayThread): ThreadResult {
    const k = t.byKind;
    return { thread: t.number, image: t.image, cpu: t.cpu, accesses: k[0]! + k[1]! + k[2]! + k[3]!, byKind: { instructions: k[2]!, loads: k[0]!, stores: k[1]!, modifies: k[3]! }, faults: { ...t.faults } };
  }
}

/** Threads of a space other than its main thread are Threads. */
export type AnyThreadTask = AddressSpace | Thread<AddressSpace>;
