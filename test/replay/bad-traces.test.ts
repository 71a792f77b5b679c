/**
 * Bad input from the command line, as issue 21 lists it: a truncated event record, a syscall
 * record for an unknown thread, an execve whose program the trace never gives, a ChampSim file
 * of the wrong record size. Each command that reads the trace exits 1 with the file's name and
 * the byte offset on stderr, and leaves nothing behind (no output file, no stray file beside).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBinaryTrace } from '../../src/trace/trace-writer.js';
import { encodeEvent, type NewTraceEvent, type TraceEvent } from '../../src/trace/trace-events.js';
import { encodeHeader } from '../../src/trace/binary-trace.js';
import { packRecord } from '../../src/trace/trace-record.js';
import { champsimBytes } from '../trace/champsim-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'vmsim-bad-traces-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const START: NewTraceEvent[] = [
  { type: 'image', pid: 100, parent: 0, path: '/bin/prog' },
  { type: 'map', pid: 100, start: 0x400000, end: 0x401000, prot: 'r-x', shared: false, kind: 'anon', offset: 0, dev: 0, inode: 0 },
  { type: 'map', pid: 100, start: 0x7ff000, end: 0x800000, prot: 'rw-', shared: false, kind: 'stack', offset: 0, dev: 0, inode: 0 },
  { type: 'thread', pid: 100, thread: 1 },
];

/** A version-2 trace of START, then `more`, all before one fetch at 0x400010. */
async function processTrace(name: string, more: NewTraceEvent[]): Promise<string> {
  const words = new Uint32Array(2);
  packRecord(words, 0, 0x400010, 2, 4);
  const path = join(dir, name);
  await writeBinaryTrace(path, [{ words, count: 1, events: [...START, ...more].map((e) => ({ ...e, at: 0, byteOffset: 0 }) as TraceEvent) }], { events: true });
  return path;
}

function vmsim(args: string[]) {
  return spawnSync(process.execPath, [join(process.cwd(), 'dist/cli/main.js'), ...args], { encoding: 'utf8', cwd: dir });
}

/** Runs each command on `file`; each must exit 1 with `message` (which names the offset) and leave the directory as it was. */
function refused(file: string, commands: string[][], message: RegExp): void {
  const before = readdirSync(dir).sort();
  for (const args of commands) {
    const r = vmsim([...args.slice(0, 1), file, ...args.slice(1)]);
    expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(1);
    expect(r.stderr, args.join(' ')).toMatch(message);
    expect(r.stderr, args.join(' ')).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(readdirSync(dir).sort(), args.join(' ')).toEqual(before);
  }
}

describe('bad traces from the command line: exit 1, the offset, nothing left behind', () => {
  let truncated: string;
  beforeAll(() => {
    // A trace of processes whose second event (the MAP) is cut 5 bytes short.
    const image = Buffer.from(encodeEvent(START[0]!));
    const map = Buffer.from(encodeEvent(START[1]!));
    truncated = join(dir, 'truncated.trace');
    writeFileSync(truncated, Buffer.concat([Buffer.from(encodeHeader(2)), image, map.subarray(0, map.length - 5)]));
  });

  it('a truncated event record', () => {
    const at = 16 + encodeEvent(START[0]!).length;
    refused(truncated, [['replay'], ['replay', '--cpus', '2'], ['maps'], ['convert', 'out.bin'], ['convert', 'out.bin', '--accesses-only'], ['sweep', '--tlb-entries', '16,64']], new RegExp(`truncated\\.trace byte ${at}: truncated event record \\(\\d+ of \\d+ bytes; type 4\\)`));
  });

  it('a syscall record for a thread its process does not have', async () => {
    const file = await processTrace('unknown-thread.trace', [{ type: 'syscall', pid: 100, thread: 9, nr: 10, args: [0x400000n, 4096n, 1n], result: 0n }]);
    refused(file, [['replay'], ['replay', '--cpus', '4', '--strict'], ['maps']], /unknown-thread\.trace byte \d+: syscall record \(mprotect\) for thread 9 of process 100, which has no such thread/);
  });

  it('an execve of a program the trace never gives (no IMAGE event after it)', async () => {
    const execve: NewTraceEvent = { type: 'syscall', pid: 100, thread: 1, nr: 59, args: [0x1000n, 0x2000n, 0x3000n], result: 0n, path: '/bin/never' };
    const goesOn = await processTrace('exec-thread.trace', [execve, { type: 'thread', pid: 100, thread: 1 }]);
    refused(goesOn, [['replay'], ['maps']], /exec-thread\.trace byte \d+: THREAD event for process 100, whose execve\(\/bin\/never\) at byte \d+ succeeded: the trace gives no IMAGE event for the program it started/);
    const calls = await processTrace('exec-call.trace', [execve, { type: 'syscall', pid: 100, thread: 1, nr: 12, args: [0n], result: 0x600000n }]);
    refused(calls, [['replay']], /exec-call\.trace byte \d+: syscall record \(brk\) for process 100, whose execve\(\/bin\/never\) at byte \d+ succeeded/);
  });

  it('a ChampSim file of the wrong record size', () => {
    // CloudSuite's 96-byte records read as 64-byte ones, and records of 80 bytes (neither layout).
    const cs = join(dir, 'cloudsuite.trace');
    writeFileSync(cs, champsimBytes(Array.from({ length: 40 }, (_, i) => ({ ip: 0x400000 + 4 * i, loads: [0x601000], asid: [1, 1] as [number, number] })), true));
    refused(cs, [['replay', '--format', 'champsim'], ['convert', 'out.bin', '--format', 'champsim'], ['sweep', '--tlb-entries', '16,64', '--format', 'champsim'], ['curve', '--frames', '4,8', '--format', 'champsim']], /cloudsuite\.trace byte 64: is not a trace of ChampSim's 64-byte records \(--format champsim\): ip 0; its records read as 96-byte ones: --format champsim-cloudsuite/);
    const r80 = join(dir, 'r80.trace');
    writeFileSync(r80, Buffer.concat(Array.from({ length: 60 }, (_, i) => Buffer.concat([champsimBytes([{ ip: 0x400000 + 4 * i, loads: [0x601000] }]), Buffer.alloc(16)]))));
    refused(r80, [['replay'], ['convert', 'out.bin']], /r80\.trace: is binary data, not a trace: .* nor lackey text; its first record reads as ChampSim's 64-byte input_instr but the one at byte 64 does not \(ip 0\): records of another size\?/);
  });
});
