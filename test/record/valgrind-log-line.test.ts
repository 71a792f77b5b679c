/** Valgrind's log lines as 3.19 prints them (taken from real recordings), cut into pieces. */
import { describe, expect, it } from 'vitest';
import { logPieces, readArgs } from '../../src/record/valgrind-log-line.js';

describe('valgrind log lines', () => {
  it('reads a complete call: arguments (hex, decimal, unsigned fds), the path argument, the result', () => {
    expect(logPieces('SYSCALL[29064,1](9) sys_mmap ( 0x0, 8192, 3, 34, 4294967295, 0 ) --> [pre-success] Success(0x4835000) ')).toEqual([
      { kind: 'syscall', pid: 29064, tid: 1, nr: 9, args: [0n, 8192n, 3n, 34n, 4294967295n, 0n] },
      { kind: 'result', pending: false, value: 0x4835000n },
    ]);
    expect(logPieces('SYSCALL[29064,1](3) sys_close ( 4 )[sync] --> Success(0x0) ')).toEqual([
      { kind: 'syscall', pid: 29064, tid: 1, nr: 3, args: [4n] },
      { kind: 'result', pending: false, value: 0n },
    ]);
    expect(logPieces('SYSCALL[30396,1](25) sys_mremap ( 0x4a2b000, 65536, 131072, 0x1 ) --> [pre-fail] Failure(0x16) ')).toEqual([
      { kind: 'syscall', pid: 30396, tid: 1, nr: 25, args: [0x4a2b000n, 65536n, 131072n, 1n] },
      { kind: 'result', pending: false, value: -22n },
    ]);
    expect(logPieces('SYSCALL[30396,1](257) sys_openat ( 4294967196, 0x10a004(/tmp/a, b) c.dat), 66, 420 ) --> [async] ... ')).toEqual([
      { kind: 'syscall', pid: 30396, tid: 1, nr: 257, args: [4294967196n, 0x10a004n, 66n, 420n], path: '/tmp/a, b) c.dat' },
      { kind: 'result', pending: true, value: 0n },
    ]);
    expect(logPieces('SYSCALL[30396,1](257) ... [async] --> Success(0x4) ')).toEqual([
      { kind: 'async-done', pid: 30396, tid: 1, nr: 257 },
      { kind: 'result', pending: false, value: 4n },
    ]);
  });

  it('clone prints its flags in bare hexadecimal; calls that are not recorded keep no arguments', () => {
    expect(logPieces('SYSCALL[29064,1](56) sys_clone ( 3d0f00, 0x522af70, 0x522b990, 0x522b990, 0x522b6c0 ) --> [pre-success] Success(0x71bc) --29064--   SCHED[1]: releasing lock (VG_(vg_yield)) -> VgTs_Yielding')).toEqual([
      { kind: 'syscall', pid: 29064, tid: 1, nr: 56, args: [0x3d0f00n, 0x522af70n, 0x522b990n, 0x522b990n, 0x522b6c0n] },
      { kind: 'result', pending: false, value: 0x71bcn },
      { kind: 'sched', pid: 29064, tid: 1, what: 'releasing lock (VG_(vg_yield)) -> VgTs_Yielding' },
    ]);
    expect(logPieces('SYSCALL[29064,1](262) sys_newfstatat ( 4, 0x4029c99(), 0x1ffeffebd0 )[sync] --> Success(0x0) ')).toEqual([
      { kind: 'syscall', pid: 29064, tid: 1, nr: 262 },
      { kind: 'result', pending: false, value: 0n },
    ]);
  });

  it('pieces of a forked child and its parent glued on one line come apart', () => {
    expect(logPieces('SYSCALL[2765,1](56) sys_clone ( 1200011, 0x0, 0x0, 0x4a28a10, 0x0 ) --> [pre-success] Success(0x0)   clone(fork): process 2765 created child 2805')).toEqual([
      { kind: 'syscall', pid: 2765, tid: 1, nr: 56, args: [0x1200011n, 0n, 0n, 0x4a28a10n, 0n] },
      { kind: 'result', pending: false, value: 0n },
      { kind: 'forked', parent: 2765, child: 2805 },
    ]);
    expect(logPieces(' --> [pre-success] Success(0xaf5) --2765--   SCHED[1]: releasing lock (VG_(vg_yield)) -> VgTs_Yielding')).toEqual([
      { kind: 'result', pending: false, value: 0xaf5n },
      { kind: 'sched', pid: 2765, tid: 1, what: 'releasing lock (VG_(vg_yield)) -> VgTs_Yielding' },
    ]);
    expect(logPieces('SYSCALL[2805,1](59) sys_execve ( 0x10a01e(/bin/true), 0x1fff0002f0, 0x1fff0006a8 )--2765--   SCHED[1]:  acquired lock (VG_(vg_yield))')).toEqual([
      { kind: 'syscall', pid: 2805, tid: 1, nr: 59, args: [0x10a01en, 0x1fff0002f0n, 0x1fff0006a8n], path: '/bin/true' },
      { kind: 'sched', pid: 2765, tid: 1, what: 'acquired lock (VG_(vg_yield))' },
    ]);
    expect(logPieces('SYSCALL[6518,1](58) sys_fork ( ) --> [pre-success] Success(0x0)   fork: process 6518 created child 6532')).toEqual([
      { kind: 'syscall', pid: 6518, tid: 1, nr: 58, args: [] },
      { kind: 'result', pending: false, value: 0n },
      { kind: 'forked', parent: 6518, child: 6532 },
    ]);
    // Torn: the arguments went elsewhere.
    expect(logPieces('SYSCALL[7,2](9) --7--   SCHED[2]: releasing lock')).toEqual([
      { kind: 'syscall', pid: 7, tid: 2, nr: 9 },
      { kind: 'sched', pid: 7, tid: 2, what: 'releasing lock' },
    ]);
  });

  it("valgrind's messages, exit calls and unknown text", () => {
    expect(logPieces('==30421== Process terminating with default action of signal 11 (SIGSEGV)')).toEqual([{ kind: 'message', pid: 30421, text: 'Process terminating with default action of signal 11 (SIGSEGV)' }]);
    expect(logPieces('SYSCALL[29064,3](60) exit( 0 ) --> [pre-success] Success(0x0) ')).toEqual([
      { kind: 'syscall', pid: 29064, tid: 3, nr: 60, args: [0n] },
      { kind: 'result', pending: false, value: 0n },
    ]);
    expect(logPieces('whatever the program printed')).toEqual([]);
    expect(readArgs('sys_mlockall ( 3 )', [0], undefined)).toEqual({ values: [3n] });
    expect(readArgs('sys_shmat ( -1, 0x0, 0 )', [], undefined)).toEqual({ values: [2n ** 64n - 1n, 0n, 0n] });
    expect(readArgs('sys_mmap ( 0x0, zz )', [], undefined)).toBeUndefined();
  });
});
