/**
 * A recorded memory system call executed through the VMM, with the recorded arguments, and
 * its result compared with the recorded one. Where Linux chose the address (mmap without
 * MAP_FIXED, shmat), the call is made MAP_FIXED at the recorded result, so the addresses stay
 * the trace's. A call the program saw fail is executed as recorded (it should fail here too).
 *
 * What is not Linux's own here, because the recording was made under valgrind or because the
 * trace holds no file contents: brk is valgrind's emulation (its heap is an rwx mapping from the
 * base, one page at least, growing within 8 MiB), and a file's pages read as zeros (the files
 * are the replay machine's, through its page cache: recorded-files.ts).
 */
import { VmmError } from '../../errors.js';
import type { SyscallEvent } from '../../trace/trace-events.js';
import type { AddressSpace } from '../../vmm/address-space.js';
import type { RecordedFiles } from './recorded-files.js';
import type { RecordedProcessState } from './recorded-process.js';

const PAGE = 4096;
const MAP_SHARED = 0x01;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const MAP_GROWSDOWN = 0x100;
const MAP_LOCKED = 0x2000;
const MAP_NORESERVE = 0x4000;
const MAP_POPULATE = 0x8000;
const MAP_FIXED_NOREPLACE = 0x100000;
const MREMAP_MAYMOVE = 1;
const MREMAP_FIXED = 2;
const MREMAP_DONTUNMAP = 4;
/** valgrind's brk segment reservation (VG_(brk) limit: 8 MiB past the base). */
const BRK_RESERVATION = 8 << 20;

/** Linux's errno numbers of the codes the VMM raises. */
const ERRNO: Record<string, number> = { EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, EBADF: 9, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, ENODEV: 19, EINVAL: 22, EMFILE: 24, EFBIG: 27, ENOSPC: 28, EOVERFLOW: 75 };

/** What executing a call gave: a result to compare, or that it is not replayed (counted apart). */
export type CallOutcome = { result: bigint } | { notReplayed: true };

/** Runs a function of the VMM: its return value, or -errno for the VmmError it raised. */
/** A VMM call's result as a system call returns it: its value, or -errno for the VmmError it threw. */
export function attempt(f: () => bigint | number | void): bigint {
  try {
    const r = f();
    return typeof r === 'bigint' ? r : BigInt(r ?? 0);
  } catch (e) {
    if (e instanceof VmmError) return -BigInt(ERRNO[e.code] ?? 22);
    throw e;
  }
}

function protString(p: bigint): string {
  const n = Number(p & 7n);
  return n === 0 ? 'none' : `${n & 1 ? 'r' : ''}${n & 2 ? 'w' : ''}${n & 4 ? 'x' : ''}`;
}

const pageUp = (n: number) => Math.ceil(n / PAGE) * PAGE;
const num = (b: bigint | undefined) => Number(b ?? 0n);

/** Executes memory-call `e` for process `p`; file-descriptor and process calls are the replay's own business (program-replay.ts). */
export function replayMemoryCall(e: SyscallEvent, p: RecordedProcessState, files: RecordedFiles, fileOf: (fd: number) => ReturnType<RecordedProcessState['fds']['get']>): CallOutcome {
  const s = p.space;
  const a = e.args;
  const ok = e.result >= 0n;
  switch (e.nr) {
    case 9: {
      const flags = num(a[3]);
      const shared = (flags & 3) === MAP_SHARED || (flags & 3) === 3;
      const length = num(a[1]);
      const anonymous = (flags & MAP_ANONYMOUS) !== 0;
      const fd = Number(BigInt.asIntN(32, a[4] ?? 0n));
      const file = anonymous ? undefined : fileOf(fd);
      if (!anonymous && !file && ok) throw new ReplayInputError(`mmap of file descriptor ${fd}, which no open in the trace gave`);
      const fixed = ok || (flags & MAP_FIXED) !== 0;
      const addr = ok ? num(e.result) : num(a[0]);
      // The file grows to reach the mapping's end inside the attempt: a size the filesystem refuses is the call's error.
      const opts = () => ({
        ...(addr !== 0 || fixed ? { addr } : {}),
        length,
        prot: protString(a[2] ?? 0n),
        ...(shared ? { shared: true } : {}),
        ...(fixed ? { fixed: true } : (flags & MAP_FIXED_NOREPLACE) !== 0 ? { noReplace: true } : {}),
        ...((flags & MAP_NORESERVE) !== 0 ? { noReserve: true } : {}),
        ...((flags & MAP_POPULATE) !== 0 ? { populate: true } : {}),
        ...((flags & MAP_GROWSDOWN) !== 0 ? { growsDown: true } : {}),
        ...((flags & MAP_LOCKED) !== 0 ? { locked: true } : {}),
        ...(file ? { file: files.open(file, num(a[5]) + pageUp(length)), offset: num(a[5]) } : {}),
      });
      return { result: attempt(() => s.mmap(opts())) };
    }
    case 11:
      return { result: attempt(() => s.munmap(num(a[0]), num(a[1]))) };
    case 10:
      return { result: attempt(() => s.mprotect(num(a[0]), num(a[1]), protString(a[2] ?? 0n))) };
    case 12:
      return { result: brk(p, num(a[0])) };
    case 25:
      return { result: mremap(e, s) };
    case 28:
      return { result: attempt(() => s.madvise(num(a[0]), num(a[1]), num(a[2]))) };
    case 149:
      return { result: attempt(() => s.mlock(num(a[0]), num(a[1]))) };
    case 325:
      return { result: attempt(() => s.mlock2(num(a[0]), num(a[1]), num(a[2]))) };
    case 150:
      return { result: attempt(() => s.munlock(num(a[0]), num(a[1]))) };
    case 151:
      return { result: attempt(() => s.mlockall(num(a[0]))) };
    case 152:
      return { result: attempt(() => s.munlockall()) };
    case 26:
      // msync: MS_SYNC writes the dirty page cache pages back to the machine's disk.
      return { result: attempt(() => s.msync(num(a[0]), num(a[1]), num(a[2]))) };
    default:
      return { notReplayed: true };
  }
}

/** valgrind's brk (what the program got): from its base, one rwx page at least, growing within its reservation. */
function brk(p: RecordedProcessState, want: number): bigint {
  const b = p.brk;
  if (!b) return -22n;
  if (want === 0 || want < b.base || want > b.base + BRK_RESERVATION) return BigInt(b.end);
  const oldEnd = Math.max(pageUp(b.end), b.base + PAGE);
  const newEnd = Math.max(pageUp(want), b.base + PAGE);
  if (newEnd > oldEnd) {
    const r = attempt(() => p.space.mmap({ addr: oldEnd, length: newEnd - oldEnd, prot: 'rwx', fixed: true }));
    if (r < 0n) return BigInt(b.end);
  } else if (newEnd < oldEnd) {
    attempt(() => p.space.munmap(newEnd, oldEnd - newEnd));
  }
  b.end = want;
  return BigInt(want);
}

/**
 * mremap through the VMM's: where the recording moved the mapping, MREMAP_FIXED to the address
 * it got (as mmap is MAP_FIXED at its result); a call that failed runs with its own flags.
 */
function mremap(e: SyscallEvent, s: AddressSpace): bigint {
  const [oldA, oldL, newL, flagsB, newA] = e.args;
  const old = num(oldA);
  const flags = num(flagsB);
  if (e.result < 0n) return attempt(() => s.mremap(old, num(oldL), num(newL), { flags, ...((flags & MREMAP_FIXED) !== 0 ? { newAddr: num(newA) } : {}) }));
  const to = num(e.result);
  if (to === old && (flags & MREMAP_DONTUNMAP) === 0) return attempt(() => s.mremap(old, num(oldL), num(newL)));
  return attempt(() => s.mremap(old, num(oldL), num(newL), { flags: flags | MREMAP_MAYMOVE | MREMAP_FIXED, newAddr: to }));
}

/** A trace that cannot be replayed as it stands (a call on something it never made). */
export class ReplayInputError extends Error {}

/** The name of an errno number, for reports. */
export function errnoName(n: number): string {
  return Object.entries(ERRNO).find(([, v]) => v === n)?.[0] ?? `errno ${n}`;
}
