/**
 * The CPUs view: a process with threads on several CPUs, step by step. For the line shown:
 * each flush request with what it did on every CPU (an IPI or not, INVLPGs or a full flush)
 * and the Linux rule that decided it, the cost model's cycles, each context switch with its
 * ASID; then each CPU: the task it runs, CR3, its six ASID slots, its TLB's entries by PCID
 * and its counters (machine.cpu(i).stats()).
 */
import { h } from './dom.js';
import type { Params } from './url-state.js';
import { mountScriptLab } from './script-lab.js';
import { CpuLab, type CpuFlushOutcome, type CpuSnapshot, type FlushRequest, type SwitchEvent, type TlbEntryView } from '../engine/cpu-lab.js';
import { hex } from '../engine/bits.js';
import { SCENARIOS } from '../engine/scenarios.js';
import type { CpuStats } from '../engine/lib.js';
import type { Command } from '../engine/script.js';

/** Builds the view. */
export function mountCpus(panel: HTMLElement, params: Params, save: (p: Params) => void): void {
  mountScriptLab(panel, params, save, {
    id: 'cpus',
    title: 'CPUs, TLBs and shootdowns',
    intro: 'A process with threads on several CPUs. Each CPU has its own TLB; when the process unmaps or protects memory, the kernel must make every CPU forget the translations it cached — by interrupting it (an IPI, a TLB shootdown) or by knowing it need not. Step through a scenario: under each line, which CPU got an IPI and why (or why not), how many pages it invalidated one by one (INVLPG) or whether it flushed everything, and what the cost model charges; below, each CPU\u2019s ASIDs, TLB entries and counters. The rules are Linux 6.18\u2019s (arch/x86/mm/tlb.c), named where they apply.',
    scenarios: SCENARIOS.cpus,
    help: 'machine cpus=4 [ceiling=33] \u00b7 p1 = spawn \u00b7 mmap p1 ADDR LEN PROT \u00b7 t1 = thread p1 \u00b7 run CPU p1|t1 \u00b7 idle CPU \u00b7 write|read p1|t1 ADDR [LEN] \u00b7 munmap p1 ADDR LEN \u00b7 mprotect p1 ADDR LEN PROT \u00b7 madvise p1 ADDR LEN dontneed|free|cold \u00b7 p2 = fork p1 \u00b7 exit t1|p1',
    fields: [
      { name: 'task', label: 'task', value: 't1', size: 4 },
      { name: 'proc', label: 'process', value: 'p1', size: 4 },
      { name: 'cpu', label: 'CPU', value: '1', size: 3 },
      { name: 'addr', label: 'address', value: '0x100000', size: 10 },
      { name: 'len', label: 'length', value: '16K', size: 6 },
      { name: 'prot', label: 'protection', value: 'r', size: 4 },
    ],
    ops: [
      ['thread', (v, next) => `${next('t')} = thread ${v.proc}`],
      ['run', (v) => `run ${v.cpu} ${v.task}`],
      ['idle', (v) => `idle ${v.cpu}`],
      ['write', (v) => `write ${v.task} ${v.addr} ${v.len}`],
      ['read', (v) => `read ${v.task} ${v.addr} ${v.len}`],
      ['munmap', (v) => `munmap ${v.proc} ${v.addr} ${v.len}`],
      ['mprotect', (v) => `mprotect ${v.proc} ${v.addr} ${v.len} ${v.prot}`],
      ['madvise dontneed', (v) => `madvise ${v.proc} ${v.addr} ${v.len} dontneed`],
      ['exit', (v) => `exit ${v.task}`],
    ],
    render(commands, step) {
      const lab = new CpuLab(commands, step);
      try {
        const cpus = lab.cpus();
        return { results: lab.lab.results, note: (i) => lineNote(lab, i), view: [lineView(lab, step), cpusView(lab, cpus)] };
      } finally {
        lab.dispose();
      }
    },
  });
}

const plural = (n: number, one: string, many = one + 's') => `${n} ${n === 1 ? one : many}`;

/** The log's note after a line: its IPIs, INVLPGs, full flushes and flushing switches. */
function lineNote(lab: CpuLab, i: number): string | undefined {
  const { requests, switches } = lab.eventsOf(i);
  const all = requests.flatMap((r) => r.cpus);
  const parts = [
    all.filter((o) => o.decision === 'ipi').length ? plural(all.filter((o) => o.decision === 'ipi').length, 'IPI') : '',
    all.reduce((n, o) => n + o.invlpg, 0) ? plural(all.reduce((n, o) => n + o.invlpg, 0), 'INVLPG') : '',
    all.filter((o) => o.fullFlush).length ? plural(all.filter((o) => o.fullFlush).length, 'full flush', 'full flushes') : '',
    switches.filter((s) => s.flushed).length ? plural(switches.filter((s) => s.flushed).length, 'flushing switch', 'flushing switches') : '',
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : requests.length ? 'a flush request that needed no work' : undefined;
}

/** What the line shown did: its context switches and flush requests, CPU by CPU. */
function lineView(lab: CpuLab, step: number): HTMLElement {
  const line = step - 1;
  const { requests, switches } = lab.eventsOf(line);
  const c = lab.commands[line];
  return h(
    'section',
    { className: 'cpu-events', 'data-line': line },
    h('h3', {}, c ? `What line ${step} did: ${c.text}` : 'Before the first line'),
    requests.length === 0 && switches.length === 0 ? h('p', { className: 'quiet' }, c ? `No flush request and no context switch. ${QUIET[c.op] ?? ''}` : 'Step forward to run the script.') : null,
    ...switches.map(switchView),
    ...requests.map((r) => requestView(lab, r)),
  );
}

/** Why a line made no flush, by what it is. */
const QUIET: Partial<Record<Command['op'], string>> = {
  munmap: 'No entry was cleared in the range (nothing was mapped there, or nothing had been touched), so no TLB can hold a translation of it: tlb_finish_mmu flushes only what the gather collected.',
  madvise: 'No entry was cleared or cleaned, so no TLB can hold a translation that changed: the gather has nothing to flush.',
  mprotect: 'No entry changed in a way that needs a flush (pte_needs_flush: a flush when R/W, U/S, XD, PWT, PCD, PAT or G change, or Present or Dirty is cleared; pages never touched have no entry at all).',
  write: 'A TLB miss walks the tables and fills the TLB; a fault that maps a page needs no flush, as a not-present entry is never cached (a copy-on-write copy would flush its page).',
  read: 'A TLB miss walks the tables and fills the TLB; a fault that maps a page needs no flush, as a not-present entry is never cached.',
  idle: 'enter_lazy_tlb: the CPU keeps the address space loaded (no CR3 write) and is lazy: flushes skip it until a page table is freed, and a switch back catches up.',
  mmap: 'A new mapping has no present entry yet, so no TLB can hold it.',
  run: 'The CPU runs that task already (or the line failed): nothing to switch.',
  exit: 'A thread that exits (do_exit \u2192 exit_mm \u2192 enter_lazy_tlb) leaves its CPU idle with the address space still loaded, lazily; its process lives on.',
};

function switchView(s: SwitchEvent): HTMLElement {
  return h(
    'div',
    { className: `event switch ${s.flushed ? 'flushed' : ''}`, 'data-cpu': s.cpu, 'data-flushed': String(s.flushed) },
    h('h4', {}, `CPU ${s.cpu}: context switch ${s.from} \u2192 ${s.to}, ASID ${s.asid} (PCID ${s.pcid}) \u2014 ${s.flushed ? 'the TLB is flushed' : 'no flush'}`),
    h('p', {}, s.why),
    h('p', { className: 'rule' }, 'Linux: ', h('code', {}, s.rule)),
  );
}

const DECISION: Record<CpuFlushOutcome['decision'], string> = {
  local: 'itself (no IPI)',
  ipi: '\u2709 IPI',
  'lazy-skipped': '\u2013 skipped: lazy',
  'other-mm-skipped': '\u2013 skipped: runs another process',
  'not-in-mask': '\u2013 not in the cpumask',
  none: '\u2013 no IPI',
};

function range(r: FlushRequest): string {
  return r.end === -1 ? 'the whole address space' : `${hex(r.start)}\u2013${hex(r.end - 1)}`;
}

function requestView(lab: CpuLab, r: FlushRequest): HTMLElement {
  const stride = r.strideShift === 12 ? '4 KiB' : r.strideShift === 21 ? '2 MiB' : r.strideShift === 30 ? '1 GiB' : `2^${r.strideShift}`;
  const size = r.pages === undefined ? `The whole address space: a full flush (flush_tlb_mm${r.freedTables ? ', freed_tables' : ''}).` : r.full ? `${plural(r.pages, 'page')} at the ${stride} stride > tlb_single_page_flush_ceiling (${r.ceiling}): init_flush_tlb_info makes it a full flush. Linux caps single-page flushes at the ceiling (about 100 ns each, so at most about 3 \u00b5s); past it, one flush of the whole PCID is cheaper, paid later in refills.` : `${plural(r.pages, 'page')} at the ${stride} stride \u2264 tlb_single_page_flush_ceiling (${r.ceiling}): a partial flush, one INVLPG per page on each CPU exactly one generation behind.`;
  const ipis = r.cpus.filter((o) => o.decision === 'ipi').length;
  const cost = lab.machine.shootdown.cost;
  return h(
    'div',
    { className: 'event request', 'data-request': r.mm, 'data-pages': r.pages ?? 'all', 'data-full': String(r.full) },
    h('h4', {}, `flush_tlb_mm_range(${r.mm}, ${range(r)}, ${stride} stride, freed_tables = ${r.freedTables ? 'yes' : 'no'}) on CPU ${r.initiator}`),
    h('p', {}, `${r.mm}\u2019s tlb_gen ${r.gen[0]} \u2192 ${r.gen[1]} (inc_mm_tlb_gen). ${size}${r.freedTables ? ` freed_tables is set (${r.pages === undefined ? 'flush_tlb_mm always sets it, and a process that exits frees its tables' : 'the unmap freed a page table'}): every CPU in the cpumask gets the IPI, lazy ones included, since a lazy CPU could otherwise walk a freed table.` : ''} ${plural(ipis, 'IPI')} sent. The kernel does not know what each TLB holds: a CPU that is reached invalidates the whole range, cached or not.`),
    h(
      'div',
      { className: 'scroll' },
      h(
        'table',
        { className: 'outcomes' },
        h('caption', {}, `What each CPU did (native_flush_tlb_multi, should_flush_tlb, flush_tlb_func)`),
        h('thead', {}, h('tr', {}, ...['CPU', 'when the request came', 'in mm_cpumask', 'reached by', 'TLB work', 'cycles', 'why (Linux rule)'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          {},
          ...r.cpus.map((o) =>
            h(
              'tr',
              { 'data-cpu': o.cpu, 'data-decision': o.decision, className: `d-${o.decision}` },
              h('th', { scope: 'row' }, `CPU ${o.cpu}${o.initiator ? ' (initiator)' : ''}`),
              h('td', {}, o.state),
              h('td', {}, o.inMask ? 'yes' : 'no'),
              h('td', { className: 'decision' }, DECISION[o.decision]),
              h('td', { 'data-invlpg': o.invlpg, 'data-full-flush': String(o.fullFlush) }, o.invlpg ? plural(o.invlpg, 'INVLPG') : o.fullFlush ? 'full flush' : o.toInitMm ? 'switch to init_mm' : o.leftMask ? 'leaves the cpumask' : '\u2014'),
              h('td', {}, o.cycles ? String(o.cycles) : '\u2014'),
              h('td', { className: 'why' }, o.why, h('br'), h('code', { className: 'rule' }, o.rule)),
            ),
          ),
        ),
      ),
    ),
    h(
      'p',
      { className: 'cost', 'data-cost': r.cost.total },
      `Cost model, CPU ${r.initiator} (the initiator waits for the slowest acknowledgement): `,
      r.cost.terms.length ? `${r.cost.terms.map(([what, n]) => `${what} ${n}`).join(' + ')} = ${r.cost.terms.reduce((n, [, x]) => n + x, 0)} cycles` : 'no shootdown, no cycles charged',
      `; its counter grew by ${r.cost.total}. Each target: ipiHandler ${cost.ipiHandler} + invlpg ${cost.invlpg} per page, or flushFull ${cost.flushFull}.`,
    ),
  );
}

/** Every CPU: what it runs, its ASID slots, its TLB and its counters. */
function cpusView(lab: CpuLab, cpus: CpuSnapshot[]): HTMLElement {
  return h(
    'section',
    { className: 'cpus-view' },
    h('h3', {}, `The CPUs (${cpus.length})`),
    h('p', { className: 'hint' }, `Each TLB entry is tagged with the PCID it was filled under (Linux\u2019s ASID + 1). An entry is usable while its PCID is loaded or its ASID slot is caught up to its process\u2019s tlb_gen; a slot behind is flushed before it is used again, so its entries are dead weight, marked \u201cstale\u201d. Counters are machine.cpu(i).stats(): the total, and (+N) what the line shown added.`),
    h('div', { className: 'cpu-grid' }, ...cpus.map((c) => cpuCard(c, lab.before[c.index]!, lab.machine.config.tlbEntries))),
  );
}

function cpuCard(c: CpuSnapshot, before: CpuStats, entries: number): HTMLElement {
  const state = c.running ? `runs ${c.running}` : c.lazy ? `idle, ${c.loaded} still loaded (lazy TLB mode)` : `idle (init_mm: the kernel\u2019s tables)`;
  return h(
    'article',
    { className: `cpu ${c.running ? 'busy' : c.lazy ? 'lazy' : 'idle'}`, 'data-cpu': c.index, 'aria-labelledby': `cpu-${c.index}-title` },
    h('h4', { id: `cpu-${c.index}-title` }, `CPU ${c.index}: ${state}`),
    h('p', {}, `CR3 = ${hex(c.cr3)} (${c.loaded}\u2019s top-level table), PCID ${c.pcid}. In the cpumask of: ${c.masks.length ? c.masks.join(', ') : 'no process'}.`),
    slotTable(c),
    tlbTable(c, entries),
    counterTable(c.stats, before),
  );
}

function slotTable(c: CpuSnapshot): HTMLElement {
  return h(
    'table',
    { className: 'asids' },
    h('caption', {}, 'ASID slots (cpu_tlbstate.ctxs)'),
    h('thead', {}, h('tr', {}, ...['ASID', 'PCID', 'holds', 'tlb_gen'].map((t) => h('th', { scope: 'col' }, t)))),
    h(
      'tbody',
      {},
      ...c.slots.map((s) => {
        const behind = s.holder !== undefined && s.mmGen !== undefined && s.gen < s.mmGen;
        return h(
          'tr',
          { className: `${s.asid === c.asid ? 'loaded' : ''} ${behind ? 'behind' : ''}`, 'data-asid': s.asid },
          h('th', { scope: 'row' }, `${s.asid}${s.asid === c.asid ? ' \u25c0 loaded' : ''}`),
          h('td', {}, String(s.pcid)),
          h('td', {}, s.holder ?? '\u2014'),
          h('td', {}, s.holder === undefined ? '\u2014' : behind ? `${s.gen}, behind ${s.holder}\u2019s ${s.mmGen}` : `${s.gen}: up to date`),
        );
      }),
    ),
  );
}

/** Runs of neighbouring pages with the same tag and flags are one row. */
function tlbTable(c: CpuSnapshot, entries: number): HTMLElement {
  const flags = (e: TlbEntryView) => [e.writable ? 'W' : 'R', e.user ? 'U' : 'S', e.nx ? 'NX' : 'X', e.dirty ? 'D' : '', e.global ? 'G' : ''].filter(Boolean).join(' ');
  const rows: TlbEntryView[][] = [];
  for (const e of c.tlb) {
    const run = rows[rows.length - 1];
    const last = run?.[run.length - 1];
    if (run && last && last.pcid === e.pcid && last.pageSize === e.pageSize && last.va + last.pageSize === e.va && flags(last) === flags(e) && last.usable === e.usable) run.push(e);
    else rows.push([e]);
  }
  return h(
    'table',
    { className: 'tlb-entries', 'data-valid': c.tlb.length },
    h('caption', {}, `TLB: ${c.tlb.length} of ${entries} entries valid`),
    c.tlb.length ? h('thead', {}, h('tr', {}, ...['pages', 'frames', 'PCID', 'flags', 'usable'].map((t) => h('th', { scope: 'col' }, t)))) : null,
    h(
      'tbody',
      {},
      ...(c.tlb.length === 0
        ? [h('tr', {}, h('td', { colspan: 5 }, 'empty'))]
        : rows.map((run) => {
            const a = run[0]!;
            const z = run[run.length - 1]!;
            const consecutive = run.every((e, i) => i === 0 || e.pa === run[i - 1]!.pa + e.pageSize);
            return h(
              'tr',
              { className: a.usable ? '' : 'stale', 'data-pcid': a.pcid, 'data-pages': run.length },
              h('td', {}, run.length === 1 ? hex(a.va) : `${hex(a.va)}\u2013${hex(z.va + z.pageSize - 1)} (${run.length})`),
              h('td', {}, run.length === 1 ? hex(a.pa) : consecutive ? `${hex(a.pa)}\u2013${hex(z.pa + z.pageSize - 1)}` : `${hex(a.pa)}, \u2026, ${hex(z.pa)}`),
              h('td', {}, `${a.pcid}${a.owner ? ` (${a.owner})` : ''}`),
              h('td', {}, flags(a)),
              h('td', {}, a.usable ? 'yes' : 'stale: its slot is behind'),
            );
          })),
    ),
  );
}

const COUNTERS: [string, string, (s: CpuStats) => number][] = [
  ['ipisReceived', 'IPIs received', (s) => s.ipisReceived],
  ['ipisSent', 'IPIs sent', (s) => s.ipisSent],
  ['tlbShootdowns', 'TLB shootdowns (/proc/interrupts)', (s) => s.tlbShootdowns],
  ['flushes.single', 'INVLPGs (flushes.single)', (s) => s.flushes.single],
  ['flushes.full', 'full flushes (flushes.full)', (s) => s.flushes.full],
  ['lazySkipped', 'skipped while lazy', (s) => s.lazySkipped],
  ['otherMmSkipped', 'skipped running another process', (s) => s.otherMmSkipped],
  ['switchFlushes', 'context switches that flushed', (s) => s.switchFlushes],
  ['cycles.initiator', 'cycles as initiator', (s) => s.cycles.initiator],
  ['cycles.handler', 'cycles handling IPIs', (s) => s.cycles.handler],
  ['tlb.hits', 'TLB hits', (s) => s.tlb.hits],
  ['tlb.misses', 'TLB misses', (s) => s.tlb.misses],
];

function counterTable(s: CpuStats, before: CpuStats): HTMLElement {
  return h(
    'table',
    { className: 'kv counters', 'data-counters': s.index },
    h('caption', {}, `machine.cpu(${s.index}).stats()`),
    h(
      'tbody',
      {},
      ...COUNTERS.map(([key, label, get]) => {
        const d = get(s) - get(before);
        return h('tr', { 'data-stat': key, className: d ? 'changed' : '' }, h('th', { scope: 'row' }, label), h('td', { 'data-total': get(s) }, String(get(s))), h('td', { className: 'delta' }, d ? `(+${d})` : ''));
      }),
    ),
  );
}
