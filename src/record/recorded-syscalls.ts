/**
 * The system calls `vmsim record` keeps (x86-64 numbers): the ones that change a process's
 * memory, the ones that say which file a descriptor names, and the ones that make, replace or
 * end processes and threads. Valgrind prints every call; the others are dropped.
 */

/** What a recorded call is about. */
export type SyscallGroup = 'memory' | 'file' | 'process';

/** How the recorder reads one call's valgrind line. */
export interface SyscallInfo {
  readonly name: string;
  readonly group: SyscallGroup;
  /** Arguments valgrind prints as bare hexadecimal (its "%lx", no 0x): clone's flags, mlockall's. */
  readonly bareHex?: readonly number[];
  /** The argument printed as `0xADDR(string)` whose string the trace keeps (a path or a name). */
  readonly pathArg?: number;
}

/** Recorded calls by x86-64 number. */
export const RECORDED_SYSCALLS: ReadonlyMap<number, SyscallInfo> = new Map<number, SyscallInfo>([
  [9, { name: 'mmap', group: 'memory' }],
  [10, { name: 'mprotect', group: 'memory' }],
  [11, { name: 'munmap', group: 'memory' }],
  [12, { name: 'brk', group: 'memory' }],
  [25, { name: 'mremap', group: 'memory' }],
  [26, { name: 'msync', group: 'memory' }],
  [28, { name: 'madvise', group: 'memory' }],
  [29, { name: 'shmget', group: 'memory' }],
  [30, { name: 'shmat', group: 'memory' }],
  [67, { name: 'shmdt', group: 'memory' }],
  [149, { name: 'mlock', group: 'memory' }],
  [150, { name: 'munlock', group: 'memory' }],
  [151, { name: 'mlockall', group: 'memory', bareHex: [0] }],
  [152, { name: 'munlockall', group: 'memory' }],
  [325, { name: 'mlock2', group: 'memory' }],
  [2, { name: 'open', group: 'file', pathArg: 0 }],
  [257, { name: 'openat', group: 'file', pathArg: 1 }],
  [3, { name: 'close', group: 'file' }],
  [32, { name: 'dup', group: 'file' }],
  [33, { name: 'dup2', group: 'file' }],
  [292, { name: 'dup3', group: 'file' }],
  [77, { name: 'ftruncate', group: 'file' }],
  [319, { name: 'memfd_create', group: 'file' }],
  [56, { name: 'clone', group: 'process', bareHex: [0] }],
  [57, { name: 'fork', group: 'process' }],
  [58, { name: 'vfork', group: 'process' }],
  [59, { name: 'execve', group: 'process', pathArg: 0 }],
  [60, { name: 'exit', group: 'process' }],
  [231, { name: 'exit_group', group: 'process' }],
]);

/** clone's flag that makes a thread (shares the thread group), and the one that shares the address space. */
export const CLONE_THREAD = 0x10000;
export const CLONE_VM = 0x100;
export const CLONE_VFORK = 0x4000;

/** The x86-64 numbers of the calls that make a process (when clone has no CLONE_THREAD). */
export const FORK_LIKE = new Set([56, 57, 58]);

/** The name of a recorded call by number (`syscall NR` for any other). */
export function syscallName(nr: number): string {
  return RECORDED_SYSCALLS.get(nr)?.name ?? `syscall ${nr}`;
}
