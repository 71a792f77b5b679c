/** Issue 3 benchmarks: the VMM's operations, side by side with the real kernel doing the same work. */
import { Machine } from '../src/index.js';
import { type Figure } from './harness.js';
import { runLinuxBench } from './linux/linux-bench.js';

const PAGE = 4096;
const ONE = new Uint8Array([1]);

function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** One write per page of [base, base + pages * 4096), as a batch. */
function writesPerPage(base: number, pages: number): [Float64Array, Uint8Array] {
  const a = new Float64Array(pages);
  for (let i = 0; i < pages; i++) a[i] = base + i * PAGE;
  return [a, new Uint8Array(pages).fill(1)];
}

function vmsimFigures(backend: 'native' | 'js'): Record<string, number> {
  const out: Record<string, number> = {};
  const pages = 16384; // 64 MiB
  {
    const runs: number[] = [];
    for (let r = 0; r < 3; r++) {
      const m = new Machine({ memory: '1GiB', backend });
      const s = m.createAddressSpace();
      const base = s.mmap({ length: pages * PAGE, prot: 'rw' });
      const [a, k] = writesPerPage(base, pages);
      runs.push(time(() => s.accessBatch(a, k)) / pages);
      m.dispose();
    }
    out.first_touch_fault_ns = median(runs);
  }
  {
    const m = new Machine({ memory: '4GiB', backend });
    const s = m.createAddressSpace();
    let base = 0;
    out.populate_1g_ms = time(() => (base = s.mmap({ length: 2 ** 30, prot: 'rw', populate: true }))) / 1e6;
    const runs: number[] = [];
    for (let r = 0; r < 3; r++) {
      let child: ReturnType<typeof s.fork> | undefined;
      runs.push(time(() => (child = s.fork())) / 1e6);
      child!.destroy();
    }
    out.fork_1g_populated_ms = median(runs);
    out.munmap_1g_ms = time(() => s.munmap(base, 2 ** 30)) / 1e6;
    m.dispose();
  }
  {
    // mremap moves of 1 GiB populated, there and back: both ends 2 MiB-aligned, then one page off.
    const m = new Machine({ memory: '2GiB', backend });
    const s = m.createAddressSpace();
    const a = 0x2000_0020_0000;
    const b = 0x3000_0020_0000;
    s.mmap({ addr: a, length: 2 ** 30, prot: 'rw', fixed: true, populate: true });
    for (const [key, to] of [['mremap_1g_ms', b], ['mremap_1g_pte_ms', b + PAGE]] as const) {
      const runs: number[] = [];
      for (let r = 0; r < 5; r++) {
        const [from, dst] = r % 2 ? [to, a] : [a, to];
        runs.push(time(() => s.mremap(from, 2 ** 30, 2 ** 30, { mayMove: true, fixed: true, newAddr: dst })) / 1e6);
      }
      s.mremap(to, 2 ** 30, 2 ** 30, { mayMove: true, fixed: true, newAddr: a });
      out[key] = median(runs);
    }
    m.dispose();
  }
  {
    // exec of a process with 1 GiB resident, and of one with nothing mapped.
    const m = new Machine({ memory: '2GiB', backend });
    for (const [key, resident] of [['exec_1g_ms', 2 ** 30], ['exec_small_ms', 0]] as const) {
      const runs: number[] = [];
      for (let r = 0; r < 3; r++) {
        const s = m.createAddressSpace();
        if (resident) s.mmap({ length: resident, prot: 'rw', populate: true });
        runs.push(time(() => s.exec()) / 1e6);
        s.destroy();
      }
      out[key] = median(runs);
    }
    m.dispose();
  }
  {
    // COW breaks of pages holding data, as the kernel's row (its parent writes every page before fork).
    const cow = (m: Machine, write: boolean): number => {
      const s = m.createAddressSpace();
      const base = s.mmap({ length: pages * PAGE, prot: 'rw', populate: true });
      if (write) for (let i = 0; i < pages; i++) s.write(base + i * PAGE, ONE);
      const child = s.fork();
      const [a, k] = writesPerPage(base, pages);
      const ns = time(() => s.accessBatch(a, k)) / pages;
      child.destroy();
      s.destroy();
      return ns;
    };
    const fresh = (write: boolean, hostMemory: 'lazy' | 'eager' = 'lazy') => {
      const runs: number[] = [];
      for (let r = 0; r < 3; r++) {
        const m = new Machine({ memory: '256MiB', backend, hostMemory });
        runs.push(cow(m, write));
        m.dispose();
      }
      return median(runs);
    };
    // Lazy RAM, a fresh machine: every copy lands on a frame whose host page is touched for the first time.
    out.cow_break_ns = fresh(true);
    // Populated and never written: the sources are zeros, so no copy (and no host page) is needed.
    out.cow_break_zero_ns = fresh(false);
    // RAM committed up front (hostMemory: 'eager'), as a real machine's RAM exists before the kernel uses it.
    out.cow_break_warm_ns = fresh(true, 'eager');
    {
      // Lazy RAM whose frames were used before (a machine that has run a while): the steady state.
      const m = new Machine({ memory: '256MiB', backend });
      const runs: number[] = [];
      cow(m, true);
      for (let r = 0; r < 3; r++) runs.push(cow(m, true));
      out.cow_break_recycled_ns = median(runs);
      m.dispose();
    }
  }
  {
    const m = new Machine({ memory: '1GiB', backend });
    const s = m.createAddressSpace();
    s.mmap({ length: pages * PAGE, prot: 'rw', populate: true });
    const three = s.mmap({ length: 3 * PAGE, prot: 'rw' });
    const N = 20000;
    // Best of three after a warm-up: the first backend measured would otherwise pay the JIT's warm-up of the TS VMM code.
    const pair = () => {
      for (let i = 0; i < N; i++) {
        s.mprotect(three + PAGE, PAGE, 'r');
        s.mprotect(three + PAGE, PAGE, 'rw');
      }
    };
    const mapUnmap = () => {
      for (let i = 0; i < N; i++) s.munmap(s.mmap({ length: PAGE, prot: 'rw' }), PAGE);
    };
    pair();
    mapUnmap();
    out.mprotect_split_merge_ns = Math.min(time(pair), time(pair), time(pair)) / N;
    out.mmap_munmap_ns = Math.min(time(mapUnmap), time(mapUnmap), time(mapUnmap)) / N;
    m.dispose();
  }
  {
    // smaps of a process with 10,000 regions, as the kernel's row: 2-page chunks of alternating protection, a page written in each writable one.
    const m = new Machine({ memory: '256MiB', backend });
    const s = m.createAddressSpace();
    const chunks = 10000;
    const base = s.mmap({ length: chunks * 2 * PAGE, prot: 'rw' });
    const one = new Uint8Array([1]);
    for (let i = 0; i < chunks; i += 2) s.write(base + i * 2 * PAGE, one);
    for (let i = 1; i < chunks; i += 2) s.mprotect(base + i * 2 * PAGE, 2 * PAGE, 'r');
    const read = () => void s.smaps({ format: 'text' });
    // Best of five after two warm-ups (the JIT optimises the text writer's loops by the second call).
    read();
    read();
    out.smaps_10k_ms = Math.min(time(read), time(read), time(read), time(read), time(read)) / 1e6;
    m.dispose();
  }
  return out;
}

const ROWS: [string, string, string][] = [
  ['first_touch_fault_ns', 'first-touch demand-zero fault', 'ns/fault'],
  ['fork_1g_populated_ms', 'fork of 1 GiB populated', 'ms/fork'],
  ['cow_break_ns', 'COW break (copy), lazy host memory, fresh frames', 'ns/fault'],
  ['cow_break_recycled_ns', 'COW break (copy), lazy host memory, frames used before', 'ns/fault'],
  ['cow_break_warm_ns', "COW break (copy), hostMemory: 'eager'", 'ns/fault'],
  ['cow_break_zero_ns', 'COW break of populated, never-written pages (no copy)', 'ns/fault'],
  ['mprotect_split_merge_ns', 'mprotect split + merge pair', 'ns/pair'],
  ['mmap_munmap_ns', 'mmap + munmap pair', 'ns/pair'],
  ['populate_1g_ms', 'populate 1 GiB', 'ms'],
  ['munmap_1g_ms', 'munmap 1 GiB populated', 'ms'],
  ['smaps_10k_ms', 'smaps (text) of 10,000 regions', 'ms'],
  ['mremap_1g_ms', 'mremap move of 1 GiB populated, 2 MiB-aligned ends', 'ms'],
  ['mremap_1g_pte_ms', 'mremap move of 1 GiB populated, ends a page apart', 'ms'],
  ['exec_1g_ms', 'exec of a process with 1 GiB resident', 'ms'],
  ['exec_small_ms', 'exec of a process with nothing mapped', 'ms'],
];

/** Runs the VMM benchmarks on the given backends and the real kernel. */
export function benchVmm(backends: ('native' | 'js')[]): { figures: Figure[]; linuxNote: string } {
  const per: Record<string, Record<string, number>> = {};
  for (const b of backends) per[b] = vmsimFigures(b);
  const linux = runLinuxBench();
  const lx = 'unavailable' in linux ? undefined : (linux as unknown as Record<string, number>);
  const figures = ROWS.map(([key, name, unit]) => ({
    name,
    unit,
    // The kernel has one COW figure (pages holding data): its page allocator hands out whatever pages it has.
    values: { native: per.native?.[key], js: per.js?.[key], linux: lx?.[key.startsWith('cow_break') ? 'cow_break_ns' : key] },
  }));
  return { figures, linuxNote: lx ? 'linux: the same work by this machine\'s kernel (bench/linux/vmbench.c, THP off)' : `linux: n/a (${(linux as { unavailable: string }).unavailable})` };
}
