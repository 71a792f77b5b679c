/**
 * The log interpreter on random logs made of the lines valgrind writes — system calls whole or
 * torn in two, with odd numbers, arguments and results; scheduler lines; access lines; fatal
 * signals; garbage — from several processes at once: it never throws, every event it writes
 * names a process and thread it knows of, and access records are only ever attributed to a
 * thread of a process.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LogInterpreter } from '../../src/record/log-interpreter.js';
import { ProcessTable } from '../../src/record/process-table.js';
import { RECORDED_SYSCALLS } from '../../src/record/recorded-syscalls.js';
import type { NewTraceEvent } from '../../src/trace/trace-events.js';
import { propertyOptions } from '../property-options.js';

const NRS = [...RECORDED_SYSCALLS.entries()];
const pid = fc.constantFrom(10, 11, 12);
const tid = fc.constantFrom(1, 2, 3);
const hex = fc.oneof(fc.constantFrom('0x0', '0x1000', '0x4835000', '0x10000', '0xffffffffffffffff'), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => `0x${v.toString(16)}`));
const result = fc.oneof(
  hex.map((h) => `Success(${h})`),
  fc.constantFrom('Failure(0xc)', 'Failure(0x16)', 'Failure(0x2)', '[pre-success] Success(0x0)', 'Success(0x0)', '...'),
);

const line: fc.Arbitrary<string[]> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ pid, tid, call: fc.constantFrom(...NRS), args: fc.array(hex, { maxLength: 6 }), result, torn: fc.integer({ min: 0, max: 2 }) }).map(({ pid, tid, call, args, result, torn }): string[] => {
      const [nr, info] = call;
      const a = info.pathArg !== undefined ? args.map((x, i) => (i === info.pathArg ? `${x}(/lib/x.so)` : x)) : args;
      const head = `SYSCALL[${pid},${tid}](${nr}) sys_${info.name} ( ${a.join(', ')} )`;
      // Whole, or its first piece now and its result on a line of its own (another process's output between).
      if (torn === 0) return [`${head} --> ${result}`];
      return [`${head} ...`, `SYSCALL[${pid},${tid}](${nr}) ... [async] --> ${result}`];
    }),
  },
  { weight: 3, arbitrary: fc.record({ pid, tid }).map(({ pid, tid }) => [`--${pid}--   SCHED[${tid}]:  acquired lock (VG_(vg_yield))`]) },
  { weight: 1, arbitrary: fc.record({ pid, tid }).map(({ pid, tid }) => [`--${pid}--   SCHED[${tid}]: releasing lock (VG_(vg_yield)) -> VgTs_Yielding`]) },
  { weight: 6, arbitrary: fc.constantFrom('I  04001000,3', ' L 1ffefff000,8', ' S 04002000,4', ' M 04003000,1').map((l) => [l]) },
  { weight: 1, arbitrary: pid.map((p) => [`==${p}== Process terminating with default action of signal 11 (SIGSEGV)`]) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => [s]) },
);

describe('the log interpreter on random logs', () => {
  it('never throws; its events name known processes and threads; every access has a thread', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 60 }), (pieces) => {
        const table = new ProcessTable();
        const events: NewTraceEvent[] = [];
        let context: [number, number] | undefined;
        let records = 0;
        let unattributed = 0;
        const it = new LogInterpreter(
          table,
          { event: (e) => events.push(e), context: (p, t) => (context = [p, t]), records: () => records },
          { execCalled: () => {}, message: () => {} },
        );
        it.line('--10--   SCHED[1]:  acquired lock (thread_wrapper(starting new thread))');
        for (const l of pieces.flat()) {
          if (/^(I  | [LSM] )/.test(l)) {
            records++;
            if (!context) unattributed++;
          } else it.line(l);
        }
        it.end();
        expect(unattributed).toBe(0);
        for (const e of events) {
          if (e.type === 'syscall' || e.type === 'thread') {
            expect(e.thread).toBeGreaterThanOrEqual(1);
            expect(e.pid).toBeGreaterThan(0);
          }
        }
      }),
      propertyOptions(2000, 300),
    );
  });
});
