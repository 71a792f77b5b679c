/**
 * A recorded program replayed whole: our C programs (test/record/programs) recorded by vmsim
 * record and replayed on several CPUs — their own /proc/self/maps against vmsim's at their
 * exit, every call agreeing with the recording, threads on their CPUs with the shootdowns a
 * munmap sends them — and hand-made traces for every way a trace of processes can be wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { replay } from '../../src/replay/replay.js';
import type { ReplayResult } from '../../src/replay/replay-result.js';
import { writeBinaryTrace } from '../../src/trace/trace-writer.js';
import type { NewTraceEvent, TraceEvent } from '../../src/trace/trace-events.js';
import { TraceFormatError } from '../../src/trace/trace-error.js';
import { packRecord } from '../../src/trace/trace-record.js';
import { build, cannotRecord, record, scratch, type Recorded } from '../record/programs.js';

const why = cannotRecord();
const { dir, remove } = scratch('program-replay');
afterAll(remove);
const PAGE = 4096;

/**
 * The program's own lines that are the program's: not valgrind's tool binary with the bss after
 * it, its arenas and stacks (from 0x1002000000, save the client stack valgrind made under
 * 0x2000000000), vgdb's file, the host's stack and the kernel's pages ([vvar], [vsyscall]).
 */
function programLines(lines: string[]): string[] {
  let prevValgrindEnd = -1;
  return lines.filter((l) => {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(l)!;
    const start = parseInt(m[1]!, 16);
    const end = parseInt(m[2]!, 16);
    const path = m[3]!.trim();
    const valgrind = /lackey-amd64-linux|vgdb-/.test(path) || path.startsWith('[') || (path === '' && start === prevValgrindEnd) || (start >= 0x1002000000 && start < 0x1ffe000000);
    prevValgrindEnd = /lackey-amd64-linux/.test(path) || (valgrind && path === '' && start === prevValgrindEnd) ? end : -1;
    return !valgrind;
  });
}

/**
 * Maps lines as (range, perms, offset, device, inode, path), adjacent lines of one mapping
 * joined (same perms, device, inode and path, contiguous offsets): a kernel and vmsim may keep
 * one mapping as two regions where their merge rules differ (Linux does not merge a region it
 * charged to Committed_AS, VM_ACCOUNT, with one it did not; this VMM does not track that flag).
 */
function normalized(lines: string[]): string[] {
  const rows = lines.map((l) => {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/.exec(l.trim())!;
    return { start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16), perms: m[3]!, offset: parseInt(m[4]!, 16), dev: m[5]!, inode: m[6]!, path: m[7]!.trim() };
  });
  const out: typeof rows = [];
  for (const r of rows) {
    const last = out[out.length - 1];
    if (last && last.end === r.start && last.perms === r.perms && last.dev === r.dev && last.inode === r.inode && last.path === r.path && (r.path === '' || last.offset + (last.end - last.start) === r.offset)) last.end = r.end;
    else out.push({ ...r });
  }
  return out.map((r) => `${r.start.toString(16)}-${r.end.toString(16)} ${r.perms} ${r.offset.toString(16)} ${r.dev} ${r.inode} ${r.path}`);
}

describe.skipIf(why)(`recorded programs replayed whole${why ? ` (skipped: ${why})` : ''}`, () => {
  let fam: Recorded;
  let thr: Recorded;
  let famR: ReplayResult;
  let thrR: ReplayResult;
  beforeAll(async () => {
    [fam, thr] = await Promise.all([record('family', dir, [build('family', dir), `${dir}/shared.dat`, '/bin/true']), record('threads', dir, [build('threads', dir, ['-pthread'])])]);
    [famR, thrR] = await Promise.all([replay(fam.trace, { cpus: 4 }), replay(thr.trace, { cpus: 4 })]);
  }, 120_000);

  it("each process's maps at its exit are its own /proc/self/maps lines, for every mapping that is the program's", () => {
    const root = famR.program!.processes[0]!;
    expect(root.pid).toBe(fam.events.find((e) => e.type === 'image')!.pid);
    const own = programLines(fam.maps);
    expect(own.length).toBeGreaterThan(15);
    expect(normalized(root.maps.trimEnd().split('\n'))).toEqual(normalized(own));
    const t = thrR.program!.processes[0]!;
    expect(normalized(t.maps.trimEnd().split('\n'))).toEqual(normalized(programLines(thr.maps)));
  });

  it('the process tree: a fork whose child execs, every call as the recording had it, no access outside a mapping', () => {
    const [root, child] = famR.program!.processes;
    expect(famR.program!.processes.length).toBe(2);
    expect(child).toMatchObject({ pid: Number(fam.calls.get('fork')), parent: root!.pid, images: [`${dir}/family`, '/usr/bin/true'], exit: { status: 0 } });
    expect(root).toMatchObject({ exit: { status: 0 }, images: [`${dir}/family`] });
    // The child ran its parent's image (its copy-on-write write to b[0]) and then true's.
    expect(child!.threads.map((t) => [t.thread, t.image])).toEqual([
      [1, 0],
      [1, 1],
    ]);
    expect(child!.faults.cow).toBeGreaterThan(0);
    const syscalls = famR.program!.syscalls;
    for (const [name, row] of Object.entries(syscalls)) expect(row, name).toMatchObject({ disagree: 0 });
    expect(famR.program!.disagreements).toEqual([]);
    // As many calls of each kind as the trace holds.
    const recorded = new Map<string, number>();
    const names: Record<number, string> = { 9: 'mmap', 10: 'mprotect', 11: 'munmap', 12: 'brk', 25: 'mremap', 28: 'madvise', 26: 'msync', 56: 'clone', 59: 'execve' };
    for (const e of fam.events) if (e.type === 'syscall' && names[e.nr]) recorded.set(names[e.nr]!, (recorded.get(names[e.nr]!) ?? 0) + 1);
    for (const [name, n] of recorded) expect((syscalls[name]?.calls ?? 0) + (famR.program!.notReplayed[name] ?? 0), name).toBe(n);
    expect(famR.faults.segv).toBe(0);
    expect(famR.accesses).toBe(fam.records.length);
    // Each process's faults are its threads' (every access runs on one of them), by kind.
    for (const q of famR.program!.processes) {
      const sum = (k: 'pageIns' | 'writeProtect' | 'segv' | 'sigbus') => q.threads.reduce((n, t) => n + t.faults[k], 0);
      expect({ pageIns: sum('pageIns'), writeProtect: sum('writeProtect'), segv: sum('segv'), sigbus: sum('sigbus') }, `${q.pid}`).toEqual({ pageIns: q.faults.pageIns, writeProtect: q.faults.writeProtect, segv: q.faults.segv, sigbus: q.faults.sigbus });
      expect(q.threads.every((t) => t.faults.pageIns > 0), `${q.pid}`).toBe(true);
      expect(q.regions, `${q.pid}`).toBe(q.maps.trimEnd().split('\n').length);
    }
    expect(famR.program!.files).toBeGreaterThanOrEqual(4);
    // The files are the machine's, through its page cache: a first touch of a file page misses it (a major fault).
    expect(famR.faults.major).toBeGreaterThan(0);
  });

  it("threads run on their own CPUs, and the main thread's munmap of memory they touched shoots down their TLBs", () => {
    const p = thrR.program!;
    const proc = p.processes[0]!;
    expect(proc.threads.map((t) => [t.thread, t.cpu])).toEqual([
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 3],
    ]);
    for (const t of proc.threads.slice(1)) expect(t.byKind.stores).toBeGreaterThanOrEqual(4);
    for (const c of [1, 2, 3]) {
      expect(p.cpus[c]!.ipisReceived, `CPU ${c}`).toBeGreaterThanOrEqual(1);
      expect(p.cpus[c]!.tlbShootdowns, `CPU ${c}`).toBeGreaterThanOrEqual(1);
    }
    expect(p.cpus[0]!.ipisReceived).toBe(0);
    expect(p.shootdowns.ipisSent).toBeGreaterThanOrEqual(3);
    expect(p.syscalls.munmap).toMatchObject({ disagree: 0 });
    expect(thrR.faults.segv).toBe(0);
    expect(p.placement).toMatch(/lowest-numbered CPU running no live thread/);
  });

  it('on one CPU the threads time-share it, and no CPU is there to shoot down', async () => {
    const one = await replay(thr.trace);
    const p = one.program!;
    expect(p.processes[0]!.threads.every((t) => t.cpu === 0)).toBe(true);
    expect(p.shootdowns.ipisSent).toBe(0);
    expect(one.accesses).toBe(thrR.accesses);
    // The same accesses and faults, whatever the CPUs (the TLBs differ: one is shared).
    expect(one.faults).toEqual(thrR.faults);
  });

  it('vmsim maps prints each process at its exit, and replay a summary of the tree', () => {
    const maps = spawnSync(process.execPath, ['dist/cli/main.js', 'maps', fam.trace], { encoding: 'utf8' });
    expect(maps.status, maps.stderr).toBe(0);
    const pid = famR.program!.processes[0]!.pid;
    expect(maps.stdout).toContain(`==> process ${pid}: ${dir}/family, exited with status 0 <==\n`);
    expect(maps.stdout).toMatch(new RegExp(`==> process ${fam.calls.get('fork')} \\(child of ${pid}\\): /usr/bin/true, exited with status 0 <==`));
    const text = spawnSync(process.execPath, ['dist/cli/main.js', 'replay', thr.trace, '--cpus', '4'], { encoding: 'utf8' });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/processes and threads/);
    expect(text.stdout).toMatch(/system calls against the recording/);
    expect(text.stdout).toMatch(/munmap +\d+ +\d+ +0/);
    expect(text.stdout).toMatch(/pid +parent +program +thread +cpu +accesses +minor +major +cow +SIGSEGV +resident +regions +end/);
  });
});

// ---------------------------------------------------------------- bad traces

const IMAGE: NewTraceEvent[] = [
  { type: 'image', pid: 100, parent: 0, path: '/bin/prog' },
  { type: 'map', pid: 100, start: 0x400000, end: 0x401000, prot: 'r-x', shared: false, kind: 'anon', offset: 0, dev: 0, inode: 0 },
  { type: 'map', pid: 100, start: 0x7ff000, end: 0x800000, prot: 'rw-', shared: false, kind: 'stack', offset: 0, dev: 0, inode: 0 },
  { type: 'thread', pid: 100, thread: 1 },
];

/** A trace file of `events` (each at the record position given) among `records` accesses. */
async function trace(name: string, events: Array<[number, NewTraceEvent]>, records: Array<[number, number]> = []): Promise<string> {
  const words = new Uint32Array(Math.max(1, records.length) * 2);
  records.forEach(([la, kind], i) => packRecord(words, i, la, kind, 8));
  const path = join(dir, name);
  await writeBinaryTrace(path, [{ words, count: records.length, events: events.map(([at, e]) => ({ ...e, at, byteOffset: 0 }) as TraceEvent) }], { events: true });
  return path;
}

async function failure(p: Promise<unknown>): Promise<TraceFormatError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TraceFormatError);
    return e as TraceFormatError;
  }
  throw new Error('expected an error');
}

describe('a trace of processes that cannot be replayed', () => {
  const base = IMAGE.map((e) => [0, e] as [number, NewTraceEvent]);

  it('replays a small hand-made program, and counts an access no mapping covers as a SIGSEGV', async () => {
    const path = await trace('ok.trace', [...base, [2, { type: 'syscall', pid: 100, thread: 1, nr: 231, args: [0n], result: 0n }]], [
      [0x400010, 2],
      [0x900000, 0],
    ]);
    const r = await replay(path);
    expect(r.accesses).toBe(2);
    expect(r.faults.segv).toBe(1);
    expect(r.program!.processes[0]).toMatchObject({ pid: 100, exit: { status: 0 }, faults: { segv: 1 }, threads: [{ thread: 1, cpu: 0, accesses: 2, faults: { pageIns: 1, writeProtect: 0, segv: 1, sigbus: 0 } }] });
    expect(r.segfaults[0]).toMatchObject({ address: '0x0000000000900000', cause: 'SEGV_MAPERR' });
  });

  it("the VMM's own calls: the stack grows down, mremap carries the pages it moves, mlockall and madvise(MADV_HUGEPAGE) agree", async () => {
    const call = (at: number, nr: number, args: bigint[], result: bigint): [number, NewTraceEvent] => [at, { type: 'syscall', pid: 100, thread: 1, nr, args, result }];
    const path = await trace(
      'calls.trace',
      [
        ...base,
        call(1, 9, [0n, 0x4000n, 3n, 0x22n, 0xffffffffffffffffn, 0n], 0x10000000n),
        call(3, 25, [0x10000000n, 0x4000n, 0x8000n, 1n], 0x20000000n),
        call(6, 151, [1n], 0n),
        call(6, 28, [0x20000000n, 0x8000n, 14n], 0n),
        call(6, 231, [0n], 0n),
      ],
      [
        [0x7fe008, 1], // a page below the stack: MAP_GROWSDOWN grows it
        [0x10000000, 1],
        [0x10001000, 1],
        [0x20000000, 1], // the moved pages: no new fault
        [0x20001000, 1],
        [0x10000000, 0], // the old place is gone: SIGSEGV
      ],
    );
    const r = await replay(path);
    const p = r.program!;
    expect(p.syscalls).toEqual({ mmap: { calls: 1, agree: 1, disagree: 0 }, mremap: { calls: 1, agree: 1, disagree: 0 }, mlockall: { calls: 1, agree: 1, disagree: 0 }, madvise: { calls: 1, agree: 1, disagree: 0 }, exit_group: { calls: 1, agree: 1, disagree: 0 } });
    expect(p.notReplayed).toEqual({});
    const q = p.processes[0]!;
    expect(q.threads[0]!.faults).toEqual({ pageIns: 3, writeProtect: 0, segv: 1, sigbus: 0 });
    expect(q.segfaults[0]).toMatchObject({ address: '0x0000000010000000', cause: 'SEGV_MAPERR' });
    const maps = q.maps.trimEnd().split('\n');
    expect(maps.some((l) => l.startsWith('20000000-20008000 rw-p'))).toBe(true);
    expect(maps.some((l) => l.startsWith('007fe000-00800000 rw-p') || l.startsWith('7fe000-800000 rw-p'))).toBe(true);
    expect(maps.some((l) => l.startsWith('10000000-'))).toBe(false);
  });

  it('two processes that map the same library share its page cache: the first touch reads it (major), the other finds it (minor)', async () => {
    const lib = (pid: number, start: number): NewTraceEvent => ({ type: 'map', pid, start, end: start + 0x2000, prot: 'r-x', shared: false, kind: 'file', offset: 0, dev: 0x801, inode: 42, path: '/lib/libfoo.so', size: 8192 });
    const path = await trace(
      'shared-lib.trace',
      [
        ...base,
        [0, lib(100, 0x500000)],
        [1, { type: 'image', pid: 200, parent: 0, path: '/bin/other' }],
        [1, lib(200, 0x700000)],
        [1, { type: 'thread', pid: 200, thread: 1 }],
        [2, { type: 'syscall', pid: 200, thread: 1, nr: 231, args: [0n], result: 0n }],
        [2, { type: 'thread', pid: 100, thread: 1 }],
        [2, { type: 'syscall', pid: 100, thread: 1, nr: 231, args: [0n], result: 0n }],
      ],
      [
        [0x500010, 2],
        [0x700010, 2],
      ],
    );
    const r = await replay(path);
    const [a, b] = r.program!.processes;
    expect(r.program!.files).toBe(1);
    expect(a!.faults).toMatchObject({ major: 1, segv: 0 });
    expect(b!.faults).toMatchObject({ major: 0, minor: 1, segv: 0 });
    expect(b!.maps).toMatch(/^00700000-00702000 r-xp 00000000 08:01 42 +\/lib\/libfoo\.so$/m);
  });

  it('a syscall record for an unknown thread, an image no execve asked for, a mapping of a descriptor never opened, records before any thread: errors with the offset', async () => {
    const cases: Array<[string, Array<[number, NewTraceEvent]>, RegExp]> = [
      ['unknown-thread', [...base, [0, { type: 'syscall', pid: 100, thread: 7, nr: 11, args: [0x400000n, 4096n], result: 0n }]], /syscall record \(munmap\) for thread 7 of process 100, which has no such thread/],
      ['unknown-process', [...base, [0, { type: 'syscall', pid: 555, thread: 1, nr: 11, args: [0x400000n, 4096n], result: 0n }]], /syscall record \(munmap\) for process 555, which the trace has not started/],
      ['image-twice', [...base, [0, { type: 'image', pid: 100, parent: 0, path: '/bin/other' }]], /IMAGE event for process 100, which runs and called no execve/],
      ['fd', [...base, [0, { type: 'syscall', pid: 100, thread: 1, nr: 9, args: [0n, 4096n, 1n, 2n, 9n, 0n], result: 0x500000n }]], /mmap of file descriptor 9, which no open in the trace gave/],
      ['no-thread', [[0, IMAGE[0]!]], /access record\(s\) after this point and before any THREAD event says whose they are/],
      ['thread-unknown', [...base, [0, { type: 'thread', pid: 100, thread: 3 }]], /THREAD event for thread 3 of process 100, which has no such thread/],
    ];
    for (const [name, events, re] of cases) {
      const path = await trace(`${name}.trace`, events, [[0x400010, 2]]);
      const e = await failure(replay(path));
      expect(e.message, name).toMatch(re);
      expect(e.byteOffset, name).toBeGreaterThanOrEqual(16);
      const cli = spawnSync(process.execPath, ['dist/cli/main.js', 'replay', path], { encoding: 'utf8' });
      expect(cli.status, name).toBe(1);
      expect(cli.stderr, name).toMatch(re);
    }
  });

  it('a call whose result differs from the recording is counted, or with --strict stops the replay at its offset', async () => {
    // mprotect of memory that is not mapped: ENOMEM here, recorded as a success.
    const events: Array<[number, NewTraceEvent]> = [...base, [0, { type: 'syscall', pid: 100, thread: 1, nr: 10, args: [0x600000n, 4096n, 1n], result: 0n }]];
    const path = await trace('disagree.trace', events);
    const r = await replay(path);
    expect(r.program!.syscalls.mprotect).toEqual({ calls: 1, agree: 0, disagree: 1 });
    expect(r.program!.disagreements[0]).toMatchObject({ pid: 100, thread: 1, call: 'mprotect', recorded: '0x0', replayed: '-ENOMEM' });
    const e = await failure(replay(path, { strict: true }));
    expect(e.message).toMatch(/the replay disagrees with the recording: mprotect\(0x600000, 0x1000, 0x1\) of process 100 thread 1 returned 0x0 when recorded, -ENOMEM replayed/);
    const cli = spawnSync(process.execPath, ['dist/cli/main.js', 'replay', path, '--strict'], { encoding: 'utf8' });
    expect(cli.status).toBe(1);
    expect(existsSync(path)).toBe(true);
  });

  it('options that are for a trace of accesses are refused for a trace of processes', async () => {
    const path = await trace('opts.trace', base, [[0x400010, 2]]);
    await expect(replay(path, { setup: () => undefined })).rejects.toThrow(/options.setup is for a trace of accesses, not one of processes/);
    await expect(replay(path, { seriesEvery: 10 })).rejects.toThrow(/options.seriesEvery is for a trace of accesses, not one of processes/);
    // A snapshot holds one process of a trace of accesses: a recorded program neither starts from one nor saves one (yet).
    await expect(replay(path, { save: join(dir, 'never.snap') })).rejects.toThrow(/options.save is for a trace of accesses, not one of processes/);
    expect(existsSync(join(dir, 'never.snap'))).toBe(false);
    await expect(replay(path, { skip: 5 })).rejects.toThrow(/options.skip is for a trace of accesses, not one of processes/);
    await expect(replay(path, { cpus: 0 })).rejects.toThrow(/options.cpus must be an integer in \[1, 256\]/);
    void PAGE;
  });
});
