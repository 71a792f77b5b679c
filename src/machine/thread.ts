/**
 * A thread: another task of a process, sharing its address space (its page tables, its TLB
 * context), with the access API of a space. It runs on at most one CPU at a time
 * (`machine.cpu(i).run(thread)`); its accesses use that CPU's TLB.
 */
import { VmmError } from '../errors.js';
import { Task, type TaskSpace } from './task.js';
import type { Mmu } from './mmu.js';

/** What a thread needs of its process's address space (an MmuSpace or AddressSpace is one). @internal */
export interface ThreadHome extends TaskSpace {
  readonly destroyed: boolean;
  threadExited(t: Thread): void;
  live(): void;
}

/** A thread of a process (`S`: the type of its address space, an AddressSpace or MmuSpace). */
export class Thread<S extends object = object> extends Task {
  private exited = false;

  /** @internal Use space.createThread(). */
  constructor(
    machine: Mmu,
    tid: number,
    /** The address space (process) it belongs to. */
    readonly space: S,
  ) {
    super(machine, tid);
  }

  /** The space as what the thread needs of it. */
  private get process(): ThreadHome {
    return this.space as unknown as ThreadHome;
  }

  /** @internal Its process's TLB context. */
  get mm() {
    return this.process.mm;
  }

  /** @internal Task: a thread's accesses use its process's tables. */
  protected get home(): ThreadHome {
    return this.process;
  }

  /** True once exit() ran (or its process was destroyed). */
  get hasExited(): boolean {
    return this.exited;
  }

  /**
   * Ends the thread (Linux's do_exit of one thread): if it runs, its CPU goes idle and keeps the
   * address space loaded, lazily (enter_lazy_tlb). ESRCH when it has exited already.
   */
  exit(): void {
    if (this.exited) {
      this.machine.checkLive();
      throw new VmmError('ESRCH', `thread ${this.tid} has exited already`);
    }
    if (this.cpu) this.machine.idle(this.cpu);
    this.exited = true;
    this.process.threadExited(this);
  }

  /** @internal Its process was destroyed (or the machine disposed). */
  markExited(): void {
    this.exited = true;
    this.cpu = undefined;
  }

  /** @internal True once the thread exited or its process is gone. */
  gone(): boolean {
    return this.exited;
  }

  /** @internal Throws when the thread can no longer run (it exited, its process was destroyed, the machine disposed). */
  live(): void {
    if (this.exited) {
      this.machine.checkLive();
      this.process.live();
      throw new VmmError('ESRCH', `thread ${this.tid} has exited`);
    }
  }
}
