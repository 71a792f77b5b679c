/** `vmsim annotate TRACE`: where the TLB misses, page walks and page faults come from, per region and per instruction, as cg_annotate shows a cache's. */
import { annotate, type AnnotateResult, type Events } from '../../annotate/index.js';
import { formatCount, formatRate, formatTable } from '../../report/index.js';
import { formatOptions, parseCommand, type OptionSpec } from '../args.js';
import type { CommandIo } from '../io.js';
import { GROUP, machineSpecs, replayOptionsFrom } from '../replay-args.js';
import { addPressureOptions, PRESSURE_SPECS } from '../pressure-args.js';
import { shippedTracePath } from '../../package-info.js';
import { ProgressBar } from '../../report/index.js';
import { statSync } from 'node:fs';

const SORTS = ['misses', 'walks', 'faults', 'accesses'] as const;

const SPECS: OptionSpec[] = [
  ...machineSpecs(false),
  ...PRESSURE_SPECS.filter((s) => s.name !== 'course-summary'),
  { name: 'top', type: 'int', min: 1, value: 'N', group: GROUP.output, help: 'instructions listed', default: '20' },
  { name: 'sort', type: 'string', choices: SORTS, value: SORTS.join('|'), group: GROUP.output, help: 'order of the instructions', default: 'misses' },
  { name: 'json', type: 'flag', group: GROUP.output, help: 'print everything as JSON (every region and instruction)' },
  { name: 'help', type: 'flag', help: 'show this help' },
];

export const ANNOTATE_HELP = `usage: vmsim annotate TRACE [options]

Replays TRACE as vmsim replay does (the same options, the same totals) and shows where its
TLB misses, page walks and page faults come from, as cg_annotate shows a cache's misses:
per region of the replayed process's memory map (its /proc/PID/maps line), then per
instruction — the address of each I record of the trace, charged with its fetch and with
the data accesses that follow it (lackey writes an instruction's loads and stores after it).
A trace without I records (a binary trace of data accesses, a plain address list) has only
the regions. With a TLB hierarchy, "TLB misses" are the accesses that missed every level.

options:
${formatOptions(SPECS)}

examples:
  vmsim annotate ${shippedTracePath()}
  vmsim annotate trace.out --cpu skylake --top 40
  vmsim annotate trace.out --frames 64 --policy clock --sort faults`;

/** Runs `vmsim annotate`; returns the exit code. */
export async function annotateCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommand(argv, SPECS, 'annotate', ANNOTATE_HELP, io.stdout, { count: 1, what: 'one TRACE file' });
  if (!a) return 0;
  const options = addPressureOptions(a, replayOptionsFrom(a, 'annotate'), 'annotate');
  const trace = a.positional[0]!;
  let total: number | undefined;
  try {
    total = trace !== '-' && statSync(trace).isFile() ? statSync(trace).size : undefined;
  } catch {
    total = undefined;
  }
  const bar = new ProgressBar({ stream: io.stderr, total, label: 'annotate ', unit: 'B' });
  let firstSkip: Error | undefined;
  const r = await annotate(trace === '-' ? process.stdin : trace, {
    ...options,
    onProgress: (bytes) => bar.update(bytes),
    onSkip: (e) => {
      firstSkip ??= e;
    },
  });
  bar.finish();
  if (firstSkip) io.stderr.write(`vmsim annotate: skipped ${r.result.trace.skipped} malformed line(s) or record(s); first: ${firstSkip.message}\n`);
  if (a.options.has('json')) {
    io.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return 0;
  }
  const sort = ((a.options.get('sort') as string | undefined) ?? 'misses') as (typeof SORTS)[number];
  io.stdout.write(formatAnnotation(r, (a.options.get('top') as number | undefined) ?? 20, sort));
  return 0;
}

/** cg_annotate's layout: the totals, then the regions, then the top instructions, each event with its share of the total. */
export function formatAnnotation(r: AnnotateResult, top: number, sort: (typeof SORTS)[number]): string {
  const t = r.totals;
  const res = r.result;
  const lv = res.tlb.levels.filter((l) => l.level !== 'pwc');
  const tlb = res.tlb.hierarchy ? `TLB hierarchy${res.tlb.hierarchy.cpu ? ` (preset ${res.tlb.hierarchy.cpu})` : ''}` : `TLB ${lv[0]!.entries} entries, ${lv[0]!.ways === lv[0]!.entries ? 'fully associative' : `${lv[0]!.ways}-way`}`;
  // As cg_annotate: a dot for none, else the count and its share of the total.
  const cell = (n: number, of: number) => (n === 0 ? '.' : `${formatCount(n)} (${formatRate(n, of).replace(/\.00%$/, '%')})`);
  const cols = (e: Events) => [cell(e.accesses, t.accesses), cell(e.misses, t.misses), cell(e.walks, t.walks), cell(e.faults, t.faults)];
  const header = ['accesses', 'TLB misses', 'page walks', 'page faults'];
  const align = ['right', 'right', 'right', 'right', 'left'] as const;
  const rule = '-'.repeat(80);
  const out: string[] = [];
  out.push(rule, `trace ${res.trace.source}: ${formatCount(res.accesses)} accesses; ${tlb}${res.resident ? `; ${formatCount(res.resident.frames)} resident pages (${res.resident.policy})` : ''}`);
  out.push(`events: TLB misses ${formatCount(t.misses)} (${formatRate(res.tlb.misses, res.tlb.lookups)} of lookups), page walks ${formatCount(t.walks)}, page faults ${formatCount(t.faults)}`, rule, '');
  out.push('-- by region (the replayed process\'s /proc/PID/maps lines)', '');
  out.push(formatTable(r.regions.map((g) => [...cols(g), g.line.replace(/ {2,}/g, '  ').trimEnd()]), { header: [...header, 'region'], align: [...align] }));
  out.push('');
  if (r.instructions.length === 0) out.push('-- by instruction: the trace has no I records (instruction fetches), so nothing to charge data accesses to');
  else {
    const list = [...r.instructions].sort((p, q) => q[sort] - p[sort] || q.misses - p.misses || q.walks - p.walks || q.faults - p.faults);
    const shown = list.slice(0, top);
    const covered = shown.reduce((n, e) => n + e[sort], 0);
    out.push(`-- by instruction: the top ${shown.length} of ${formatCount(list.length)} by ${sort === 'misses' ? 'TLB misses' : sort === 'walks' ? 'page walks' : sort === 'faults' ? 'page faults' : 'accesses'} (${formatRate(covered, t[sort])} of them); an instruction is charged with its fetch and the data accesses after it`, '');
    const rows = shown.map((e) => [...cols(e), e.address]);
    const b = r.beforeFirstInstruction;
    if (b.accesses + b.misses + b.walks + b.faults > 0) rows.push([...cols(b), '(before the first instruction)']);
    out.push(formatTable(rows, { header: [...header, 'instruction'], align: [...align] }));
  }
  return out.join('\n').replace(/\n+$/, '') + '\n';
}
