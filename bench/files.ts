/**
 * Files and the page cache, side by side with the kernel doing the same work
 * (bench/linux/filebench.c): read faults on a cached file's pages with fault-around (each maps
 * 16 pages) and without, MAP_PRIVATE copy on write of a cached page, dropping clean pages and
 * writing back dirty ones; and a replay whose accesses all go to a file mapping, on a machine
 * whose memory holds a quarter of it (page cache reclaim, dirty pages written back first),
 * next to the same replay on a machine where it all fits (the replays in CPU time).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Machine, type AddressSpace, type File } from '../src/index.js';
import { replay } from '../src/replay/replay.js';
import type { TraceChunk } from '../src/trace/trace-record.js';
import type { Figure } from './harness.js';
import { hotColdTrace } from './bench-traces.js';

/** 1 M accesses with locality to a file mapping of 8192 pages (99.5% to 48 hot pages), half of them writes. */
export const fileTrace = (n: number): TraceChunk[] => hotColdTrace(n, 7);

const PG = 4096;
const PAGES = 16384;

/** What the kernel took (ns per operation), or why it could not be measured. */
function linuxFigures(): Record<string, number> | { unavailable: string } {
  let root = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6 && !existsSync(join(root, 'package.json')); i++) root = dirname(root);
  const dir = mkdtempSync(join(tmpdir(), 'vmsim-filebench-'));
  try {
    const exe = join(dir, 'filebench');
    execFileSync('cc', ['-O2', '-o', exe, join(root, 'bench', 'linux', 'filebench.c')], { stdio: 'pipe' });
    const out = JSON.parse(execFileSync(exe, [dir], { encoding: 'utf8', timeout: 300_000 })) as Record<string, number> & { error?: string };
    return out.error ? { unavailable: out.error } : out;
  } catch (e) {
    return { unavailable: (e as Error).message.split('\n')[0]! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Best of `rounds` runs of f, in ns. */
function bestNs(f: () => void, rounds: number): number {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    f();
    best = Math.min(best, Number(process.hrtime.bigint() - t0));
  }
  return best;
}

/** ns `f` takes. */
function timeNs(f: () => void): number {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0);
}

/** The best of `rounds` measurements `f` returns (each may prepare, then time a part). */
function bestOf(rounds: number, f: () => number): number {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) best = Math.min(best, f());
  return best;
}

/** A cached, clean file of PAGES pages (written, then fsynced), as the kernel's. */
function cachedFile(m: Machine): File {
  const f = m.fs.create('/bench');
  const chunk = new Uint8Array(64 * PG).fill(1);
  for (let i = 0; i < PAGES; i += 64) f.write(i * PG, chunk);
  f.fsync();
  return f;
}

/** One read of every page of [a, a + pages), as a batch. */
function touchAll(s: AddressSpace, a: number, pages: number, kind: number): void {
  const addrs = new Float64Array(pages);
  for (let i = 0; i < pages; i++) addrs[i] = a + i * PG;
  s.accessBatch(addrs, new Uint8Array(pages).fill(kind));
}

function vmsimFigures(backend: 'native' | 'js'): Record<string, number> {
  const out: Record<string, number> = {};
  const rounds = backend === 'native' ? 5 : 2;
  {
    const m = new Machine({ memory: '512MiB', backend, hostMemory: 'eager' });
    const f = cachedFile(m);
    const s = m.createAddressSpace();
    out.read_fault_around_ns = bestNs(() => {
      const a = s.mmap({ length: PAGES * PG, prot: 'r', shared: true, file: f });
      touchAll(s, a, PAGES, 0);
      s.munmap(a, PAGES * PG);
    }, rounds) / (PAGES / 16);
    out.cow_file_page_ns = bestNs(() => {
      const a = s.mmap({ length: PAGES * PG, prot: 'rw', file: f });
      touchAll(s, a, PAGES, 1);
      s.munmap(a, PAGES * PG);
    }, rounds) / PAGES;
    // Dropping clean pages (reclaim of unmapped, unreferenced pages: no I/O), read back in before each round.
    out.drop_clean_page_ns = bestOf(rounds, () => {
      f.read(0, PAGES * PG);
      return timeNs(() => m.fileReclaim.evict(PAGES, undefined, 'kswapd'));
    }) / PAGES;
    // Writing back dirty pages: fsync after dirtying every page.
    out.writeback_dirty_page_ns = bestOf(rounds, () => {
      const chunk = new Uint8Array(64 * PG).fill(3);
      for (let i = 0; i < PAGES; i += 64) f.write(i * PG, chunk);
      return timeNs(() => f.fsync());
    }) / PAGES;
    m.dispose();
  }
  {
    // No fault-around: each read fault maps its own page.
    const m = new Machine({ memory: '512MiB', backend, hostMemory: 'eager', vm: { faultAroundBytes: 4096 } });
    const f = cachedFile(m);
    const s = m.createAddressSpace();
    out.read_fault_single_ns = bestNs(() => {
      const a = s.mmap({ length: PAGES * PG, prot: 'r', shared: true, file: f });
      touchAll(s, a, PAGES, 0);
      s.munmap(a, PAGES * PG);
    }, rounds) / PAGES;
    m.dispose();
  }
  return out;
}


/**
 * The replay of the file trace on a machine of `memory` (and `vm` tunables): CPU ns per access
 * (process.cpuUsage, best of `rounds`: the machine is a shared, loaded VM, and CPU time is what
 * moves least), from the end of the setup to the end of the trace (the vmstat read after it is
 * not timed), and the file pages reclaimed and read.
 */
export async function fileReplay(trace: TraceChunk[], n: number, backend: 'native' | 'js', memory: string, rounds: number, vm?: { readAheadKb: number }): Promise<{ ns: number; stolen: number; read: number }> {
  let best = Infinity;
  let stolen = 0;
  let read = 0;
  for (let r = 0; r < rounds; r++) {
    let c0 = process.cpuUsage();
    let cpu = 0;
    await replay(trace, {
      backend,
      memory,
      vm,
      setup: (s) => {
        const m = s.machine as Machine;
        const f = m.fs.create('/data', { size: 8192 * PG });
        s.mmap({ addr: 0x10_0000_0000, fixed: true, length: 8192 * PG, prot: 'rw', shared: true, file: f });
        f.close();
        c0 = process.cpuUsage();
      },
      onFinish: (s) => {
        const d = process.cpuUsage(c0);
        cpu = (d.user + d.system) / 1000;
        const v = (s.machine as Machine).vmstat();
        stolen = v.pgsteal_file;
        read = v.pgpgin / 4;
      },
    });
    best = Math.min(best, cpu);
  }
  return { ns: (best * 1e6) / n, stolen, read };
}

/** The file rows: vmsim's backends beside the kernel. */
export async function benchFiles(backends: ('native' | 'js')[]): Promise<{ figures: Figure[]; linuxNote: string }> {
  const linux = linuxFigures();
  const lin = 'unavailable' in linux ? undefined : linux;
  const by = Object.fromEntries(backends.map((b) => [b, vmsimFigures(b)]));
  const row = (name: string, key: string, note?: string): Figure => ({ name, unit: 'ns/op', values: { ...Object.fromEntries(backends.map((b) => [b, by[b]![key]])), linux: lin?.[key] }, note });
  const figures: Figure[] = [
    row('read fault on a cached file page, fault-around (16 pages a fault)', 'read_fault_around_ns', 'per fault; the kernel maps the same 16 pages'),
    row('read fault on a cached file page, no fault-around', 'read_fault_single_ns', 'vmsim: faultAroundBytes 4096; the kernel: one-page mappings (its window is clamped to the mapping)'),
    row('MAP_PRIVATE copy on write of a cached file page', 'cow_file_page_ns', 'a write to a page no read mapped (do_cow_fault)'),
    row('dropping a clean page', 'drop_clean_page_ns', 'vmsim: file reclaim of unmapped clean pages; the kernel: POSIX_FADV_DONTNEED'),
    row('writing back a dirty page (fsync)', 'writeback_dirty_page_ns', "the kernel's figure includes its disk; vmsim's disk is host memory (its simulated time is 20 us a page)"),
  ];
  const N = 1_000_000;
  const trace = fileTrace(N);
  for (const vm of [undefined, { readAheadKb: 0 }]) {
    const plain: Record<string, number> = {};
    const pressure: Record<string, number> = {};
    let stolen = 0;
    let read = 0;
    for (const b of backends) {
      const rounds = b === 'native' ? 5 : 1; // best of 5: the first rounds still run code V8 has not optimised yet
      plain[b] = (await fileReplay(trace, N, b, '256MiB', rounds, vm)).ns;
      const p = await fileReplay(trace, N, b, '8MiB', rounds, vm);
      pressure[b] = p.ns;
      stolen = p.stolen;
      read = p.read;
    }
    const ratio = backends.map((b) => `${b} ${(pressure[b]! / plain[b]!).toFixed(2)}x${b === 'native' ? (pressure[b]! / plain[b]! < 2 ? ' (met)' : ' (NOT met)') : ''}`).join(', ');
    const perPage = backends.map((b) => `${b} ${(((pressure[b]! - plain[b]!) * N) / Math.max(1, stolen)).toFixed(0)} ns`).join(', ');
    const ra = vm ? 'read_ahead_kb 0' : 'read_ahead_kb 128';
    figures.push({ name: `replay, file mapping of 8192 pages, all in memory (${ra})`, unit: 'ns/access', values: { ...plain } });
    figures.push({
      name: `replay, the same in 8 MiB (${ra}: ${read} pages read, ${stolen} reclaimed)`,
      unit: 'ns/access',
      values: { ...pressure },
      note: `pressure / no pressure: ${ratio} (target: within 2x, native); the difference per page reclaimed: ${perPage}`,
    });
  }
  const linuxNote = lin ? 'linux = bench/linux/filebench.c on this machine, in a temporary directory of the disk' : `linux: ${(linux as { unavailable: string }).unavailable}`;
  return { figures, linuxNote };
}
