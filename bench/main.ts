/** `npm run bench`: every benchmark side by side, native vs pure-TS backend (vs Linux where there is one). */
import { Machine, nativeAvailable } from '../src/index.js';
import { printTable } from './harness.js';
import { benchMmu } from './mmu.js';
import { benchVmm } from './vmm.js';
import { benchReplay } from './replay.js';
import { benchRegions } from './regions.js';
import { benchTlbHierarchy } from './tlb-hierarchy.js';
import { benchPrograms } from './programs.js';
import { benchMultiprocessor } from './multiprocessor.js';
import { benchSnapshots } from './snapshots.js';

const backends: ('native' | 'js')[] = nativeAvailable() ? ['native', 'js'] : ['js'];
// VMSIM_BENCH=reclaim runs only the reclaim-through-the-VMM section (its targets), e.g. while tuning it.
if (process.env.VMSIM_BENCH === 'mp') {
  printTable('Multiprocessor', ['native', 'js'], await benchMultiprocessor(backends), [['native', 'js']]);
  process.exit(0);
}
if (process.env.VMSIM_BENCH === 'reclaim') {
  const { benchReclaimVmm } = await import('./reclaim.js');
  printTable('Reclaim through the VMM', ['native', 'js', 'map'], await benchReclaimVmm(backends), [['native', 'js']]);
  process.exit(0);
}
// VMSIM_BENCH=programs runs only the whole-program and ChampSim rows, each beside its yardstick.
if (process.env.VMSIM_BENCH === 'programs') {
  const p = await benchPrograms();
  printTable('Traces beside their yardsticks (whole commands)', ['vmsim', 'yardstick'], p.figures, [['yardstick', 'vmsim']]);
  for (const n of p.notes) console.log(n);
  process.exit(0);
}
// VMSIM_BENCH=snapshots runs only the snapshot section.
if (process.env.VMSIM_BENCH === 'snapshots') {
  printTable('Snapshots', ['native', 'js'], await benchSnapshots(backends), [['native', 'js']]);
  process.exit(0);
}
// VMSIM_BENCH=files runs only the file and page cache rows beside the kernel.
if (process.env.VMSIM_BENCH === 'files') {
  const { benchFiles } = await import('./files.js');
  const files = await benchFiles(backends);
  printTable('Files and the page cache vs the real kernel', ['native', 'js', 'linux'], files.figures, [['native', 'js'], ['native', 'linux']]);
  console.log(files.linuxNote);
  process.exit(0);
}
// VMSIM_BENCH=vmm runs only the VMM operations beside the kernel (one run, the ratios of that run).
if (process.env.VMSIM_BENCH === 'vmm') {
  const vmm = benchVmm(backends);
  printTable('VMM operations vs the real kernel', ['native', 'js', 'linux'], vmm.figures, [['native', 'js'], ['native', 'linux']]);
  console.log(vmm.linuxNote);
  process.exit(0);
}
console.log(`vmsim benchmarks — node ${process.version}, backends: ${backends.join(', ')}`);
printTable('MMU access path', ['native', 'js'], benchMmu(backends), [['native', 'js']]);

// Memory: a 64 GiB machine reserves, it does not commit.
const startFigures = backends.map((b) => {
  const rss0 = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  const m = new Machine({ memory: '64GiB', backend: b });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  // RSS can shrink meanwhile (the GC returns pages), which is not the machine giving memory back: growth is at least 0.
  const mib = Math.max(0, (process.memoryUsage().rss - rss0) / 2 ** 20);
  m.dispose();
  return [b, ms, mib] as const;
});
printTable('Start-up of a 64 GiB machine', ['native', 'js'], [
  { name: 'construct', unit: 'ms', values: Object.fromEntries(startFigures.map(([b, ms]) => [b, ms])), note: 'target: well under a second' },
  { name: 'resident memory added', unit: 'MiB', values: Object.fromEntries(startFigures.map(([b, , mib]) => [b, mib])), note: 'RSS growth (0 = none measurable); host memory is committed only for touched frames' },
], []);

const vmm = benchVmm(backends);
printTable('VMM operations vs the real kernel', ['native', 'js', 'linux'], vmm.figures, [['native', 'js'], ['native', 'linux']]);
console.log(vmm.linuxNote);

printTable('Trace replay', ['native', 'js', 'naive'], await benchReplay(backends), [['native', 'js'], ['native', 'naive']]);
printTable('Multiprocessor', ['native', 'js'], await benchMultiprocessor(backends), [['native', 'js']]);
printTable('Snapshots', ['native', 'js'], await benchSnapshots(backends), [['native', 'js']]);
console.log('naive = one native core.access() call per access from a TS loop (what batching avoids)');

const programs = await benchPrograms();
printTable('Traces beside their yardsticks (whole commands)', ['vmsim', 'yardstick'], programs.figures, [['yardstick', 'vmsim']]);
for (const n of programs.notes) console.log(n);

const regions = benchRegions();
printTable('Region map: gap-tracking tree vs the sorted array it replaced', ['tree', 'array'], regions.map, [['tree', 'array']]);
printTable('Region operations through the API (native backend)', ['native'], regions.machine, []);
if (backends.includes('native')) {
  const h = await benchTlbHierarchy();
  printTable('TLB hierarchy (native) vs the single TLB and the TS model', ['native', 'single', 'js'], h.figures, [['single', 'native'], ['native', 'js']]);
  console.log(h.note);
}

const reclaimBench = await import('./reclaim.js');
printTable('Reclaim policies and swap pieces', ['policy', 'map'], reclaimBench.benchReclaim(), [['policy', 'map']]);
printTable('Reclaim through the VMM', ['native', 'js', 'map'], await reclaimBench.benchReclaimVmm(backends), [['native', 'js']]);

const filesBench = await (await import('./files.js')).benchFiles(backends);
printTable('Files and the page cache vs the real kernel', ['native', 'js', 'linux'], filesBench.figures, [['native', 'js'], ['native', 'linux']]);
console.log(filesBench.linuxNote);
