/** What the replay of a recorded program reports beyond a replay's totals (result.program). */
import type { CpuStats } from '../../machine/cpu.js';
import type { MachineShootdowns } from '../../machine/shootdown-stats.js';

/** One thread's part. */
export interface ThreadResult {
  /** Its number in its process (1 = the first; an exec'd image numbers from 1 again). */
  thread: number;
  /** The image (0 = the process's first, 1 after its first execve, ...). */
  image: number;
  /** The CPU it ran on. */
  cpu: number;
  accesses: number;
  byKind: { instructions: number; loads: number; stores: number; modifies: number };
  /** Faults its accesses took: not-present (pageIns) and protection (writeProtect) faults resolved, accesses refused (SIGSEGV, SIGBUS). */
  faults: { pageIns: number; writeProtect: number; segv: number; sigbus: number };
}

/** One process's part. */
export interface ProcessResult {
  pid: number;
  /** Its parent's pid (0 for the program recorded). */
  parent: number;
  /** The programs it ran, in order (its first image, then one per execve). */
  images: string[];
  threads: ThreadResult[];
  accesses: number;
  byKind: { instructions: number; loads: number; stores: number; modifies: number };
  /** Its page faults: minor, major, copy-on-write, and the accesses refused (SIGSEGV; SIGBUS). */
  faults: { pageIns: number; writeProtect: number; minor: number; major: number; cow: number; segv: number; sigbus: number };
  /** First few refused accesses. */
  segfaults: Array<{ address: string; access: string; cause: string }>;
  /** Resident 4 KiB pages at its exit, and the most it had. */
  resident: { pages: number; peak: number };
  /** Regions at its exit. */
  regions: number;
  /** How it ended: exit_group's status, a signal, or 'running' when the trace ended first. */
  exit: { status: number } | { signal: number } | 'running' | 'lost';
  /** Its /proc/PID/maps at its exit (the last image's), with the recorded files' paths. */
  maps: string;
}

/** How the replay's system calls compared with the recording, per call. */
export interface SyscallAgreement {
  /** Calls of this kind replayed. */
  calls: number;
  /** Those whose result was the recorded one. */
  agree: number;
  /** Those whose result differed (the first few are listed in `disagreements`). */
  disagree: number;
}

/** A call whose replay disagreed with the recording. */
export interface Disagreement {
  pid: number;
  thread: number;
  call: string;
  args: string[];
  recorded: string;
  replayed: string;
  /** Byte offset of its record in the trace. */
  byteOffset: number;
}

/** result.program: the process tree, the CPUs, the calls. */
export interface ProgramResult {
  processes: ProcessResult[];
  /** Each CPU at the end: its TLB (levels), context-switch flushes and shootdowns. */
  cpus: CpuStats[];
  shootdowns: MachineShootdowns;
  /** Per call name. */
  syscalls: Record<string, SyscallAgreement>;
  disagreements: Disagreement[];
  /** Calls the replay does not execute (recorded, counted, skipped), per name. */
  notReplayed: Record<string, number>;
  /** Files mapped (their pages read as zeros: a trace holds no file contents). */
  files: number;
  /** The trace's notes (the recorder's own) and the replay's (a recording that ended between an execve and its image). */
  notes: string[];
  /** How the processes' threads were placed: the rule, and each CPU's threads over the run. */
  placement: string;
  /** Access records of processes without a recorded image (traces without system calls: the anonymous-on-demand fallback). */
  anonymousProcesses: number;
}
