/** The log interpreter on valgrind logs written by hand after real ones: thread numbers, who runs, forks with torn pieces, exec failures, fatal signals. */
import { describe, expect, it } from 'vitest';
import { LogInterpreter } from '../../src/record/log-interpreter.js';
import { ProcessTable } from '../../src/record/process-table.js';
import type { NewTraceEvent } from '../../src/trace/trace-events.js';

/** Runs log lines through an interpreter; an access line ('I', ' L' …) counts one record for the current thread. */
function run(log: string) {
  let records = 0;
  const out: string[] = [];
  const perThread = new Map<string, number>();
  let ctx = '?';
  const execs: number[] = [];
  const table = new ProcessTable();
  const it = new LogInterpreter(
    table,
    {
      event: (e: NewTraceEvent) => out.push(`${records} ${show(e)}`),
      context: (pid, thread) => {
        ctx = `${pid}/${thread}`;
        // As the connection does: of switches with no record between them only the last counts.
        if (out.length > 0 && out[out.length - 1]!.startsWith(`${records} run `)) out.pop();
        out.push(`${records} run ${ctx}`);
      },
      records: () => records,
    },
    { execCalled: (p) => execs.push(p.pid), message: () => {} },
  );
  for (const line of log.split('\n')) {
    if (/^(I  | [LSM] )/.test(line)) {
      records++;
      perThread.set(ctx, (perThread.get(ctx) ?? 0) + 1);
    } else it.line(line);
  }
  it.end();
  return { out, perThread: Object.fromEntries(perThread), counts: it.counts, execs, table };
}

function show(e: NewTraceEvent): string {
  if (e.type === 'syscall') return `${e.pid}/${e.thread} nr${e.nr}=${e.result}${e.child !== undefined ? ` child ${e.child}` : ''}${e.path ? ` ${e.path}` : ''}`;
  if (e.type === 'end') return `end ${e.pid} signal ${e.signal}`;
  return e.type;
}

const I = 'I  04001000,3';

describe('log interpreter', () => {
  it('threads are numbered in creation order whatever slot valgrind reuses, and accesses go to the thread holding the lock', () => {
    const r = run(
      [
        '--10--   SCHED[1]:  acquired lock (thread_wrapper(starting new thread))',
        I,
        'SYSCALL[10,1](56) sys_clone ( 3d0f00, 0x522af70, 0x522b990, 0x522b990, 0x522b6c0 ) --> [pre-success] Success(0x71bc) --10--   SCHED[1]: releasing lock (VG_(vg_yield)) -> VgTs_Yielding',
        '--10--   SCHED[2]:  acquired lock (thread_wrapper(starting new thread))',
        I,
        I,
        'SYSCALL[10,2](60) exit( 0 ) --> [pre-success] Success(0x0) ',
        '--10--   SCHED[2]: exiting VG_(scheduler)',
        '--10--   SCHED[2]: release lock in VG_(exit_thread)',
        '--10--   SCHED[1]:  acquired lock (VG_(vg_yield))',
        I,
        // Slot 2 is free again: valgrind gives it to the next thread, which is the trace's thread 3.
        'SYSCALL[10,1](56) sys_clone ( 3d0f00, 0x5a2bf70, 0x5a2c990, 0x5a2c990, 0x5a2c6c0 ) --> [pre-success] Success(0x71bd) ',
        '--10--   SCHED[1]: releasing lock (VG_(vg_yield)) -> VgTs_Yielding',
        '--10--   SCHED[2]:  acquired lock (thread_wrapper(starting new thread))',
        I,
        'SYSCALL[10,2](11) sys_munmap ( 0x483c000, 32768 )[sync] --> Success(0x0) ',
        'SYSCALL[10,2](231) exit_group( 0 ) --> [pre-success] Success(0x0) ',
      ].join('\n'),
    );
    expect(r.out).toEqual([
      '0 run 10/1',
      '1 10/1 nr56=29116 child 2',
      '1 run 10/2',
      '3 10/2 nr60=0',
      '3 run 10/1',
      '4 10/1 nr56=29117 child 3',
      '4 run 10/3',
      '5 10/3 nr11=0',
      '5 10/3 nr231=0',
    ]);
    expect(r.perThread).toEqual({ '10/1': 2, '10/2': 2, '10/3': 1 });
    expect(r.table.threadsSeen).toBe(3);
  });

  it("a fork: the child's result (0) and the parent's come torn; the child runs from its result, the parent from its own", () => {
    const r = run(
      [
        '--20--   SCHED[1]:  acquired lock (thread_wrapper(starting new thread))',
        I,
        'SYSCALL[20,1](56) sys_clone ( 1200011, 0x0, 0x0, 0x4a28a10, 0x0 )   clone(fork): process 20 created child 21',
        '==21== (action at startup) vgdb me ... ',
        ' --> [pre-success] Success(0x15) --20--   SCHED[1]: releasing lock (VG_(vg_yield)) -> VgTs_Yielding',
        ' --> [pre-success] Success(0x0) ',
        I,
        I,
        'SYSCALL[21,1](59) sys_execve ( 0x10a01e(/bin/true), 0x1fff0002f0, 0x1fff0006a8 )--20--   SCHED[1]:  acquired lock (VG_(vg_yield))',
        I,
        'SYSCALL[20,1](231) exit_group( 0 ) --> [pre-success] Success(0x0) ',
      ].join('\n'),
    );
    expect(r.out).toEqual(['0 run 20/1', '1 20/1 nr56=21 child 21', '1 run 21/1', '3 run 20/1', '4 20/1 nr231=0']);
    expect(r.perThread).toEqual({ '20/1': 2, '21/1': 2 });
    expect(r.execs).toEqual([21]);
    expect(r.counts).toEqual({ ambiguousRecords: 0, orphanResults: 0, tornCalls: 0 });
  });

  it("posix_spawn: the child's lines before its parent names it; the fork is written before anything of the child's", () => {
    const r = run(
      [
        '--30--   SCHED[1]:  acquired lock (thread_wrapper(starting new thread))',
        'SYSCALL[30,1](56) sys_clone ( 4111, 0x4844ff0, 0x0, 0x0, 0x0 )==31== (action at startup) vgdb me ... ',
        ' --> [pre-success] Success(0x0) ',
        I,
        'SYSCALL[31,1](14) sys_rt_sigprocmask ( 0, 0x0, 0x4844ea0, 8 ) --> [pre-success] Success(0x0) ',
        I,
        I,
        'SYSCALL[31,1](59) sys_execve ( 0x10a004(/bin/true), 0x1fff000540, 0x1fff000688 )   clone(fork): process 30 created child 31',
        ' --> [pre-success] Success(0x1f) --30--   SCHED[1]: releasing lock (VG_(vg_yield)) -> VgTs_Yielding',
        '--30--   SCHED[1]:  acquired lock (VG_(vg_yield))',
        I,
      ].join('\n'),
    );
    expect(r.out).toEqual(['0 run 30/1', '1 30/1 nr56=31 child 31', '1 run 31/1', '3 run 30/1']);
    // The record between the child's result and its first line is the child's, but nothing named it yet: counted as unsure.
    expect(r.perThread).toEqual({ '30/1': 2, '31/1': 2 });
    expect(r.counts.ambiguousRecords).toBe(1);
    expect(r.execs).toEqual([31]);
  });

  it('an execve that fails returns its error and the child runs on; a fatal signal ends a process', () => {
    const r = run(
      [
        '--40--   SCHED[1]:  acquired lock (thread_wrapper(starting new thread))',
        'SYSCALL[40,1](57) sys_fork ( ) --> [pre-success] Success(0x29)   fork: process 40 created child 41',
        '--40--   SCHED[1]: releasing lock (VG_(vg_yield)) -> VgTs_Yielding',
        ' --> [pre-success] Success(0x0) ',
        'SYSCALL[41,1](59) sys_execve ( 0x10a01e(/nope), 0x1fff0002f0, 0x1fff0006a8 )',
        ' --> [pre-fail] Failure(0x2) ',
        I,
        '==41== Process terminating with default action of signal 11 (SIGSEGV)',
        '--40--   SCHED[1]:  acquired lock (VG_(vg_yield))',
        I,
      ].join('\n'),
    );
    expect(r.out).toEqual(['0 run 40/1', '0 40/1 nr57=41 child 41', '0 run 41/1', '0 41/1 nr59=-2 /nope', '1 end 41 signal 11', '1 run 40/1']);
    expect(r.perThread).toEqual({ '41/1': 1, '40/1': 1 });
  });

  it('results nobody can own are counted, and so are calls whose arguments were torn off', () => {
    const r = run(
      [
        '--50--   SCHED[1]:  acquired lock (thread_wrapper(starting new thread))',
        ' --> [pre-success] Success(0x5) ',
        'SYSCALL[50,1](9) --51--   SCHED[1]: releasing lock',
      ].join('\n'),
    );
    expect(r.counts).toMatchObject({ orphanResults: 1, tornCalls: 1 });
  });
});
