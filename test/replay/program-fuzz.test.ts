/**
 * A trace of processes made of random events — images, mappings, thread switches, any recorded
 * system call with odd arguments and results, process ends — among random accesses: replay
 * either finishes (every call counted as agreeing, disagreeing or not replayed) or refuses the
 * trace with a TraceFormatError at an event's offset. Nothing else may escape: no VmmError, no
 * TypeError, no crash.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { replay } from '../../src/replay/replay.js';
import { TraceFormatError } from '../../src/trace/trace-error.js';
import type { NewTraceEvent, TraceEvent } from '../../src/trace/trace-events.js';
import { packRecord, type TraceChunk } from '../../src/trace/trace-record.js';
import { RECORDED_SYSCALLS } from '../../src/record/recorded-syscalls.js';
import { propertyOptions } from '../property-options.js';

const NRS = [...RECORDED_SYSCALLS.keys()];
const ADDRS = [0x400000, 0x401000, 0x10000000, 0x10001000, 0x20000000, 0x7fe000, 0x7ff000, 0x900000, 0];
const arg = fc.oneof(fc.constantFrom(...ADDRS.map(BigInt)), fc.constantFrom(0n, 1n, 2n, 3n, 4n, 7n, 14n, 0x22n, 0x1000n, 0x4000n, 0x8000n, 0x10000n, 0x100000n, 0xffffffffffffffffn), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
const result = fc.oneof(fc.constantFrom(0n, -1n, -9n, -12n, -22n, 3n, 4n, 101n, 0x10000000n, 0x20000000n, 0x400000n), fc.bigInt({ min: -4095n, max: 1n << 47n }));
/** Calls on descriptors 3 and 4, so that opens, mmaps of files, ftruncates and closes meet. */
const fdCall = fc.record({ nr: fc.constantFrom(257, 9, 77, 3, 32), fd: fc.constantFrom(3n, 4n), size: fc.constantFrom(0n, 4096n, 0x4000n, 1n << 50n, (1n << 64n) - 1n), off: fc.constantFrom(0n, 4096n, 1n << 46n) }).map(
  ({ nr, fd, size, off }): Step => ({
    event:
      nr === 257
        ? { type: 'syscall', pid: 100, thread: 1, nr, args: [0xffffff9cn, 0x1000n, 2n], result: fd, path: '/data/f', file: { dev: 1, inode: Number(fd), size: 4096 } }
        : nr === 9
          ? { type: 'syscall', pid: 100, thread: 1, nr, args: [0n, size, 3n, 1n, fd, off], result: 0x30000000n }
          : { type: 'syscall', pid: 100, thread: 1, nr, args: [fd, size], result: nr === 32 ? 5n : 0n },
  }),
);
const pid = fc.constantFrom(100, 101, 102);
const thread = fc.constantFrom(1, 2, 3);

type Step = { access: [number, number] } | { event: NewTraceEvent };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ access: fc.tuple(fc.oneof(fc.constantFrom(...ADDRS), fc.integer({ min: 0, max: 2 ** 32 })), fc.integer({ min: 0, max: 3 })) }) },
  {
    weight: 4,
    arbitrary: fc.record({ pid, thread, nr: fc.constantFrom(...NRS), args: fc.array(arg, { maxLength: 6 }), result, path: fc.option(fc.constantFrom('/lib/libc.so.6', '/bin/true', 'x'), { nil: undefined }), child: fc.option(fc.constantFrom(2, 3, 101, 102), { nil: undefined }) }).map(
      ({ pid, thread, nr, args, result, path, child }): Step => ({ event: { type: 'syscall', pid, thread, nr, args, result, ...(path !== undefined ? { path } : {}), ...(child !== undefined ? { child } : {}) } }),
    ),
  },
  { weight: 2, arbitrary: fc.record({ pid, thread }).map(({ pid, thread }): Step => ({ event: { type: 'thread', pid, thread } })) },
  { weight: 3, arbitrary: fdCall },
  { weight: 1, arbitrary: fc.record({ pid, path: fc.constantFrom('/bin/prog', '/bin/true') }).map(({ pid, path }): Step => ({ event: { type: 'image', pid, parent: 0, path } })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ pid, start: fc.constantFrom(0x400000, 0x10000000, 0x7f0000), pages: fc.integer({ min: 1, max: 16 }), prot: fc.constantFrom('r--', 'rw-', 'r-x', '---'), kind: fc.constantFrom('anon', 'file', 'brk', 'stack' as const), shared: fc.boolean() })
      .map(({ pid, start, pages, prot, kind, shared }): Step => ({ event: { type: 'map', pid, start, end: start + pages * 4096, prot, shared, kind, offset: 0, dev: 1, inode: kind === 'file' ? 7 : 0, ...(kind === 'file' ? { path: '/lib/x.so', size: 8192 } : {}), ...(kind === 'brk' ? { brk: start + 100 } : {}) } })),
  },
  { weight: 1, arbitrary: fc.record({ pid, signal: fc.constantFrom(0, 9) }).map(({ pid, signal }): Step => ({ event: { type: 'end', pid, status: 0, signal } })) },
);

/** One chunk: a first image (most traces start as recordings do), then the steps. */
function chunkOf(steps: Step[], startWithImage: boolean): TraceChunk {
  const accesses = steps.filter((s) => 'access' in s).length;
  const words = new Uint32Array(Math.max(1, accesses) * 2);
  const events: TraceEvent[] = [];
  const place = (e: NewTraceEvent, at: number) => events.push({ ...e, at, byteOffset: 16 + 8 * (at + events.length) } as TraceEvent);
  if (startWithImage) {
    place({ type: 'image', pid: 100, parent: 0, path: '/bin/prog' }, 0);
    place({ type: 'map', pid: 100, start: 0x400000, end: 0x402000, prot: 'r-x', shared: false, kind: 'anon', offset: 0, dev: 0, inode: 0 }, 0);
    place({ type: 'map', pid: 100, start: 0x7ff000, end: 0x800000, prot: 'rw-', shared: false, kind: 'stack', offset: 0, dev: 0, inode: 0 }, 0);
    place({ type: 'thread', pid: 100, thread: 1 }, 0);
  }
  let n = 0;
  for (const s of steps) {
    if ('access' in s) packRecord(words, n++, s.access[0], s.access[1], 8);
    else place(s.event, n);
  }
  return { words, count: n, events };
}

describe('a trace of random processes, calls and accesses', () => {
  it('replays, or is refused with a TraceFormatError; nothing else escapes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), fc.boolean(), fc.integer({ min: 1, max: 3 }), fc.boolean(), async (steps, startWithImage, cpus, strict) => {
        try {
          const r = await replay([chunkOf(steps, startWithImage)], { cpus, strict });
          const p = r.program;
          if (p) {
            for (const row of Object.values(p.syscalls)) expect(row.agree + row.disagree).toBe(row.calls);
            expect(p.processes.reduce((n, q) => n + q.accesses, 0)).toBe(r.accesses);
          }
        } catch (e) {
          if (!(e instanceof TraceFormatError)) throw e;
          expect(e.message.length).toBeGreaterThan(0);
        }
      }),
      propertyOptions(400, 60),
    );
  }, 120_000);
});
