/**
 * Issue 22 benchmarks: snapshots of a machine with 1 GiB resident (snapshot, restore, the host
 * memory they add before either side writes), 1,000 restores of one warmed snapshot, and
 * snapshot files (save and load speed in MB/s of resident memory, file size against it).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Machine } from '../src/index.js';
import { replay } from '../src/replay/replay.js';
import { packRecord } from '../src/trace/trace-record.js';
import type { Figure } from './harness.js';

const GIB = 2 ** 30;
const PAGE = 4096;

function ms(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Host memory this process holds, in bytes: its anonymous pages plus the system's shared memory (the native core's RAM is a memfd: shmem). Other processes' shmem moves it too: a noisy figure. */
function hostBytes(): number {
  const kb = (text: string, key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return kb(readFileSync('/proc/self/smaps_rollup', 'utf8'), 'Anonymous') + kb(readFileSync('/proc/meminfo', 'utf8'), 'Shmem');
}

/** A machine with 1 GiB resident: a populated 1 GiB region, every page written (8 bytes of a counter: distinct pages, mostly zeros). */
function residentMachine(backend: 'native' | 'js'): Machine {
  const m = new Machine({ memory: '2GiB', backend });
  const s = m.createAddressSpace();
  const base = s.mmap({ length: GIB, prot: 'rw', populate: true });
  const pages = GIB / PAGE;
  const v = new Uint8Array(8);
  const dv = new DataView(v.buffer);
  for (let i = 0; i < pages; i++) {
    dv.setFloat64(0, i + 1, true);
    s.write(base + i * PAGE, v);
  }
  return m;
}

/** A warmed replay machine: 200,000 accesses over 16 MiB through a skylake hierarchy, saved by replay. */
async function warmedFile(dir: string, backend: 'native' | 'js'): Promise<string> {
  const n = 200_000;
  const words = new Uint32Array(n * 2);
  let x = 1;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    packRecord(words, i, 0x10000000 + (x % 4096) * PAGE + (x % 4000), x & 3, 8);
  }
  const path = join(dir, `warm-${backend}.vmsnap`);
  await replay([{ words, count: n }], { backend, memory: '256MiB', cpu: 'skylake', save: path });
  return path;
}

/** The snapshot figures of each backend. */
export async function benchSnapshots(backends: ReadonlyArray<'native' | 'js'>): Promise<Figure[]> {
  const rows = new Map<string, Figure>();
  const put = (key: string, name: string, unit: string, backend: string, v: number, note?: string) => {
    const f = rows.get(key) ?? { name, unit, values: {}, ...(note ? { note } : {}) };
    f.values[backend] = v;
    rows.set(key, f);
  };
  const dir = mkdtempSync(join(tmpdir(), 'vmsim-bench-snap-'));
  try {
    for (const backend of backends) {
      const m = residentMachine(backend);
      const snaps: number[] = [];
      const restores: number[] = [];
      let extra = 0;
      for (let r = 0; r < 5; r++) {
        const h0 = hostBytes();
        let snap: ReturnType<Machine['snapshot']> | undefined;
        let copy: Machine | undefined;
        snaps.push(ms(() => (snap = m.snapshot())));
        restores.push(ms(() => (copy = snap!.restore())));
        if (r === 0) extra = Math.max(0, hostBytes() - h0);
        copy!.dispose();
        snap!.release();
      }
      put('snap', 'snapshot of a machine with 1 GiB resident', 'ms', backend, median(snaps), 'target: under 10 ms');
      put('restore', 'restore of it', 'ms', backend, median(restores), 'target: under 10 ms');
      put('extra', 'host memory added by a snapshot and a restore, before writes', '% of resident', backend, (100 * extra) / GIB, 'target: under 5% (anonymous memory + system shmem: other processes move it)');
      // Save and load: MB/s of resident memory (1 GiB), and the file's size.
      const file = join(dir, `m-${backend}.vmsnap`);
      const save = median([0, 1, 2].map(() => ms(() => m.save(file))));
      put('save', 'save to a file (1 GiB resident)', 'MB/s', backend, GIB / 1e6 / (save / 1e3), 'target: at least 500 MB/s (zero pages are free)');
      put('size', 'file size against resident memory', '%', backend, (100 * statSync(file).size) / GIB, 'every page distinct (8 bytes of a counter), the rest zeros: DEFLATE leaves under 1%');
      m.dispose();
      const load = median(
        [0, 1, 2].map(() => {
          let l: Machine | undefined;
          const t = ms(() => (l = Machine.load(file, { backend })));
          l!.dispose();
          return t;
        }),
      );
      put('load', 'load of that file', 'MB/s', backend, GIB / 1e6 / (load / 1e3), 'target: at least 500 MB/s');
      rmSync(file, { force: true });
      // 1,000 restores of one warmed snapshot (a sweep's configurations from one warm-up).
      const warm = Machine.load(await warmedFile(dir, backend), { backend });
      const ws = warm.snapshot();
      // The js core copies RAM into a fresh buffer per restore (~0.3 s per GiB of machine): it runs 50 and is scaled to 1,000.
      const n = backend === 'native' ? 1000 : 50;
      const each = ms(() => {
        for (let i = 0; i < n; i++) ws.restore().dispose();
      });
      put('thousand', '1,000 restores of one warmed snapshot (restore + dispose)', 'ms', backend, (each * 1000) / n, 'a 256 MiB machine warmed by a replay of 200,000 accesses over 16 MiB (skylake TLBs); js: 50 restores, scaled');
      ws.release();
      warm.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return [...rows.values()];
}
