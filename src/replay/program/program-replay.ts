/**
 * The replay of a recorded program whole (a version-2 trace with processes, threads and
 * system calls; docs/replay.md): the recorded process tree on a machine of `cpus` CPUs. Each
 * image starts with the mappings recorded for it; each recorded thread is a thread of its
 * process placed on a CPU (placement.ts); each fork is a fork (copy-on-write), each execve the
 * VMM's exec (a new image in the same process, its caller kept on its CPU); each memory system call runs through the VMM with the recorded arguments
 * (syscall-replay.ts) and its result is compared with the recording's. The records run, in the
 * trace's order, on the CPU of the thread they belong to; an access no mapping covers is a
 * SIGSEGV, counted, as it was in the program.
 *
 * A trace with thread events but no images (ChampSim's CloudSuite address spaces) replays its
 * processes in the anonymous-memory fallback (anonymous memory wherever they touch).
 */
import { VmmError } from '../../errors.js';
import { hex } from '../../hex.js';
import { TraceOut } from '../../core/constants.js';
import { formatProt } from '../../vmm/prot.js';
import { formatMapsLine, hexAddress } from '../../vmm/maps-format.js';
import type { AddressSpace } from '../../vmm/address-space.js';
import { SharedMemoryObject } from '../../vmm/shared-memory.js';
import type { RegularFile } from '../../vmm/file/regular-file.js';
import type { Machine } from '../../system/machine.js';
import type { Cpu } from '../../machine/cpu.js';
import type { TraceChunk } from '../../trace/trace-record.js';
import type { ImageEvent, MapEvent, SyscallEvent, TraceEvent } from '../../trace/trace-events.js';
import { TraceFormatError } from '../../trace/trace-error.js';
import { syscallName } from '../../record/recorded-syscalls.js';
import { ReplayEngine } from '../replay-engine.js';
import { USER_PAGES } from '../collect-result.js';
import type { ResolvedReplayOptions } from '../replay-options.js';
import { Placement } from './placement.js';
import { RecordedFiles } from './recorded-files.js';
import { RecordedProcessState, type ReplayThread } from './recorded-process.js';
import { ReplayInputError, replayMemoryCall, errnoName, attempt } from './syscall-replay.js';
import type { Disagreement, ProgramResult, SyscallAgreement } from './program-result.js';

const CLONE_THREAD = 0x10000n;
const MAX_DISAGREEMENTS = 20;

/** Options the program replay takes beyond the resolved replay options. */
export interface ProgramReplayConfig {
  /** Stop at the first call whose result differs from the recording's. */
  strict: boolean;
  /** Name of the trace, for errors. */
  source: string;
}

/** The state of one program replay; feed it chunks in order, then finish(). */
export class ProgramReplay {
  readonly processes = new Map<number, RecordedProcessState>();
  /** Every process, ended ones too (a pid used again names a new process). */
  readonly all: RecordedProcessState[] = [];
  readonly files: RecordedFiles;
  readonly placement: Placement;
  readonly syscalls: Record<string, SyscallAgreement> = {};
  readonly notReplayed: Record<string, number> = {};
  readonly disagreements: Disagreement[] = [];
  readonly notes: string[] = [];
  /** True once an image event was seen: threads of unknown processes are then errors, not the anonymous fallback. */
  private recorded = false;
  private current: { p: RecordedProcessState; t: ReplayThread } | undefined;
  records = 0;
  /** Byte offset of the last event read (where an error about what follows it points). */
  private lastEvent = 0;

  constructor(
    readonly machine: Machine,
    readonly o: ResolvedReplayOptions,
    readonly config: ProgramReplayConfig,
  ) {
    this.files = new RecordedFiles(machine);
    this.placement = new Placement(machine.cpus);
  }

  /** Replays one chunk: its records on their threads, its events where they sit. */
  run(chunk: TraceChunk): void {
    let pos = 0;
    for (const e of chunk.events ?? []) {
      if (e.at > pos) this.runRecords(chunk.words, pos, e.at, e);
      pos = Math.max(pos, e.at);
      this.event(e);
    }
    if (chunk.count > pos) this.runRecords(chunk.words, pos, chunk.count, undefined);
  }

  /** Records [from, to) of a chunk on the current thread. */
  private runRecords(words: Uint32Array, from: number, to: number, next: TraceEvent | undefined): void {
    const c = this.current;
    if (!c) throw this.error(next?.byteOffset ?? this.lastEvent, `${to - from} access record(s) ${next ? 'before' : 'after'} this point and before any THREAD event says whose they are`);
    const { p, t } = c;
    const cpu = this.machine.cpu(t.cpu);
    if (cpu.current !== t.task) cpu.run(t.task);
    const en = p.engine;
    const out = en.out;
    const before = [out[0]!, out[1]!, out[2]!, out[3]!];
    const f = t.faults;
    f.pageIns -= en.pageIns;
    f.writeProtect -= en.writeProtect;
    f.segv -= en.segv;
    f.sigbus -= en.sigbus;
    en.run(words.subarray(2 * from, 2 * to), to - from, undefined, t.task);
    for (let k = 0; k < 4; k++) t.byKind[k]! += out[k]! - before[k]!;
    f.pageIns += en.pageIns;
    f.writeProtect += en.writeProtect;
    f.segv += en.segv;
    f.sigbus += en.sigbus;
    this.records += to - from;
    const rss = p.space.vm.residentPages;
    if (rss > p.peak) p.peak = rss;
  }

  private event(e: TraceEvent): void {
    this.lastEvent = e.byteOffset;
    switch (e.type) {
      case 'note':
        this.notes.push(e.text);
        return;
      case 'image':
        this.image(e);
        return;
      case 'map':
        this.map(e);
        return;
      case 'thread': {
        const p = this.processes.get(e.pid) ?? (this.recorded ? undefined : this.anonymousProcess(e.pid));
        const t = p?.threads.get(e.thread) ?? (p && p.anonymous ? this.newThread(p, e.thread) : undefined);
        if (!p || !t) throw this.error(e.byteOffset, `THREAD event for ${p ? `thread ${e.thread} of ` : ''}process ${e.pid}, which ${p ? 'has no such thread' : 'the trace has not started'}`);
        if (p.execPending) throw this.execWithoutImage(e.byteOffset, p, 'THREAD event');
        this.current = { p, t };
        return;
      }
      case 'syscall':
        this.syscall(e);
        return;
      case 'end': {
        const p = this.processes.get(e.pid);
        if (!p) throw this.error(e.byteOffset, `END event for process ${e.pid}, which the trace has not started`);
        this.endProcess(p, e.signal !== 0 ? { signal: e.signal } : 'lost');
        return;
      }
    }
  }

  // ------------------------------------------------------------ processes

  /** An image starts: a new process (the first, or one with no execve seen), or the new image of one that called execve. */
  private image(e: ImageEvent): void {
    this.recorded = true;
    const p = this.processes.get(e.pid);
    if (p && !p.execPending) throw this.error(e.byteOffset, `IMAGE event for process ${e.pid}, which runs and called no execve`);
    if (p) {
      // The new image (the VMM's exec: the old regions go, the other threads end); the thread
      // that called execve goes on as its thread 1, on the CPU it ran on.
      const caller = p.execCaller;
      const cpu = caller?.cpu ?? this.placement.place();
      for (const t of p.threads.values()) this.endThread(p, t);
      const old = p.space.cpu;
      if (old !== undefined && old.index !== cpu) old.idle();
      this.countTouched(p);
      p.space.exec({ stack: false });
      // The old image's brk segment went with its regions; the new one comes in a MAP event.
      p.brk = undefined;
      p.threads.clear();
      p.execPending = false;
      p.execCaller = undefined;
      p.execCall = undefined;
      p.images.push(e.path);
      this.newThread(p, 1, caller ? this.placement.take(cpu) : cpu);
      return;
    }
    const q = new RecordedProcessState(e.pid, e.parent, this.newSpace(), undefined as never, false);
    q.engine = this.engineFor(q.space, false);
    q.images.push(e.path);
    this.addProcess(q);
    this.newThread(q, 1);
  }

  private map(e: MapEvent): void {
    const p = this.processes.get(e.pid);
    if (!p) throw this.error(e.byteOffset, `MAP event for process ${e.pid}, which the trace has not started`);
    const s = p.space;
    const length = e.end - e.start;
    try {
      if (e.kind === 'file') {
        const file = this.files.open({ path: e.path ?? '', dev: e.dev, inode: e.inode, ...(e.size !== undefined ? { size: e.size } : {}) }, e.offset + length);
        s.mmap({ addr: e.start, length, prot: e.prot.replace(/-/g, '') || 'none', fixed: true, file, offset: e.offset, ...(e.shared ? { shared: true } : {}) });
      } else if (e.kind === 'stack') {
        // The stack valgrind made: a mapping that grows down on a fault below it (MAP_GROWSDOWN), as far as RLIMIT_STACK (8 MiB, valgrind's too).
        s.mmap({ addr: e.start, length, prot: e.prot.replace(/-/g, '') || 'none', fixed: true, growsDown: true });
      } else {
        s.mmap({ addr: e.start, length, prot: e.prot.replace(/-/g, '') || 'none', fixed: true, ...(e.shared ? { shared: true } : {}) });
        if (e.kind === 'brk') p.brk = { base: e.start, end: e.brk ?? e.start };
      }
    } catch (err) {
      if (err instanceof VmmError) throw this.error(e.byteOffset, `MAP event ${hex(e.start)}-${hex(e.end)} of process ${e.pid}: ${err.message}`);
      throw err;
    }
  }

  private newSpace(): AddressSpace {
    const pr = this.o.pressure;
    return (pr ? this.machine.createAddressSpace({ stack: false, residentLimit: pr.frames, policy: pr.policy, flushAccessed: pr.flushAccessed, ...(pr.policyOptions ? { policyOptions: pr.policyOptions } : {}) }) : this.machine.createAddressSpace({ stack: false })) as AddressSpace;
  }

  private engineFor(space: AddressSpace, anonymous: boolean): ReplayEngine {
    const e = new ReplayEngine(this.machine, space, { ...this.o, mode: anonymous ? 'anon' : 'regions' });
    e.countSigbus = true;
    return e;
  }

  private addProcess(p: RecordedProcessState): void {
    const old = this.processes.get(p.pid);
    if (old && !old.ended) throw new Error(`process ${p.pid} added twice`);
    this.processes.set(p.pid, p);
    this.all.push(p);
  }

  /** A process the trace names but never started: ChampSim's CloudSuite address spaces (anonymous memory on demand). */
  private anonymousProcess(pid: number): RecordedProcessState {
    const space = this.machine.createAddressSpace() as AddressSpace;
    const p = new RecordedProcessState(pid, 0, space, this.engineFor(space, true), true);
    p.images.push('');
    this.addProcess(p);
    return p;
  }

  private newThread(p: RecordedProcessState, number: number, cpu = this.placement.place()): ReplayThread {
    const task = number === 1 ? p.space : p.space.createThread();
    const t: ReplayThread = { number, image: p.image, task, cpu, byKind: new Float64Array(TraceOut.LENGTH), faults: { pageIns: 0, writeProtect: 0, segv: 0, sigbus: 0 }, ended: false };
    p.threads.set(number, t);
    p.allThreads.push(t);
    return t;
  }

  private endThread(p: RecordedProcessState, t: ReplayThread): void {
    if (t.ended) return;
    t.ended = true;
    this.placement.release(t.cpu);
    const task = t.task as unknown as { hasExited?: boolean; exit?: () => void };
    if (t.task !== p.space && task.hasExited === false) task.exit!();
  }

  /**
   * The end of a process: its counts into the process's (an exec keeps the engine and the VMM's
   * fault counters, as Linux keeps a task's across exec, so they span every image), its maps
   * kept, its space destroyed.
   */
  private retireImage(p: RecordedProcessState): void {
    for (const t of p.threads.values()) this.endThread(p, t);
    p.foldImage();
    p.maps = this.mapsOf(p.space);
    const st = p.space.stats();
    p.residentAtExit = st.residentPages;
    p.regionsAtExit = st.regions;
    this.countTouched(p);
    p.space.destroy();
  }

  /** The pages an image touched (the replay's pagesTouched), read before exec or exit takes its tables. */
  private countTouched(p: RecordedProcessState): void {
    const touched = p.space.pages.scanAccessed(0, USER_PAGES, false);
    p.touched.leaves += touched.leaves;
    p.touched.pages += touched.pages;
  }

  private endProcess(p: RecordedProcessState, exit: RecordedProcessState['exit']): void {
    if (p.ended) return;
    this.retireImage(p);
    p.exit = exit;
    p.ended = true;
    if (this.current?.p === p) this.current = undefined;
    this.processes.delete(p.pid);
  }

  /** The end of a warm-up (ChampSim's windows): every count starts again from here; pages touched and frames stay the whole run's. */
  resetCounts(): void {
    for (const p of this.processes.values()) {
      p.engine.resetCounts();
      p.faultBase = { ...p.space.stats().faults };
      for (const t of p.allThreads) clearThread(t);
    }
    // A process that ended within the warm-up counted nothing in the window.
    for (const p of this.all) {
      if (!p.ended) continue;
      p.discarded = true;
      for (const t of p.allThreads) clearThread(t);
      for (const k of Object.keys(p.counts) as Array<keyof typeof p.counts>) p.counts[k] = 0;
    }
    this.machine.resetStats();
  }

  /** Ends what the trace left running (its end). */
  finish(): void {
    for (const p of this.processes.values()) {
      // A recording interrupted between an execve and its new image: the process is left as it was.
      if (p.execPending) this.notes.push(`process ${p.pid} called execve(${p.execCall?.path ?? ''}) at byte ${p.execCall?.byteOffset ?? 0} and the trace ends before its new image`);
    }
    for (const p of [...this.processes.values()]) this.endProcess(p, 'running');
    for (let c = 0; c < this.machine.cpus; c++) {
      const cpu: Cpu = this.machine.cpu(c);
      if (cpu.hierStats) this.machine.settleHierarchy(cpu);
    }
  }

  // ------------------------------------------------------------ calls

  private syscall(e: SyscallEvent): void {
    const p = this.processes.get(e.pid);
    const t = p?.threads.get(e.thread);
    if (!p || !t) throw this.error(e.byteOffset, `syscall record (${syscallName(e.nr)}) for ${p ? `thread ${e.thread} of ` : ''}process ${e.pid}, which ${p ? 'has no such thread' : 'the trace has not started'}`);
    const name = syscallName(e.nr);
    if (p.execPending) throw this.execWithoutImage(e.byteOffset, p, `syscall record (${name})`);
    switch (e.nr) {
      case 2:
      case 257:
        if (e.result >= 0n) p.fds.set(Number(e.result), { path: e.file?.realPath ?? e.path ?? '', dev: e.file?.dev ?? 0, inode: e.file?.inode ?? 0, ...(e.file ? { size: e.file.size } : {}) });
        return this.agree(name, e, e.result);
      case 319:
        if (e.result >= 0n) p.fds.set(Number(e.result), { path: `/memfd:${e.path ?? ''}`, dev: 0, inode: 0 });
        return this.agree(name, e, e.result);
      case 3:
        if (e.result >= 0n) p.fds.delete(Number(e.args[0] ?? 0n));
        return this.agree(name, e, e.result);
      case 32:
      case 33:
      case 292: {
        const from = p.fds.get(Number(e.args[0] ?? 0n));
        if (e.result >= 0n && from) p.fds.set(Number(e.result), from);
        return this.agree(name, e, e.result);
      }
      case 77: {
        // ftruncate: the file's size becomes the program's (its pages past the end go, as Linux drops them).
        const f = p.fds.get(Number(e.args[0] ?? 0n));
        if (e.result < 0n || !f) return this.agree(name, e, e.result);
        return this.agree(name, e, attempt(() => this.files.truncate(f, Number(e.args[1] ?? 0n))));
      }
      case 56:
      case 57:
      case 58:
        return this.clone(p, t, e, name);
      case 59:
        if (e.result >= 0n) {
          p.execPending = true;
          p.execCaller = t;
          p.execCall = { byteOffset: e.byteOffset, path: e.path ?? '' };
          // Until the new image arrives the process runs nothing.
          if (this.current?.p === p) this.current = undefined;
        }
        return this.agree(name, e, e.result);
      case 60:
        this.endThread(p, t);
        if (this.current?.t === t) this.current = undefined;
        return this.agree(name, e, 0n);
      case 231:
        this.endProcess(p, { status: Number(e.args[0] ?? 0n) });
        return this.agree(name, e, 0n);
      case 29:
      case 30:
      case 67:
        return this.sysv(p, t, e, name);
      default: {
        let outcome;
        try {
          outcome = this.machine.callAs(t.task, () => replayMemoryCall(e, p, this.files, (fd) => p.fds.get(fd)));
        } catch (err) {
          if (err instanceof ReplayInputError) throw this.error(e.byteOffset, err.message);
          throw err;
        }
        if ('notReplayed' in outcome) {
          this.notReplayed[name] = (this.notReplayed[name] ?? 0) + 1;
          return;
        }
        return this.agree(name, e, outcome.result);
      }
    }
  }

  /** clone/fork/vfork: a thread of `p` (CLONE_THREAD), or a child process (valgrind runs vfork as fork: the child gets a copy). */
  private clone(p: RecordedProcessState, t: ReplayThread, e: SyscallEvent, name: string): void {
    if (e.result < 0n) return this.agree(name, e, e.result);
    const child = e.child ?? Number(e.result);
    if (e.nr === 56 && ((e.args[0] ?? 0n) & CLONE_THREAD) !== 0n) {
      if (p.threads.has(child)) throw this.error(e.byteOffset, `clone makes thread ${child} of process ${p.pid}, which it has already`);
      this.newThread(p, child);
      return this.agree(name, e, e.result);
    }
    if (this.processes.has(child)) throw this.error(e.byteOffset, `${name} makes process ${child}, which the trace already runs`);
    let space: AddressSpace | undefined;
    const forked = attempt(() => {
      space = this.machine.callAs(t.task, () => p.space.fork());
    });
    // The VMM refused the fork (ENOMEM, EAGAIN): a disagreement; the child's records then name a process the replay has not started.
    if (!space) return this.agree(name, e, forked);
    const c = new RecordedProcessState(child, p.pid, space, this.engineFor(space, false), false);
    c.images.push(p.images[p.images.length - 1]!);
    for (const [fd, f] of p.fds) c.fds.set(fd, f);
    if (p.brk) c.brk = { ...p.brk };
    this.addProcess(c);
    this.newThread(c, 1);
    this.agree(name, e, e.result);
  }

  /** SysV shared memory: shmget makes an object (keyed by the id the program got), shmat maps it where the program got it, shmdt unmaps. */
  private sysv(p: RecordedProcessState, t: ReplayThread, e: SyscallEvent, name: string): void {
    if (e.result < 0n) {
      this.notReplayed[name] = (this.notReplayed[name] ?? 0) + 1;
      return;
    }
    if (e.nr === 29) {
      const id = Number(e.result);
      if (this.sysvObjects.has(id)) return this.agree(name, e, e.result);
      // A size the VMM refuses (the recording says it succeeded) is a disagreement, not the end of the replay.
      const made = attempt(() => {
        this.sysvObjects.set(id, this.machine.createSharedMemory(`vmsim-sysv-${id}`, Math.max(4096, Number(e.args[1] ?? 0n))));
        return e.result;
      });
      return this.agree(name, e, made);
    }
    if (e.nr === 30) {
      const object = this.sysvObjects.get(Number(e.args[0] ?? 0n));
      if (!object) throw this.error(e.byteOffset, `shmat of shared memory id ${Number(e.args[0] ?? 0n)}, which no shmget in the trace gave`);
      const readOnly = (Number(e.args[2] ?? 0n) & 0o10000) !== 0; // SHM_RDONLY
      const addr = Number(e.result);
      const r = this.machine.callAs(t.task, () => attempt(() => p.space.mmap({ addr, length: object.size, prot: readOnly ? 'r' : 'rw', shared: true, fixed: true, object, offset: 0 })));
      if (r >= 0n) p.shmAt.set(addr, object.size);
      return this.agree(name, e, r);
    }
    const addr = Number(e.args[0] ?? 0n);
    const len = p.shmAt.get(addr);
    if (len === undefined) return this.agree(name, e, -22n);
    p.shmAt.delete(addr);
    return this.agree(name, e, this.machine.callAs(t.task, () => attempt(() => p.space.munmap(addr, len))));
  }
  private readonly sysvObjects = new Map<number, ReturnType<Machine['createSharedMemory']>>();

  /** Counts a replayed call's agreement with the recording (the same result, or for addresses and descriptors the same success or failure). */
  private agree(name: string, e: SyscallEvent, replayed: bigint): void {
    const row = (this.syscalls[name] ??= { calls: 0, agree: 0, disagree: 0 });
    row.calls++;
    const same = replayed === e.result || (e.nr !== 9 && e.nr !== 25 && e.nr !== 12 && e.result >= 0n && replayed >= 0n && ![10, 11, 28, 149, 150, 325].includes(e.nr)) || ([56, 57, 58].includes(e.nr) && e.result >= 0n);
    if (same) {
      row.agree++;
      return;
    }
    row.disagree++;
    const d: Disagreement = { pid: e.pid, thread: e.thread, call: name, args: e.args.map((a) => `0x${a.toString(16)}`), recorded: show(e.result), replayed: show(replayed), byteOffset: e.byteOffset };
    if (this.disagreements.length < MAX_DISAGREEMENTS) this.disagreements.push(d);
    if (this.config.strict) throw this.error(e.byteOffset, `the replay disagrees with the recording: ${name}(${d.args.join(', ')}) of process ${e.pid} thread ${e.thread} returned ${d.recorded} when recorded, ${d.replayed} replayed`);
  }

  // ------------------------------------------------------------ results

  /** /proc/PID/maps of a space with the recorded files' paths, devices, inodes and offsets. */
  private mapsOf(space: AddressSpace): string {
    const lines: string[] = [];
    for (const r of space.vm.regions) {
      const file = r.backing.type === 'object' ? this.files.fileOf(r.backing.objectId) : undefined;
      if (!file) {
        // (A recorded program's stack is the plain MAP_GROWSDOWN mapping valgrind made: no [stack] label, as the program saw it.)
        lines.push(
          formatMapsLine(r, (id) => {
            const o = space.vm.ctx.object(id);
            if (!o) return undefined;
            return o instanceof SharedMemoryObject ? { name: o.name, linked: o.isLinked } : { path: (o as RegularFile).path, linked: o.isLinked };
          }),
        );
        continue;
      }
      const offset = r.backing.type === 'object' ? r.backing.offset : 0;
      const head = `${hexAddress(r.start)}-${hexAddress(r.end)} ${formatProt(r.prot)}${r.shared ? 's' : 'p'} ${hexAddress(offset)} ${devName(file.dev)} ${file.inode} `;
      lines.push(head.padEnd(72, ' ') + ' ' + file.path);
    }
    return lines.length ? lines.join('\n') + '\n' : '';
  }

  /** result.program. */
  result(): ProgramResult {
    return {
      processes: this.all.map((p) => {
        const threads = p.allThreads.map((t) => RecordedProcessState.threadResult(t));
        const sum = (k: 'instructions' | 'loads' | 'stores' | 'modifies') => threads.reduce((n, t) => n + t.byKind[k], 0);
        const byKind = { instructions: sum('instructions'), loads: sum('loads'), stores: sum('stores'), modifies: sum('modifies') };
        return {
          pid: p.pid,
          parent: p.parent,
          images: p.images,
          threads,
          accesses: byKind.instructions + byKind.loads + byKind.stores + byKind.modifies,
          byKind,
          faults: { ...p.counts },
          segfaults: p.segfaults,
          resident: { pages: p.residentAtExit, peak: p.peak },
          regions: p.regionsAtExit,
          exit: p.exit,
          maps: p.maps,
        };
      }),
      cpus: Array.from({ length: this.machine.cpus }, (_, i) => this.machine.cpu(i).stats()),
      shootdowns: this.machine.shootdownStats(),
      syscalls: this.syscalls,
      disagreements: this.disagreements,
      notReplayed: this.notReplayed,
      files: this.files.count,
      notes: this.notes,
      placement: 'a new thread runs on the lowest-numbered CPU running no live thread, else on the CPU running the fewest (lowest numbered first), which it time-shares; threads stay on their CPU',
      anonymousProcesses: this.all.filter((p) => p.anonymous).length,
    };
  }

  /** The process goes on after an execve the recording saw succeed, with no IMAGE event for the program it started. */
  private execWithoutImage(byteOffset: number, p: RecordedProcessState, what: string): TraceFormatError {
    const x = p.execCall;
    return this.error(byteOffset, `${what} for process ${p.pid}, whose execve(${x?.path ?? ''}) at byte ${x?.byteOffset ?? 0} succeeded: the trace gives no IMAGE event for the program it started (an execve of a file the recording never saw)`);
  }

  private error(byteOffset: number | undefined, why: string): TraceFormatError {
    return new TraceFormatError(this.config.source, byteOffset !== undefined ? { byteOffset } : {}, why);
  }
}

/** A thread's counts start again (the end of a warm-up). */
function clearThread(t: ReplayThread): void {
  t.byKind.fill(0);
  t.faults.pageIns = t.faults.writeProtect = t.faults.segv = t.faults.sigbus = 0;
}

function show(v: bigint): string {
  return v < 0n ? `-${errnoName(Number(-v))}` : `0x${v.toString(16)}`;
}

/** "fe:00" from a device number as the kernel encodes it (major, minor). */
function devName(dev: number): string {
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 2 ** 20) & ~0xff);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}
