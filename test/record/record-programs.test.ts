/**
 * `vmsim record` on small C programs of our own (test/record/programs): the calls they made
 * with the results they printed, their children, their threads with the accesses each thread
 * made, and first mappings that are the program's and none of valgrind's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import type { MapEvent, SyscallEvent, TraceEvent } from '../../src/trace/trace-events.js';
import { build, cannotRecord, record, scratch, type Recorded } from './programs.js';

const why = cannotRecord();
const PAGE = 4096;
const { dir, remove } = scratch('record-programs');
afterAll(remove);

const syscalls = (r: Recorded, pid: number, nr: number) => r.events.filter((e): e is SyscallEvent => e.type === 'syscall' && e.pid === pid && e.nr === nr);
const hex = (v: string | undefined) => BigInt(v!);

/** A /proc/PID/maps line as [start, end, perms, path]. */
function parseMaps(line: string): [number, number, string, string] {
  const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line)!;
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), m[3]!, m[4]!.trim()];
}

/** Lines of the program's own maps that are valgrind's (its tool binary, vgdb's file, its arenas, the host's stack and kernel pages). */
function valgrindLine(line: string, clientStack: MapEvent): boolean {
  const [start, end, , path] = parseMaps(line);
  if (/lackey-amd64-linux|vgdb-/.test(path) || path.startsWith('[')) return true;
  return start >= 0x1002000000 && !(start < clientStack.end + 16 * PAGE && end > clientStack.start);
}

describe.skipIf(why)(`recording programs whole${why ? ` (skipped: ${why})` : ''}`, () => {
  let fam: Recorded;
  let thr: Recorded;
  beforeAll(async () => {
    [fam, thr] = await Promise.all([
      record('family', dir, [build('family', dir), `${dir}/shared.dat`, '/bin/true']),
      record('threads', dir, [build('threads', dir, ['-pthread'])]),
    ]);
  }, 120_000);

  it('a process tree: the fork with the child the program saw, the execve and the new image, every process ended', () => {
    const images = fam.events.filter((e) => e.type === 'image');
    expect(images.length).toBe(2);
    const root = images[0]!;
    expect(root).toMatchObject({ parent: 0, path: `${dir}/family` });
    const child = Number(fam.calls.get('fork'));
    const fork = fam.events.find((e): e is SyscallEvent => e.type === 'syscall' && e.child === child)!;
    expect(fork).toMatchObject({ pid: root.pid, nr: 56, result: BigInt(child) });
    expect(Number(fork.args[0]! & 0x1000000n)).toBe(0x1000000); // glibc's fork: clone(CLONE_CHILD_SETTID|…|SIGCHLD)
    const exec = syscalls(fam, child, 59)[0]!;
    expect(exec).toMatchObject({ path: '/bin/true', result: 0n });
    expect(images[1]).toMatchObject({ pid: child, parent: root.pid, path: '/usr/bin/true' });
    // Order: fork, then the child's records and execve, then its image.
    const at = (e: TraceEvent) => fam.events.indexOf(e);
    expect(at(fork)).toBeLessThan(at(exec));
    expect(at(exec)).toBeLessThan(at(images[1]!));
    expect(fam.events.findIndex((e) => e.type === 'thread' && e.pid === child)).toBeGreaterThan(at(fork));
    for (const pid of [root.pid, child]) expect(syscalls(fam, pid, 231).map((e) => e.result)).toEqual([0n]);
    expect(fam.result).toMatchObject({ processes: 2, exit: { code: 0, signal: null } });
    expect(fam.result.notes).toMatchObject({ ambiguousRecords: 0, orphanResults: 0, tornCalls: 0, unheldImages: 0, unexpectedImages: 0 });
  });

  it("the memory calls with the program's own arguments and results", () => {
    const pid = fam.events.find((e) => e.type === 'image')!.pid;
    const a = hex(fam.calls.get('mmap'));
    const b = hex(fam.calls.get('mremap'));
    expect(syscalls(fam, pid, 9).some((e) => e.result === a && e.args[1] === 16n * 4096n && e.args[2] === 3n && e.args[3] === 0x22n)).toBe(true);
    expect(syscalls(fam, pid, 25).find((e) => e.args[0] === a)).toMatchObject({ args: [a, 16n * 4096n, 32n * 4096n, 1n], result: b });
    expect(syscalls(fam, pid, 10).find((e) => e.args[0] === b + 4n * 4096n)).toMatchObject({ args: [b + 4n * 4096n, 2n * 4096n, 1n], result: 0n });
    expect(syscalls(fam, pid, 28).find((e) => e.args[0] === b + 8n * 4096n)).toMatchObject({ args: [b + 8n * 4096n, 4n * 4096n, 4n], result: 0n });
    expect(syscalls(fam, pid, 11).find((e) => e.args[0] === b + 28n * 4096n)).toMatchObject({ args: [b + 28n * 4096n, 4n * 4096n], result: 0n });
    // The shared file mapping names its descriptor, which openat named.
    const open = syscalls(fam, pid, 257).find((e) => e.path === `${dir}/shared.dat`)!;
    expect(open.result).toBeGreaterThan(2n);
    // What the recorder saw of it (a little later than the call: here the size may already be ftruncate's).
    expect(open.file).toMatchObject({ inode: statSync(`${dir}/shared.dat`).ino, dev: statSync(`${dir}/shared.dat`).dev });
    const s = hex(fam.calls.get('mmap-shared'));
    expect(syscalls(fam, pid, 9).filter((e) => e.result === s).at(-1)).toMatchObject({ args: [0n, 4n * 4096n, 3n, 1n, open.result, 0n] });
    expect(syscalls(fam, pid, 77)[0]).toMatchObject({ args: [open.result, 4n * 4096n], result: 0n });
    const dup = syscalls(fam, pid, 32).find((e) => e.args[0] === open.result)!;
    expect(syscalls(fam, pid, 3).some((e) => e.args[0] === dup.result)).toBe(true);
    expect(syscalls(fam, pid, 26).find((e) => e.args[0] === s)).toMatchObject({ args: [s, 4n * 4096n, 4n], result: 0n });
    // malloc's big block (mmap) and small one (brk).
    const big = hex(fam.calls.get('malloc-big'));
    expect(syscalls(fam, pid, 9).some((e) => e.result === big - 16n)).toBe(true);
    expect(syscalls(fam, pid, 12).length).toBeGreaterThanOrEqual(2);
  });

  it("each image's first mappings are the program's (executable, loader, brk, stack) and none of valgrind's", () => {
    for (const r of [fam, thr]) {
      for (const image of r.events.filter((e) => e.type === 'image')) {
        const maps = r.events.filter((e): e is MapEvent => e.type === 'map' && e.pid === image.pid);
        const kinds = maps.map((m) => m.kind);
        expect(kinds.filter((k) => k === 'stack').length).toBe(1);
        expect(kinds.filter((k) => k === 'brk').length).toBe(1);
        const files = [...new Set(maps.filter((m) => m.kind === 'file').map((m) => m.path))];
        expect(files).toEqual([image.path, '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2']);
        for (const m of maps) expect(m.path ?? '').not.toMatch(/valgrind|vgdb/);
        const brk = maps.find((m) => m.kind === 'brk')!;
        expect(brk).toMatchObject({ prot: 'rwx', brk: brk.start, end: brk.start + PAGE });
      }
      // Against the program's own /proc/self/maps at its end: valgrind's lines overlap no first mapping, and the root's first file mappings are all there.
      const root = r.events.find((e) => e.type === 'image')!;
      const first = r.events.filter((e): e is MapEvent => e.type === 'map' && e.pid === root.pid);
      const stack = first.find((m) => m.kind === 'stack')!;
      const own = r.maps.map(parseMaps);
      expect(own.length).toBeGreaterThan(10);
      for (const line of r.maps.filter((l) => valgrindLine(l, stack))) {
        const [s, e] = parseMaps(line);
        expect(first.filter((m) => m.start < e && m.end > s)).toEqual([]);
      }
      for (const m of first.filter((x) => x.kind === 'file')) {
        expect(own.some(([s, e, , path]) => s <= m.start && e >= m.start + PAGE && path === m.path)).toBe(true);
      }
    }
  });

  it('threads: each clone names its thread, and every access goes to the thread that made it', () => {
    const pid = thr.events.find((e) => e.type === 'image')!.pid;
    const clones = syscalls(thr, pid, 56);
    expect(clones.map((e) => e.child)).toEqual([2, 3, 4]);
    expect(syscalls(thr, pid, 60).map((e) => e.thread).sort()).toEqual([2, 3, 4]);
    const shared = Number(thr.calls.get('mmap'));
    // Thread i (created i-th, so number i + 2) stored to pages 4i..4i+3 of the mapping: those stores are its, and only its.
    const stores = thr.records.filter(([la, kind]) => kind === 1 && la >= shared && la < shared + 16 * PAGE);
    expect(stores.length).toBe(12);
    for (const [la, , who] of stores) expect(who).toBe(`${pid}/${Math.floor((la - shared) / PAGE / 4) + 2}`);
    const munmap = syscalls(thr, pid, 11).find((e) => e.args[0] === BigInt(shared))!;
    expect(munmap).toMatchObject({ thread: 1, result: 0n, args: [BigInt(shared), 16n * 4096n] });
    expect(thr.result).toMatchObject({ processes: 1, threads: 4 });
  });
});
