/**
 * The process lab (and, with a small memory and swap, the memory-pressure lab): a script of
 * library calls run step by step; /proc/PID/maps, the page tables as a tree, the frames by owner
 * with their reference counts; swap, zswap and the OOM killer when the machine has swap.
 */
import { h } from './dom.js';
import type { Params } from './url-state.js';
import { mountScriptLab } from './script-lab.js';
import { frameGrid } from './frame-grid.js';
import { ProcessLab, type Proc } from '../engine/process-lab.js';
import { tableTree, frameUses, type TableNode } from '../engine/memory-map.js';
import { hex } from '../engine/bits.js';
import { SCENARIOS } from '../engine/scenarios.js';

/** Builds the view. */
export function mountProcesses(panel: HTMLElement, params: Params, save: (p: Params) => void, kind: 'processes' | 'pressure'): void {
  mountScriptLab(panel, params, save, {
    id: kind,
    title: kind === 'processes' ? 'Processes' : 'Memory pressure',
    intro: kind === 'processes' ? 'Processes on the simulated machine: each line of the script is one call of the library (shown beside it). Step through it and watch the regions, the page tables and the physical frames: after fork two processes share each frame (reference count 2) until one writes.' : 'A small memory with swap: a process over its resident limit (a memory cgroup) sends pages to swap and reads them back as major faults; zswap keeps them compressed in RAM; when RAM and swap run out the OOM killer picks a victim by its badness.',
    scenarios: SCENARIOS[kind],
    help: 'machine memory=8M swap=256K zswap \u00b7 p1 = spawn [limit=N policy=clock adj=N] \u00b7 mmap p1 ADDR LEN PROT [shared] \u00b7 write|read p1 ADDR [LEN] \u00b7 p2 = fork p1 \u00b7 munmap p1 ADDR LEN \u00b7 mprotect p1 ADDR LEN PROT \u00b7 exit p1',
    fields: [
      { name: 'proc', label: 'process', value: 'p1', size: 4 },
      { name: 'addr', label: 'address', value: '0x10000', size: 10 },
      { name: 'len', label: 'length', value: '4K', size: 6 },
      { name: 'prot', label: 'protection', value: 'rw', size: 4 },
    ],
    ops: [
      ['spawn', (v) => `${v.proc} = spawn`],
      ['mmap', (v) => `mmap ${v.proc} ${v.addr} ${v.len} ${v.prot}`],
      ['write', (v) => `write ${v.proc} ${v.addr} ${v.len}`],
      ['read', (v) => `read ${v.proc} ${v.addr} ${v.len}`],
      ['fork', (v, next) => `${next('p')} = fork ${v.proc}`],
      ['mprotect', (v) => `mprotect ${v.proc} ${v.addr} ${v.len} ${v.prot}`],
      ['munmap', (v) => `munmap ${v.proc} ${v.addr} ${v.len}`],
      ['exit', (v) => `exit ${v.proc}`],
    ],
    render(commands, step) {
      const lab = new ProcessLab(commands, step);
      try {
        return { results: lab.results, view: labView(lab, kind) };
      } finally {
        lab.dispose();
      }
    },
  });
}

function labView(lab: ProcessLab, kind: 'processes' | 'pressure'): HTMLElement[] {
  const m = lab.machine;
  const out: HTMLElement[] = [];
  const rs = m.reclaimStats();
  if (rs.swap || kind === 'pressure') out.push(pressureView(lab));
  const frames = frameUses(m, lab.procs);
  out.push(h('section', { className: 'procs' }, h('h3', {}, 'Processes'), ...lab.procs.map((p) => procView(lab, p))));
  out.push(frameGrid(frames, lab.procs));
  return out;
}

function procView(lab: ProcessLab, p: Proc): HTMLElement {
  if (p.gone || p.space.destroyed) return h('article', { className: 'proc gone', 'data-proc': p.name }, h('h4', {}, `${p.name} (pid ${p.pid}): ${p.gone ?? 'gone'}`));
  const st = p.space.stats();
  const rs = p.space.reclaimStats();
  return h(
    'article',
    { className: `proc owner-${p.pid % 8}`, 'data-proc': p.name },
    h('h4', {}, `${p.name} (pid ${p.pid})`),
    h('p', {}, `VmRSS ${rs.VmRSS} pages, VmSwap ${rs.VmSwap}, faults: ${st.faults.minor} minor, ${st.faults.major} major, ${st.faults.cowCopied} COW copies, ${st.faults.cowReused} COW reuses; oom_score ${p.space.oomScore()}${rs.residentLimit !== undefined && Number.isFinite(rs.residentLimit) ? `; resident limit ${rs.residentLimit}` : ''}`),
    h('h5', {}, `/proc/${p.pid}/maps`),
    h('pre', { className: 'maps', 'data-maps': p.name }, p.space.maps() || '(no regions)'),
    h('details', { open: true }, h('summary', {}, 'Page tables (user half)'), treeView(tableTree(lab.machine, p))),
  );
}

const LEVEL = ['', 'PTE', 'PDE', 'PDPTE', 'PML4E'];

function treeView(nodes: TableNode[]): HTMLElement {
  if (nodes.length === 0) return h('p', {}, 'empty');
  const flags = (n: TableNode) => `${n.writable ? 'RW' : 'R'}${n.accessed ? ' A' : ''}${n.dirty ? ' D' : ''}${n.cow ? ' COW' : ''}`;
  const items: HTMLElement[] = [];
  for (let i = 0; i < nodes.length; ) {
    const n = nodes[i]!;
    // A run of neighbouring leaves of one kind and flags is one line (a full page table is 512 of them).
    let j = i + 1;
    if (n.type !== 'table') while (j < nodes.length && nodes[j]!.type === n.type && nodes[j]!.index === nodes[j - 1]!.index + 1 && (n.type === 'swap' || flags(nodes[j]!) === flags(n))) j++;
    if (j - i >= 4) {
      const last = nodes[j - 1]!;
      const targets = nodes.slice(i, j).map((x) => x.target);
      const consecutive = targets.every((t, k) => k === 0 || t === targets[k - 1]! + 1);
      const range = consecutive ? `${targets[0]}\u2013${last.target}` : `${targets.slice(0, 3).join(', ')}, \u2026, ${last.target}`;
      items.push(h('li', { 'data-type': n.type, 'data-run': j - i }, `${LEVEL[n.level]}[${n.index}\u2013${last.index}] ${hex(n.va)}\u2013${hex(last.va + last.pageSize - 1)}: ${j - i} ${n.type === 'swap' ? `pages swapped out, slots ${range}` : `pages in frames ${range} (${flags(n)})`}`));
      i = j;
      continue;
    }
    const label =
      n.type === 'table'
        ? `${LEVEL[n.level]}[${n.index}] ${hex(n.va)}: table in frame ${n.target}`
        : n.type === 'swap'
          ? `${LEVEL[n.level]}[${n.index}] ${hex(n.va)}: swapped out, slot ${n.target}`
          : `${LEVEL[n.level]}[${n.index}] ${hex(n.va)}: ${n.pageSize === 4096 ? '' : n.pageSize === 2 ** 21 ? '2 MiB ' : '1 GiB '}frame ${n.target} (${flags(n)})`;
    items.push(h('li', { 'data-type': n.type, 'data-frame': n.type === 'swap' ? null : n.target }, label, n.children.length ? treeView(n.children) : null));
    i++;
  }
  return h('ul', { className: 'tree' }, ...items);
}

function pressureView(lab: ProcessLab): HTMLElement {
  const m = lab.machine;
  const rs = m.reclaimStats();
  const c = rs.counters as unknown as Record<string, number>;
  const st = m.stats();
  const rows: [string, string | number][] = [
    ['MemTotal (frames)', st.frames.total],
    ['MemFree (frames)', st.frames.free],
    ['SwapTotal / SwapFree (slots)', rs.swap ? `${rs.swap.total} / ${rs.swap.free}` : 'no swap'],
    ...(['pgfault', 'pgmajfault', 'pswpin', 'pswpout', 'pgsteal_kswapd', 'pgsteal_direct', 'pgscan_kswapd', 'pgscan_direct'] as const).filter((k) => c[k] !== undefined).map((k) => [k, c[k]!] as [string, number]),
  ];
  const z = rs.zswap;
  const kills = m.oomKills();
  const wm = m.watermarks;
  return h(
    'section',
    { className: 'pressure' },
    h('h3', {}, 'Memory and swap (/proc/meminfo, /proc/vmstat)'),
    h('table', { className: 'kv', 'data-table': 'vmstat' }, h('tbody', {}, ...rows.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, String(v)))))),
    wm ? h('p', {}, `Watermarks (pages): min ${wm.min}, low ${wm.low}, high ${wm.high}.`) : null,
    z ? h('table', { className: 'kv', 'data-table': 'zswap' }, h('caption', {}, 'zswap'), h('tbody', {}, ...Object.entries(z).map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : String(v)))))) : null,
    h('h4', {}, 'OOM kills'),
    kills.length === 0 ? h('p', {}, 'none') : h('ol', { 'data-list': 'oom' }, ...kills.map((k) => h('li', {}, `Out of memory (${k.constraint === 'global' ? 'constraint=CONSTRAINT_NONE' : 'constraint=CONSTRAINT_MEMCG'}): killed ${lab.procs.find((p) => p.space === k.space)?.name ?? 'a process'}, oom_badness ${k.points} of ${k.totalPages} pages, anon-rss ${k.rss} pages, swap ${k.swap}, pgtables ${k.pgtables}, oom_score_adj ${k.oomScoreAdj}`))),
  );
}
