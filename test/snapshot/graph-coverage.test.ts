/**
 * Every own field of every object of a machine is accounted for by its snapshot: walking the
 * restored machine's object graph beside the original's, each object has the same class and the
 * same fields with equal values (buffers equal in content, never the same buffer), nothing of
 * the original is shared by the restored machine except registered constants and the user's
 * callbacks, and the fields a class's rule skips (caches, closures) exist again. A field that a
 * component adds and a snapshot does not carry over shows up here by its path. The machine
 * built here has every part: several CPUs with a TLB hierarchy, threads on them, swap with zswap,
 * a resident limit per built-in policy, shared memory, soft-dirty tracking, an OOM kill, files
 * mapped shared and private with dirty pages, readahead, writeback, truncation and file reclaim
 * (the active/inactive file lists, or the multi-generation LRU with the hierarchy).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/system/machine.js';
import { classOf } from '../../src/snapshot/class-registry.js';
import { BACKENDS } from '../backends.js';
import type { PolicyName } from '../../src/reclaim/policy.js';

const POLICIES: PolicyName[] = ['clock', 'lru', 'fifo', 'random', 'nru', 'aging', 'lfu', '2q', 'arc', 'linux', 'mglru', 'wsclock'];

/** A machine with every kind of state, busy. */
function busyMachine(backend: 'js' | 'native', hier: boolean): Machine {
  const m = new Machine({ backend, memory: '8MiB', cpus: 3, aslr: { seed: 11 }, ...(hier ? { cpu: 'zen4', vm: { lruGen: true } } : {}), swap: { size: '4MiB', zswap: { maxPoolPercent: 20 } }, onOomKill: () => {} });
  const procs = POLICIES.map((policy) => m.createAddressSpace({ residentLimit: 6, policy, ...(policy === 'random' ? { policyOptions: { seed: 7 } } : {}) }));
  const shm = m.createSharedMemory('shared', 4 * 4096);
  procs.forEach((p, i) => {
    const a = p.mmap({ length: 16 * 4096, prot: 'rw' });
    for (let k = 0; k < 16; k++) p.write(a + k * 4096, [i, k]);
    for (let k = 0; k < 16; k += 3) p.read(a + k * 4096, 1);
    const s = p.mmap({ length: 4 * 4096, prot: 'rw', shared: true, object: shm });
    p.write(s + (i % 4) * 4096, [i]);
    if (i % 3 === 0) p.clearRefs(4);
    if (i % 4 === 1) p.madvise(a, 4 * 4096, 'pageout');
  });
  // The process model: exec, a vfork child borrowing its parent's space, mlock, rlimits, mremap.
  procs[2]!.exec();
  procs[2]!.write(procs[2]!.mmap({ length: 3 * 4096, prot: 'rw' }), [5]);
  procs[3]!.vfork();
  procs[4]!.setrlimit('RLIMIT_MEMLOCK', 2 ** 20, 2 ** 20);
  procs[4]!.mlock(procs[4]!.regions()[0]!.start, 2 * 4096);
  const r5 = procs[5]!.regions()[0]!;
  procs[5]!.mremap(r5.start, r5.end - r5.start, r5.end - r5.start + 8 * 4096, { mayMove: true });
  m.setOvercommit({ mode: 1 });
  const child = procs[0]!.fork();
  child.write(child.regions()[0]!.start, [9]);
  m.cpu(1).run(procs[1]!.createThread());
  m.cpu(2).run(child.createThread());
  m.cpu(2).idle();
  // Files: a shared and a private mapping of a file with data, read(2) with readahead, dirty
  // pages, a truncation, an fsync; a file read whole so that reclaim drops file pages later.
  const data = new Uint8Array(64 * 4096).map((_, i) => i % 251);
  const lib = m.fs.create('/lib/data.bin', { data });
  const big = m.fs.create('/var/big', { size: 256 * 4096 });
  for (const [i, p] of procs.slice(6, 10).entries()) {
    const a = p.mmap({ file: lib, length: 32 * 4096, prot: 'rw', shared: i % 2 === 0 });
    p.read(a + i * 4096, 8);
    p.write(a + (i + 8) * 4096, [i + 1]);
  }
  lib.read(40 * 4096, 8 * 4096);
  lib.write(60 * 4096, new Uint8Array([7, 7, 7]));
  lib.fsync();
  lib.write(50 * 4096, new Uint8Array([3]));
  big.read(0, 256 * 4096);
  big.truncate(200 * 4096);
  // Memory pressure until the OOM killer acts (a process without a limit grows).
  const hog = m.createAddressSpace({ oomScoreAdj: 1000 });
  const h = hog.mmap({ length: 11 * 2 ** 20, prot: 'rw' });
  try {
    for (let k = 0; k < 2816; k++) hog.write(h + k * 4096, [1]);
  } catch {
    // killed
  }
  return m;
}

/** Differences between the original's graph and the restored one's, by path. */
function compareGraphs(orig: object, copy: object): string[] {
  const out: string[] = [];
  const seen = new Map<object, object>();
  const stack: Array<[unknown, unknown, string]> = [[orig, copy, 'machine']];
  const origCore = (orig as { core: object }).core;
  const copyCore = (copy as { core: object }).core;
  while (stack.length > 0 && out.length < 50) {
    const [a, b, path] = stack.pop()!;
    if (typeof a !== 'object' || a === null) {
      if (typeof a === 'function') {
        if (typeof b !== 'function') out.push(`${path}: a function became ${typeof b}`);
        continue;
      }
      if (!Object.is(a, b)) out.push(`${path}: ${String(a)} became ${String(b)}`);
      continue;
    }
    if (typeof b !== 'object' || b === null) {
      out.push(`${path}: an object became ${String(b)}`);
      continue;
    }
    if (a === origCore) {
      if (b !== copyCore) out.push(`${path}: not the restored core`);
      continue;
    }
    const have = seen.get(a);
    if (have) {
      if (have !== b) out.push(`${path}: identity differs (the original shares this object, the copy does not)`);
      continue;
    }
    seen.set(a, b);
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) {
      out.push(`${path}: class ${a.constructor?.name} became ${b.constructor?.name}`);
      continue;
    }
    if (a === b) {
      // Shared: only frozen constants (the protection map's, fault outcomes) and the user's callbacks may be.
      if (!Object.isFrozen(a) && !path.endsWith('.faultHandler')) out.push(`${path}: shared with the original`);
      continue;
    }
    if (ArrayBuffer.isView(a)) {
      const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      const y = new Uint8Array((b as ArrayBufferView).buffer, (b as ArrayBufferView).byteOffset, (b as ArrayBufferView).byteLength);
      if (a.buffer === (b as ArrayBufferView).buffer) out.push(`${path}: the same buffer`);
      else if (Buffer.compare(x, y) !== 0) out.push(`${path}: contents differ`);
      continue;
    }
    if (a instanceof ArrayBuffer || a instanceof SharedArrayBuffer) {
      if (Buffer.compare(new Uint8Array(a), new Uint8Array(b as ArrayBuffer)) !== 0) out.push(`${path}: contents differ`);
      continue;
    }
    if (a instanceof Map) {
      const bm = b as Map<unknown, unknown>;
      if (a.size !== bm.size) out.push(`${path}: ${a.size} entries became ${bm.size}`);
      const ak = [...a.keys()];
      const bk = [...bm.keys()];
      ak.forEach((k, i) => {
        stack.push([k, bk[i], `${path}<key ${i}>`]);
        stack.push([a.get(k), bm.get(bk[i]), `${path}.get(${typeof k === 'object' ? i : String(k)})`]);
      });
      continue;
    }
    if (a instanceof Set) {
      const bs = [...(b as Set<unknown>)];
      if (a.size !== bs.length) out.push(`${path}: ${a.size} members became ${bs.length}`);
      [...a].forEach((v, i) => stack.push([v, bs[i], `${path}<member ${i}>`]));
      continue;
    }
    const rule = classOf(Object.getPrototypeOf(a) as object)?.rule;
    const skip = new Set(rule?.skip ?? []);
    const ak = Reflect.ownKeys(a).map(String);
    const bk = new Set(Reflect.ownKeys(b).map(String));
    for (const k of ak) {
      if (!bk.has(k)) out.push(`${path}.${k}: missing in the restored machine`);
      else if (!skip.has(k) && !(typeof (a as Record<string, unknown>)[k] === 'function' && (k === 'makePolicy' || k === 'handleFault'))) stack.push([(a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`]);
      bk.delete(k);
    }
    for (const k of bk) out.push(`${path}.${k}: only in the restored machine`);
  }
  return out;
}

/** What the core holds beyond the graph: every frame's reference count, RAM, each CPU's hierarchy arrays. */
function coreState(m: Machine) {
  const core = m.core;
  const refs = Array.from({ length: core.totalFrames }, (_, f) => core.refCount(f));
  const ram = createHash('sha256').update(m.physical.read(0, m.physical.size)).digest('hex');
  const hier: number[][] = [];
  for (let i = 0; i < m.cpus; i++) {
    core.selectCpu(i);
    for (let slot = 0; slot < 11; slot++) {
      const out = new Float64Array(1 << 16);
      const n = core.hierDump(slot, out);
      hier.push(n > 0 ? [...out.subarray(0, n)] : [n]);
    }
  }
  core.selectCpu(m.selected);
  return { refs, ram, hier, free: core.freeFrames() };
}

describe.each(BACKENDS)('snapshot graph coverage (%s)', (backend) => {
  it.each([false, true])('every own field of every object is carried over (hierarchy %s)', (hier) => {
    using m = busyMachine(backend, hier);
    expect(m.oomKills().length).toBeGreaterThan(0);
    expect(m.reclaimStats().counters.pswpout + (m.reclaimStats().zswap?.zswpout ?? 0)).toBeGreaterThan(0);
    expect(m.meminfo().Cached).toBeGreaterThan(0);
    expect(m.vmstat().pgsteal_file).toBeGreaterThan(0);
    using s = m.snapshot();
    using r = s.restore();
    expect(compareGraphs(m, r)).toEqual([]);
    expect(coreState(r)).toEqual(coreState(m));
    // Both go on the same with their files: read(2), a write, writeback, more file reclaim.
    for (const x of [m, r]) {
      const f = x.fs.open('/var/big');
      f.read(0, 200 * 4096);
      x.fs.open('/lib/data.bin').write(0, new Uint8Array(4096).fill(9));
      x.fs.create('/tmp/more', { size: 512 * 4096 }).read(0, 512 * 4096);
    }
    expect(r.vmstat()).toEqual(m.vmstat());
    expect(r.meminfo()).toEqual(m.meminfo());
    expect(Buffer.from(r.fs.open('/lib/data.bin').read(0, 64 * 4096))).toEqual(Buffer.from(m.fs.open('/lib/data.bin').read(0, 64 * 4096)));
  });
});
