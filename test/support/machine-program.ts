/**
 * Random machine programs for the snapshot tests: a machine configuration and a list of steps
 * (processes, forks, threads on CPUs, mmap/munmap/mprotect, accesses, madvise, clear_refs,
 * shared memory, batches) that refer to what they act on by position — the n-th live process,
 * its n-th region, the task CPU i runs — so the same steps run the same way on a machine and
 * on a machine restored from its snapshot. `digest` hashes every statistic and all of physical
 * memory: two machines that behaved the same have the same digest.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Machine } from '../../src/system/machine.js';
import type { MachineOptions } from '../../src/machine/options.js';
import type { AddressSpace } from '../../src/vmm/address-space.js';
import type { PolicyName } from '../../src/reclaim/policy.js';

export type Step =
  | { t: 'spawn'; limit: number; policy: PolicyName; seed: number }
  | { t: 'fork' | 'destroy' | 'clearRefs' | 'sbrk'; p: number }
  | { t: 'mmap'; p: number; pages: number; prot: 'rw' | 'r' | 'rwx'; shared: boolean; huge: boolean }
  | { t: 'munmap'; p: number; r: number; off: number; pages: number }
  | { t: 'mprotect'; p: number; r: number; prot: 'rw' | 'r' | 'none' }
  | { t: 'write'; p: number; cpu: number; r: number; page: number; v: number }
  | { t: 'read'; p: number; cpu: number; r: number; page: number }
  | { t: 'batch'; p: number; r: number; seed: number }
  | { t: 'madvise'; p: number; r: number; advice: 'dontneed' | 'pageout' | 'cold' | 'free' }
  | { t: 'run'; cpu: number; p: number; thread: boolean }
  | { t: 'idle'; cpu: number }
  | { t: 'shm'; p: number; pages: number };

const POLICIES: PolicyName[] = ['clock', 'lru', 'fifo', 'random', 'nru', 'aging', 'lfu', '2q', 'arc', 'linux', 'mglru', 'wsclock'];

const nat = fc.nat({ max: 1000 });
/** One step. */
export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ t: fc.constant('spawn' as const), limit: fc.integer({ min: 0, max: 24 }), policy: fc.constantFrom(...POLICIES), seed: nat }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constantFrom('fork' as const, 'destroy' as const, 'clearRefs' as const, 'sbrk' as const), p: nat }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('mmap' as const), p: nat, pages: fc.integer({ min: 1, max: 24 }), prot: fc.constantFrom('rw' as const, 'r' as const, 'rwx' as const), shared: fc.boolean(), huge: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('munmap' as const), p: nat, r: nat, off: fc.nat({ max: 8 }), pages: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('mprotect' as const), p: nat, r: nat, prot: fc.constantFrom('rw' as const, 'r' as const, 'none' as const) }) },
  { weight: 8, arbitrary: fc.record({ t: fc.constant('write' as const), p: nat, cpu: fc.nat({ max: 3 }), r: nat, page: nat, v: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('read' as const), p: nat, cpu: fc.nat({ max: 3 }), r: nat, page: nat }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('batch' as const), p: nat, r: nat, seed: nat }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('madvise' as const), p: nat, r: nat, advice: fc.constantFrom('dontneed' as const, 'pageout' as const, 'cold' as const, 'free' as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('run' as const), cpu: fc.nat({ max: 3 }), p: nat, thread: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('idle' as const), cpu: fc.nat({ max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('shm' as const), p: nat, pages: fc.integer({ min: 1, max: 6 }) }) },
);

/** A machine configuration (small, so reclaim and the OOM killer have work). */
export const configArb = (backend: 'js' | 'native'): fc.Arbitrary<MachineOptions> =>
  fc.record({ cpus: fc.integer({ min: 1, max: 3 }), swap: fc.constantFrom(0, 1, 2), hier: fc.boolean(), asids: fc.constantFrom('linux' as const, 'static' as const) }).map(({ cpus, swap, hier, asids }) => ({
    backend,
    memory: '4MiB',
    cpus,
    asids,
    ...(hier ? { cpu: 'skylake' } : {}),
    ...(swap > 0 ? { swap: { size: '2MiB', ...(swap === 2 ? { zswap: { maxPoolPercent: 10 } } : {}) } } : {}),
  }));

const live = (m: Machine): AddressSpace[] => m.processes();
const pick = <T>(xs: readonly T[], i: number): T | undefined => (xs.length === 0 ? undefined : xs[i % xs.length]);

/** Runs one step; returns what it observed (a value or the error's message), as text. */
export function runStep(m: Machine, s: Step): string {
  try {
    return String(apply(m, s));
  } catch (e) {
    return `error ${(e as Error).message}`;
  }
}

function regionOf(p: AddressSpace, r: number) {
  return pick(
    p.regions().filter((x) => x.kind !== 'stack'),
    r,
  );
}

function apply(m: Machine, s: Step): unknown {
  if (s.t === 'spawn') {
    if (live(m).length >= 4) return 'full';
    const p = s.limit > 0 ? m.createAddressSpace({ residentLimit: s.limit, policy: s.policy, ...(s.policy === 'random' ? { policyOptions: { seed: s.seed } } : {}) }) : m.createAddressSpace();
    return p.pid;
  }
  if (s.t === 'idle') return m.cpu(s.cpu % m.cpus).idle();
  const p = pick(live(m), s.p);
  if (!p) return 'none';
  switch (s.t) {
    case 'fork':
      return live(m).length >= 4 ? 'full' : p.fork().pid;
    case 'destroy':
      return live(m).length > 1 ? p.destroy() : 'last';
    case 'clearRefs':
      return p.clearRefs(4);
    case 'sbrk':
      return p.sbrk(4096 * 3);
    case 'mmap':
      return p.mmap({ length: s.pages * 4096, prot: s.prot, shared: s.shared, ...(s.huge && !s.shared ? { hugePages: true, length: 2 ** 21 } : {}) });
    case 'shm': {
      const o = m.createSharedMemory(`obj${p.pid}x${s.pages}`, s.pages * 4096);
      return p.mmap({ length: s.pages * 4096, prot: 'rw', shared: true, object: o });
    }
    case 'run': {
      const cpu = m.cpu(s.cpu % m.cpus);
      return cpu.run(s.thread ? p.createThread() : p);
    }
    default:
  }
  const reg = regionOf(p, s.r);
  if (!reg) return 'no region';
  const pages = (reg.end - reg.start) / 4096;
  switch (s.t) {
    case 'munmap':
      return p.munmap(reg.start + Math.min(s.off, pages - 1) * 4096, s.pages * 4096);
    case 'mprotect':
      return p.mprotect(reg.start, reg.end - reg.start, s.prot);
    case 'madvise':
      return p.madvise(reg.start, reg.end - reg.start, s.advice);
    case 'write':
    case 'read': {
      const task = taskOf(m, p, s.cpu);
      const va = reg.start + (s.page % pages) * 4096 + 24;
      if (s.t === 'write') return task.write(va, [s.v, s.v ^ 0x5a]);
      return [...task.read(va, 2)].join(',');
    }
    case 'batch': {
      const n = 64;
      const las = new Float64Array(n);
      const kinds = new Uint8Array(n);
      let x = s.seed + 1;
      for (let i = 0; i < n; i++) {
        x = (x * 1103515245 + 12345) % 2147483648;
        las[i] = reg.start + (x % pages) * 4096 + (x % 4000);
        kinds[i] = x % 3 === 0 ? 1 : 0;
      }
      const r = p.accessBatch(las, kinds);
      return `${r.completed} ${r.fault?.message ?? ''}`;
    }
    default:
      return 'unknown';
  }
}

/** The task CPU i runs when it is one of p's, else p's main thread. */
function taskOf(m: Machine, p: AddressSpace, cpu: number) {
  const t = m.cpu(cpu % m.cpus).current as { space?: unknown; access?: unknown } | undefined;
  if (t && (t === p || t.space === p)) return t as unknown as AddressSpace;
  return p;
}

/** A hash of every statistic, every process's view of itself, and all of physical memory. */
export function digest(m: Machine): string {
  const h = createHash('sha256');
  const put = (v: unknown) => h.update(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : typeof x === 'number' && !Number.isFinite(x) ? String(x) : x)) + '\n');
  put(m.stats());
  put(m.reclaimStats());
  // A kill names its (destroyed) space: by pid here, the object itself refers back to the machine.
  put(m.oomKills().map(({ space, ...k }) => ({ ...k, pid: (space as { pid?: number }).pid })));
  for (let i = 0; i < m.cpus; i++) put([m.cpu(i).stats(), m.cpu(i).current === undefined]);
  for (const p of m.processes()) {
    put([p.pid, p.stats(), p.reclaimStats(), p.maps(), p.status(), p.smapsRollup(), p.oomScore()]);
    for (const r of p.regions()) put([...p.pagemap(r.start, Math.min(64, (r.end - r.start) / 4096))].map(String));
  }
  const step = 2 ** 20;
  for (let pa = 0; pa < m.physical.size; pa += step) h.update(m.physical.read(pa, step));
  return h.digest('hex');
}
