/**
 * Region operations at 10^3, 10^5 and 10^6 regions: the gap-tracking tree against the sorted
 * array it replaced (kept as the test reference), then the same operations through the public
 * API on a machine. Sizes: VMSIM_BENCH_REGIONS (default "1000,100000,1000000").
 */
import { Machine } from '../src/index.js';
import { RegionMap } from '../src/vmm/region-map.js';
import type { RegionRecord } from '../src/vmm/region.js';
import { SortedRegionMap } from '../test/support/sorted-region-map.js';
import type { Figure } from './harness.js';

const PAGE = 4096;
const TOP = 0x7ffff7fff000; // mmap_base with ASLR off
const LOW = 0x10000;

/** Best time of `rounds` runs of `fn` (after one warm-up run), in ns per op. */
function best(fn: () => void, ops: number, rounds = 3): number {
  fn();
  let b = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    b = Math.min(b, Number(process.hrtime.bigint() - t0) / ops);
  }
  return b;
}

type Map = RegionMap | SortedRegionMap;

function rec(start: number, pages: number, prot: number): RegionRecord {
  return { start, end: start + pages * PAGE, prot, kind: 'mmap', shared: false, backing: { type: 'anonymous' }, flags: 0, anon: 0 };
}

/** Pages per region: mprotect and munmap of the middle page split a region and merge it back. */
const SPAN = 3;

/** n three-page regions of alternating protection, touching, just below TOP (what n top-down mmaps leave). */
function build(m: Map, n: number): void {
  // Inserted bottom-up: the sorted array then appends (cheap) and both maps end up identical.
  const base = TOP - n * SPAN * PAGE;
  for (let i = 0; i < n; i++) m.insert(rec(base + i * SPAN * PAGE, SPAN, i & 1 ? 1 : 3));
}

/** ns per operation on a map of n regions; ops scale down for the O(n) array so that it finishes. */
function mapFigures(m: Map, n: number, slow: boolean): Record<string, number> {
  const k = slow ? Math.max(5, Math.min(2000, Math.floor(2e7 / n))) : 20000;
  // The middle page of the middle region.
  const i = n >> 1;
  const mid = TOP - n * SPAN * PAGE + i * SPAN * PAGE + PAGE;
  const midProt = i & 1 ? 1 : 3;
  return {
    mmap: best(() => {
      for (let i = 0; i < k; i++) {
        const a = m.findGapTopDown(PAGE, LOW, TOP)!;
        m.insert(rec(a, 1, 7));
        m.remove(a, a + PAGE);
      }
    }, k),
    mprotect: best(() => {
      for (let i = 0; i < k; i++) {
        m.protect(mid, mid + PAGE, 7);
        m.protect(mid, mid + PAGE, midProt);
      }
    }, k),
    munmap: best(() => {
      for (let i = 0; i < k; i++) {
        m.remove(mid, mid + PAGE);
        m.insert(rec(mid, 1, midProt));
      }
    }, k),
    find: best(() => {
      for (let i = 0; i < 20000; i++) m.find(TOP - 1 - ((i * 7919) % n) * SPAN * PAGE);
    }, 20000),
    clone: best(() => void m.clone(), 1),
  };
}

/** The public API on a native machine with n regions: ns per call, ms per fork. */
function machineFigures(n: number): Record<string, number> {
  const m = new Machine({ memory: '1GiB', maxMapCount: 4 * n + 100 });
  const s = m.createAddressSpace();
  const addrs: number[] = [];
  for (let i = 0; i < n; i++) addrs.push(s.mmap({ length: SPAN * PAGE, prot: i & 1 ? 'r' : 'rw' }));
  const mid = addrs[n >> 1]! + PAGE; // the middle page of the middle region
  const midProt = (n >> 1) & 1 ? 'r' : 'rw';
  const k = 5000;
  const out: Record<string, number> = {
    mmap: best(() => {
      for (let i = 0; i < k; i++) s.munmap(s.mmap({ length: PAGE, prot: 'rwx' }), PAGE);
    }, k),
    mprotect: best(() => {
      for (let i = 0; i < k; i++) {
        s.mprotect(mid, PAGE, 'rwx');
        s.mprotect(mid, PAGE, midProt);
      }
    }, k),
    munmap: best(() => {
      for (let i = 0; i < k; i++) {
        s.munmap(mid, PAGE);
        s.mmap({ addr: mid, length: PAGE, prot: midProt, fixed: true });
      }
    }, k),
    find: best(() => {
      for (let i = 0; i < 20000; i++) s.findRegion(addrs[(i * 7919) % n]!);
    }, 20000),
    fork: best(() => s.fork().destroy(), 1) / 1e6,
  };
  // Holes between the regions: fork then makes one page-table call per region.
  const g = m.createAddressSpace();
  for (let i = 0; i < n; i++) g.mmap({ addr: TOP - 2 * (i + 1) * PAGE, length: PAGE, prot: 'rw', fixed: true });
  out.forkHoles = best(() => g.fork().destroy(), 1) / 1e6;
  // Faults at random addresses among the regions (each fault looks its region up).
  const count = 200_000;
  const va = new Float64Array(count);
  let x = 12345;
  for (let i = 0; i < count; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    va[i] = TOP - 2 * (1 + (x % n)) * PAGE;
  }
  const kinds = new Uint8Array(count);
  // Measured once, on untouched pages: a second run would hit pages the first one mapped.
  const t0 = process.hrtime.bigint();
  g.accessBatch(va, kinds);
  out.faults = Number(process.hrtime.bigint() - t0) / count;
  m.dispose();
  return out;
}

/** Runs the region benchmarks: returns the map table (tree vs array) and the machine table. */
export function benchRegions(): { map: Figure[]; machine: Figure[] } {
  const sizes = (process.env.VMSIM_BENCH_REGIONS ?? '1000,100000,1000000').split(',').map(Number);
  const map: Figure[] = [];
  const machine: Figure[] = [];
  for (const n of sizes) {
    const tree = new RegionMap();
    const arr = new SortedRegionMap();
    build(tree, n);
    build(arr, n);
    const t = mapFigures(tree, n, false);
    const a = mapFigures(arr, n, true);
    const label = n.toExponential(0).replace('+', '');
    map.push(
      { name: `mmap top-down (gap search + insert + munmap) @${label}`, unit: 'ns/op', values: { tree: t.mmap, array: a.mmap } },
      { name: `mprotect split + merge pair @${label}`, unit: 'ns/pair', values: { tree: t.mprotect, array: a.mprotect } },
      { name: `munmap + re-insert of a middle region @${label}`, unit: 'ns/pair', values: { tree: t.munmap, array: a.munmap } },
      { name: `find @${label}`, unit: 'ns/op', values: { tree: t.find, array: a.find } },
      { name: `clone (fork's copy of the map) @${label}`, unit: 'ns', values: { tree: t.clone, array: a.clone } },
    );
    const f = machineFigures(n);
    machine.push(
      { name: `mmap + munmap top-down @${label}`, unit: 'ns/pair', values: { native: f.mmap } },
      { name: `mprotect split + merge pair @${label}`, unit: 'ns/pair', values: { native: f.mprotect } },
      { name: `munmap + mmap fixed of a middle page @${label}`, unit: 'ns/pair', values: { native: f.munmap } },
      { name: `findRegion @${label}`, unit: 'ns/op', values: { native: f.find } },
      { name: `fork, regions touching @${label}`, unit: 'ms', values: { native: f.fork } },
      { name: `fork, a hole between regions @${label}`, unit: 'ms', values: { native: f.forkHoles } },
      { name: `200k reads at random regions (first touch: mostly faults) @${label}`, unit: 'ns/access', values: { native: f.faults } },
    );
  }
  return { map, machine };
}
