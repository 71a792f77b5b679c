/**
 * The process lab: a script (script.ts) run line by line on a fresh machine — processes, their
 * threads, the CPUs they run on — with what each line did. The Processes, Memory pressure and
 * CPUs tabs draw it; an observer (the CPUs tab's) can watch each line run.
 */
import { Machine, SegmentationFault, VmmError, type AddressSpace, type Thread } from './lib.js';
import type { Command } from './script.js';

/** A process of the lab. */
export interface Proc {
  name: string;
  pid: number;
  space: AddressSpace;
  /** Why it is gone, when it is (exit, SIGSEGV, OOM kill). */
  gone?: string;
}

/** A thread of the lab: another task of a process's address space. */
export interface LabThread {
  name: string;
  proc: Proc;
  thread: Thread<AddressSpace>;
}

/** What one line did. */
export interface StepResult {
  command: Command;
  ok: boolean;
  /** One line of what happened (the error's message when it failed). */
  message: string;
}

/** Something that watches a lab run its lines (the CPU view records each line's flushes and context switches). */
export interface LabObserver {
  /** The machine exists; no line has run. */
  attach(lab: ProcessLab): void;
  /** Line `index` of the commands is about to run. */
  step(index: number): void;
}

/** The lab after running the first `steps` lines of a script on a fresh machine. */
export class ProcessLab {
  readonly machine: Machine;
  readonly procs: Proc[] = [];
  readonly threads: LabThread[] = [];
  readonly results: StepResult[] = [];

  /** `backend`: the page runs 'js'; tests run the same script on 'native' to check the page against it. */
  constructor(
    readonly commands: Command[],
    steps: number,
    backend: 'js' | 'native' | 'auto' = 'js',
    observer?: LabObserver,
  ) {
    const first = commands[0];
    this.machine = new Machine({ memory: '16MiB', ...(first?.op === 'machine' ? first.options : {}), backend });
    observer?.attach(this);
    const n = Math.min(steps, commands.length);
    for (let i = 0; i < n; i++) {
      observer?.step(i);
      this.results.push(this.run(commands[i]!));
    }
  }

  /** Live processes. */
  get live(): Proc[] {
    return this.procs.filter((p) => !p.gone);
  }

  /** The name a task (an address space as its main thread, or a thread) has in the script. */
  nameOf(task: unknown): string | undefined {
    return this.procs.find((p) => p.space === task)?.name ?? this.threads.find((t) => t.thread === task)?.name;
  }

  private proc(name: string): Proc {
    const p = this.procs.find((x) => x.name === name);
    if (!p) throw new VmmError('ESRCH', `no process ${name}`);
    if (p.gone) throw new VmmError('ESRCH', `${name} is gone (${p.gone})`);
    if (p.space.destroyed) {
      p.gone = 'killed by the OOM killer';
      throw new VmmError('ESRCH', `${name} is gone (${p.gone})`);
    }
    return p;
  }

  /** A task by name: a thread (the library refuses an exited one), or a process's main thread. */
  private task(name: string): { task: AddressSpace | Thread<AddressSpace>; proc: Proc } {
    const t = this.threads.find((x) => x.name === name);
    return t ? { task: t.thread, proc: t.proc } : { task: this.proc(name).space, proc: this.proc(name) };
  }

  private run(c: Command): StepResult {
    const m = this.machine;
    const faults0 = m.stats().faults;
    const kills0 = m.oomKills().length;
    try {
      let message = '';
      switch (c.op) {
        case 'machine':
          message = `${m.stats().frames.total} frames of 4 KiB${m.cpus > 1 ? `, ${m.cpus} CPUs` : ''}${m.reclaimStats().swap ? `, swap of ${m.reclaimStats().swap!.total} slots` : ''}`;
          break;
        case 'spawn': {
          if (this.procs.some((p) => p.name === c.name && !p.gone)) throw new VmmError('EEXIST', `${c.name} exists already`);
          const space = m.createAddressSpace({ stack: false, ...(c.limit !== undefined ? { residentLimit: c.limit, ...(c.policy ? { policy: c.policy } : {}) } : {}), ...(c.adj !== undefined ? { oomScoreAdj: c.adj } : {}) });
          this.add(c.name, space);
          message = `pid ${this.procs[this.procs.length - 1]!.pid}`;
          break;
        }
        case 'mmap': {
          const p = this.proc(c.proc);
          const a = p.space.mmap({ addr: c.addr, length: c.length, prot: c.prot, fixed: true, ...(c.shared ? { shared: true } : {}), ...(c.label ? { name: c.label } : {}) });
          message = `mapped at 0x${a.toString(16)}`;
          break;
        }
        case 'write':
        case 'read': {
          const { task, proc } = this.task(c.proc);
          const end = c.addr + Math.max(1, c.length);
          let pages = 0;
          for (let a = c.addr; a < end; a = Math.floor(a / 4096) * 4096 + 4096, pages++) {
            if (c.op === 'write') task.write(a, [pages & 0xff || 1]);
            else task.read(a, 1);
            if (proc.space.destroyed) break; // the OOM killer chose this process
          }
          message = `${pages} page${pages === 1 ? '' : 's'} ${c.op === 'write' ? 'written' : 'read'}${task.cpu ? ` on CPU ${task.cpu.index}` : ''}`;
          break;
        }
        case 'fork': {
          const child = this.proc(c.proc).space.fork();
          this.add(c.name, child);
          message = `pid ${this.procs[this.procs.length - 1]!.pid}: private pages now copy-on-write in both`;
          break;
        }
        case 'munmap':
          this.proc(c.proc).space.munmap(c.addr, c.length);
          message = 'unmapped';
          break;
        case 'mprotect':
          this.proc(c.proc).space.mprotect(c.addr, c.length, c.prot);
          message = `protection ${c.prot}`;
          break;
        case 'madvise':
          this.proc(c.proc).space.madvise(c.addr, c.length, c.advice);
          message = `MADV_${c.advice.toUpperCase()}`;
          break;
        case 'thread': {
          if (this.procs.some((p) => p.name === c.name && !p.gone)) throw new VmmError('EEXIST', `${c.name} is a process`);
          const proc = this.proc(c.proc);
          const thread = proc.space.createThread();
          const old = this.threads.findIndex((t) => t.name === c.name);
          if (old >= 0) this.threads.splice(old, 1);
          this.threads.push({ name: c.name, proc, thread });
          message = `thread ${thread.tid} of ${proc.name}`;
          break;
        }
        case 'run': {
          const { task } = this.task(c.task);
          m.cpu(c.cpu).run(task);
          message = `CPU ${c.cpu} runs ${c.task}`;
          break;
        }
        case 'idle': {
          const cpu = m.cpu(c.cpu);
          cpu.idle();
          message = `CPU ${c.cpu} idle${cpu.lazy ? ` (lazy: ${this.procs.find((p) => p.space.mm === cpu.loaded)?.name ?? 'its last process'} stays loaded)` : ''}`;
          break;
        }
        case 'exit': {
          const t = this.threads.find((x) => x.name === c.proc);
          if (t) {
            const cpu = t.thread.cpu;
            t.thread.exit();
            message = `thread ${t.thread.tid} exited${cpu ? `; CPU ${cpu.index} idle, ${t.proc.name} stays loaded (lazy)` : ''}`;
            break;
          }
          const p = this.proc(c.proc);
          p.space.destroy();
          p.gone = 'exited';
          message = 'address space destroyed, its frames freed';
          break;
        }
      }
      return { command: c, ok: true, message: message + this.sideEffects(faults0, kills0) };
    } catch (e) {
      if (e instanceof SegmentationFault && 'proc' in c) {
        // A SIGSEGV kills the process, as the default action does.
        const p = this.threads.find((x) => x.name === c.proc)?.proc ?? this.procs.find((x) => x.name === c.proc)!;
        if (!p.space.destroyed) p.space.destroy();
        p.gone = `killed by SIGSEGV (${e.cause})`;
        return { command: c, ok: false, message: `${e.message}: ${p.name} is killed` + this.sideEffects(faults0, kills0) };
      }
      if (e instanceof VmmError || e instanceof SegmentationFault) return { command: c, ok: false, message: `${e.name}: ${e.message}` + this.sideEffects(faults0, kills0) };
      throw e;
    }
  }

  private add(name: string, space: AddressSpace): void {
    const old = this.procs.findIndex((p) => p.name === name);
    if (old >= 0) this.procs.splice(old, 1);
    const thread = this.threads.findIndex((t) => t.name === name);
    if (thread >= 0) this.threads.splice(thread, 1);
    this.procs.push({ name, pid: this.procs.reduce((mx, p) => Math.max(mx, p.pid), 0) + 1, space });
  }

  /** Faults and OOM kills the step caused, in words. */
  private sideEffects(f0: { minor: number; major: number; cowCopied: number; cowReused: number; segv: number }, kills0: number): string {
    const f1 = this.machine.stats().faults;
    const parts: string[] = [];
    if (f1.minor > f0.minor) parts.push(`${f1.minor - f0.minor} minor fault${f1.minor - f0.minor === 1 ? '' : 's'}`);
    if (f1.major > f0.major) parts.push(`${f1.major - f0.major} major (from swap)`);
    if (f1.cowCopied > f0.cowCopied) parts.push(`${f1.cowCopied - f0.cowCopied} COW cop${f1.cowCopied - f0.cowCopied === 1 ? 'y' : 'ies'}`);
    if (f1.cowReused > f0.cowReused) parts.push(`${f1.cowReused - f0.cowReused} COW reuse${f1.cowReused - f0.cowReused === 1 ? '' : 's'}`);
    const kills = this.machine.oomKills().slice(kills0);
    for (const k of kills) {
      const p = this.procs.find((x) => x.space === k.space);
      if (p) p.gone = `killed by the OOM killer (${k.constraint})`;
      parts.push(`OOM killer (${k.constraint}) killed ${p?.name ?? '?'}: ${k.points} points, rss ${k.rss}, swap ${k.swap}`);
    }
    return parts.length ? ` — ${parts.join('; ')}` : '';
  }

  /** Releases the machine. */
  dispose(): void {
    this.machine.dispose();
  }
}
