/**
 * The process lab (and, with a small memory and swap, the memory-pressure lab): a script of
 * library calls run step by step; /proc/PID/maps, the page tables as a tree, the frames by owner
 * with their reference counts; swap, zswap and the OOM killer when the machine has swap.
 */
import { h, replace } from './dom.js';
import { Stepper } from './stepper.js';
import { intParam, type Params } from './url-state.js';
import { ProcessLab, parseScript, apiCall, ScriptError, type Command, type Proc } from '../engine/script.js';
import { tableTree, frameUses, type TableNode, type FrameUse } from '../engine/memory-map.js';
import { hex } from '../engine/bits.js';
import { SCENARIOS } from '../engine/scenarios.js';

/** Builds the view. */
export function mountProcesses(panel: HTMLElement, params: Params, save: (p: Params) => void, kind: 'processes' | 'pressure'): void {
  const scenarios = SCENARIOS[kind];
  const text = h('textarea', { rows: 9, cols: 48, spellcheck: 'false', id: `${kind}-script`, 'aria-describedby': `${kind}-help` }, params.get('script') ?? scenarios[0]!.script);
  const error = h('p', { className: 'error', role: 'alert' });
  const out = h('div', {});
  const log = h('ol', { className: 'log' });
  const view = h('div', { className: 'lab-view' });
  const proc = h('input', { type: 'text', value: 'p1', size: 4 });
  const addr = h('input', { type: 'text', value: '0x10000', size: 10 });
  const len = h('input', { type: 'text', value: '4K', size: 6 });
  const prot = h('input', { type: 'text', value: 'rw', size: 4 });
  let stepper: Stepper | undefined;
  let commands: Command[] = [];

  const append = (line: string) => {
    const at = stepper ? commands.slice(0, stepper.current).length : commands.length;
    // Lines past the step shown are dropped: a new action continues from what is on screen.
    const kept = text.value.split('\n').filter((l) => l.replace(/#.*/, '').trim() !== '');
    text.value = [...kept.slice(0, at), line].join('\n');
    run(Number.MAX_SAFE_INTEGER);
  };
  const op = (label: string, make: () => string) => h('button', { type: 'button', onclick: () => append(make()) }, label);
  replace(
    panel,
    h('h2', {}, kind === 'processes' ? 'Processes' : 'Memory pressure'),
    h('p', { className: 'intro' }, kind === 'processes' ? 'Processes on the simulated machine: each line of the script is one call of the library (shown beside it). Step through it and watch the regions, the page tables and the physical frames: after fork two processes share each frame (reference count 2) until one writes.' : 'A small memory with swap: a process over its resident limit (a memory cgroup) sends pages to swap and reads them back as major faults; zswap keeps them compressed in RAM; when RAM and swap run out the OOM killer picks a victim by its badness.'),
    h('div', { className: 'presets', role: 'group', 'aria-label': 'scenarios' }, ...scenarios.map((s) => h('button', { type: 'button', onclick: () => ((text.value = s.script), run(Number.MAX_SAFE_INTEGER)) }, s.name))),
    h('div', { className: 'script' }, h('label', { for: text.id }, 'Script'), text, h('p', { className: 'hint', id: `${kind}-help` }, 'machine memory=8M swap=256K zswap \u00b7 p1 = spawn [limit=N policy=clock adj=N] \u00b7 mmap p1 ADDR LEN PROT [shared] \u00b7 write|read p1 ADDR [LEN] \u00b7 p2 = fork p1 \u00b7 munmap p1 ADDR LEN \u00b7 mprotect p1 ADDR LEN PROT \u00b7 exit p1'), h('button', { type: 'button', onclick: () => run(Number.MAX_SAFE_INTEGER) }, 'Run script')),
    h('div', { className: 'ops', role: 'group', 'aria-label': 'add a step' }, ...[['process', proc], ['address', addr], ['length', len], ['protection', prot]].map(([l, c]) => h('label', { className: 'op-field' }, h('span', {}, l as string), c as HTMLElement)), h('span', { className: 'hint' }, 'add a line:'), op('spawn', () => `${proc.value} = spawn`), op('mmap', () => `mmap ${proc.value} ${addr.value} ${len.value} ${prot.value}`), op('write', () => `write ${proc.value} ${addr.value} ${len.value}`), op('read', () => `read ${proc.value} ${addr.value} ${len.value}`), op('fork', () => `${nextName()} = fork ${proc.value}`), op('mprotect', () => `mprotect ${proc.value} ${addr.value} ${len.value} ${prot.value}`), op('munmap', () => `munmap ${proc.value} ${addr.value} ${len.value}`), op('exit', () => `exit ${proc.value}`)),
    error,
    out,
  );

  function nextName(): string {
    let n = 1;
    while (commands.some((c) => 'name' in c && c.name === `p${n}`)) n++;
    return `p${n}`;
  }

  function run(step: number): void {
    error.textContent = '';
    try {
      commands = parseScript(text.value);
    } catch (e) {
      if (!(e instanceof ScriptError)) throw e;
      error.textContent = e.message;
      return;
    }
    stepper?.stop();
    stepper = new Stepper(Math.min(step, commands.length), commands.length, (s) => show(s), 'line');
    replace(out, stepper.el, h('h3', {}, 'Steps'), log, view);
    show(stepper.current);
  }

  function show(step: number): void {
    save(new URLSearchParams({ script: text.value, step: String(step) }));
    const lab = new ProcessLab(commands, step);
    try {
      replace(log, ...commands.map((c, i) => {
        const r = lab.results[i];
        return h('li', { ...(i === step - 1 ? { 'aria-current': 'step', className: 'now' } : i >= step ? { className: 'later' } : {}), 'data-ok': r ? String(r.ok) : null }, h('code', {}, c.text), h('span', { className: 'api' }, ` ${apiCall(c)}`), r ? h('span', { className: r.ok ? 'msg' : 'msg bad' }, ` \u2192 ${r.ok ? '' : 'failed: '}${r.message}`) : null);
      }));
      replace(view, ...labView(lab, kind));
    } finally {
      lab.dispose();
    }
  }

  run(intParam(params, 'step', Number.MAX_SAFE_INTEGER, 0, Number.MAX_SAFE_INTEGER));
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

function frameGrid(frames: FrameUse[], procs: Proc[]): HTMLElement {
  const pid = new Map(procs.map((p) => [p.pid, p.name]));
  // The boot run of kernel frames (frame 0, the kernel half's PDPTs, the idle PML4, the zero page) is one cell.
  let k = 0;
  while (k < frames.length && (frames[k]!.kind === 'kernel' || frames[k]!.kind === 'zero') && k < 300) k++;
  const cells = frames.slice(k).map((f) => {
    const who = f.owners.map((o) => pid.get(o.pid) ?? `pid ${o.pid}`);
    const mark = f.kind === 'free' ? '' : f.kind === 'kernel' ? 'K' : f.kind === 'zero' ? 'Z' : f.kind === 'swapcache' ? 'SC' : f.kind === 'table' ? `T${f.owners.map((o) => o.pid).join('+')}` : f.owners.map((o) => o.pid).filter((v, i, a) => a.indexOf(v) === i).join('+');
    const desc = `frame ${f.pfn}: ${f.kind === 'swapcache' ? `swap cache (slot ${f.slot})` : f.kind}${who.length ? ' of ' + [...new Set(who)].join(', ') : ''}${f.owners.some((o) => o.va !== undefined) ? ' at ' + [...new Set(f.owners.filter((o) => o.va !== undefined).map((o) => hex(o.va!)))].join(', ') : ''}, ${f.refCount} reference${f.refCount === 1 ? '' : 's'}`;
    const owners = [...new Set(f.owners.map((o) => o.pid))];
    return h('li', { className: `frame k-${f.kind} ${owners.length === 1 ? `owner-${owners[0]! % 8}` : owners.length > 1 ? 'shared' : ''}`, title: desc, 'aria-label': desc, 'data-pfn': f.pfn, 'data-kind': f.kind, 'data-owners': owners.join(','), 'data-refs': f.refCount }, h('span', { className: 'pfn' }, String(f.pfn)), h('span', { className: 'mark' }, mark), f.refCount > 1 ? h('span', { className: 'refs' }, `\u00d7${f.refCount}`) : null);
  });
  return h(
    'section',
    { className: 'frames-view' },
    h('h3', {}, 'Physical frames'),
    h('p', { className: 'hint' }, `Frames 0\u2013${k - 1}: the kernel (frame 0, the shared kernel half\u2019s tables, the idle PML4, the zero page). Each cell: the frame number; who uses it (a pid, T for a page-table page, + between sharers, Z the zero page, SC the swap cache, K the kernel); \u00d7N its reference count. Hover over a cell for details (screen readers read each cell\u2019s description).`),
    h('ul', { className: 'frame-grid', 'aria-label': 'physical frames' }, ...cells),
  );
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
