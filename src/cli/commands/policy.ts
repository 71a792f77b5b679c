/**
 * `vmsim policy [REFS]`: a page-replacement exercise, as OSTEP's paging-policy.py sets one — the
 * references through a process with N resident pages under a policy, run by the real VMM —
 * printed as the textbook table, with the answers hidden unless -c asks for them.
 */
import { readFileSync } from 'node:fs';
import { runReferenceString, type ReferenceRunResult } from '../../replay/reference-run.js';
import { POLICY_NAMES, policyKind, policySummary } from '../../reclaim/registry.js';
import type { PolicyName } from '../../reclaim/policy.js';
import { parseSize } from '../../machine/options.js';
import { formatBytes, toCsv } from '../../report/index.js';
import { badValue, formatOptions, parseCommand, UsageError, wrapText, type OptionSpec, type ParsedArgs } from '../args.js';
import type { CommandIo } from '../io.js';
import { courseSummaryLines, policySpec } from '../pressure-args.js';
import { parseReferences, randomReferences, ReferenceSyntaxError, type References } from '../references.js';

const SPECS: OptionSpec[] = [
  { name: 'frames', short: 'C', type: 'int', min: 1, value: 'N', help: "resident limit of the process in pages: the table's frames (OSTEP's -C, --cachesize)", default: '3' },
  policySpec('fifo', { short: 'p' }),
  { name: 'compute', short: 'c', type: 'flag', help: 'show the answers: hits, faults, evictions and the frames after each reference' },
  { name: 'notrace', short: 'N', type: 'flag', help: 'with -c: only the totals, not the table' },
  { name: 'addresses', short: 'a', type: 'string', value: 'LIST', group: 'references (one of these; default: 10 random pages from seed 0)', help: 'the references, like REFS' },
  { name: 'addressfile', short: 'f', type: 'string', value: 'FILE', group: 'references (one of these; default: 10 random pages from seed 0)', help: "read the references from FILE ('-': standard input)" },
  { name: 'numaddrs', short: 'n', type: 'int', min: 1, max: 1_000_000, value: 'N', group: 'references (one of these; default: 10 random pages from seed 0)', help: 'this many random references (as OSTEP draws them)', default: '10' },
  { name: 'maxpage', short: 'm', type: 'int', min: 1, max: 2 ** 35, value: 'N', group: 'references (one of these; default: 10 random pages from seed 0)', help: 'random pages are 0 to N-1', default: '10' },
  { name: 'seed', short: 's', type: 'int', value: 'N', group: 'references (one of these; default: 10 random pages from seed 0)', help: 'seed of the random references and of the random policy', default: '0' },
  { name: 'page-size', type: 'size', min: 1, value: 'SIZE', group: 'references (one of these; default: 10 random pages from seed 0)', help: 'the references are virtual addresses (0x7ffd1234) in pages of SIZE bytes, e.g. 4096 or 4k' },
  { name: 'width', short: 'w', type: 'int', min: 20, value: 'COLUMNS', group: 'output', help: 'wrap the table at this width', default: 'the terminal\'s, else 80' },
  { name: 'json', type: 'flag', group: 'output', help: 'print the result as JSON (always with the answers)' },
  { name: 'csv', type: 'flag', group: 'output', help: 'one CSV row per reference: page, write, fault, evicted, the frames (always with the answers)' },
  { name: 'course-summary', type: 'flag', group: 'output', help: 'the summary lines of the university paging simulators (references, hits, misses, clean and dirty evictions, rates)' },
  { name: 'linux-tlb', type: 'flag', group: 'machine', help: 'clear Accessed bits without flushing the TLB, as x86 Linux (default: flush, for textbook exactness)' },
  { name: 'backend', type: 'string', choices: ['native', 'js', 'auto'], value: 'native|js|auto', group: 'machine', help: 'simulation core', default: 'auto' },
  { name: 'help', type: 'flag', help: 'show this help' },
];

export const POLICY_HELP = `usage: vmsim policy [REFS] [-C FRAMES] [-p POLICY] [-c] [options]

A page-replacement exercise, as OSTEP's paging-policy.py sets one: a process whose resident
limit is FRAMES pages touches one page per reference, through the simulated VMM (the same
fault, reclaim and swap path as a trace replay). Prints the table textbooks print — each
reference, the frames after it, hit or fault, the page evicted — with the answers left
blank unless -c asks for them, then the totals and OSTEP's FINALSTATS line.

REFS: page numbers separated by commas or spaces, a w after a number for a write
(7,0,1,2w,0,3), or with --page-size virtual addresses (0x7ffd1234, one a line, optionally
followed by R or W). '-' reads them from standard input. Without REFS, -a or -f: -n random
pages below -m from seed -s, the same ones OSTEP's tool draws with the same flags (its
RAND and CLOCK policies draw more random numbers than ours: those tables differ).

policies (any case; OSTEP's FIFO, LRU, OPT, RAND, CLOCK included):
${POLICY_NAMES.map((n) => `  ${n.padEnd(8)} ${policySummary(n)}${policyKind(n) === 'every-reference' ? ' (needs every reference)' : ''}`).join('\n')}

options:
${formatOptions(SPECS)}

examples:
  vmsim policy 7,0,1,2,0,3,0,4,2,3,0,3,2,1,2,0,1,7,0,1 -C 3 -p LRU -c
  vmsim policy -s 5 -n 12 -m 6 -p clock           (an exercise; add -c for the answers)
  vmsim policy -f refs.txt --page-size 4k -C 4 -p opt -c --course-summary`;

/** The references the options ask for. */
function references(a: ParsedArgs): { refs: References; where: string } {
  const o = a.options;
  const given = [a.positional[0] !== undefined ? 'REFS' : '', o.has('addresses') ? '-a' : '', o.has('addressfile') ? '-f' : ''].filter((x) => x !== '');
  if (given.length > 1) throw new UsageError(`policy: give the references once (${given.join(' and ')} both given)`);
  const pageSizeText = a.raw.get('page-size');
  const pageSize = pageSizeText !== undefined ? parseSize(pageSizeText, '--page-size') : undefined;
  if (pageSize !== undefined && (pageSize & (pageSize - 1)) !== 0) throw badValue('policy', 'page-size', pageSizeText!, 'must be a power of two');
  const random = given.length === 0;
  for (const k of ['numaddrs', 'maxpage']) if (!random && o.has(k)) throw new UsageError(`policy: --${k} draws random references; it does not go with ${given[0]}`);
  if (random) {
    if (pageSize !== undefined) throw new UsageError('policy: --page-size reads the references as addresses; give them (REFS, -a or -f)');
    const n = (o.get('numaddrs') as number | undefined) ?? 10;
    const m = (o.get('maxpage') as number | undefined) ?? 10;
    const s = (o.get('seed') as number | undefined) ?? 0;
    return { refs: randomReferences(n, m, s), where: `${n} random references to pages 0-${m - 1} (seed ${s})` };
  }
  const file = a.positional[0] === '-' ? '-' : (o.get('addressfile') as string | undefined);
  let text: string;
  if (file !== undefined) {
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (e) {
      throw Object.assign(new Error(`${file === '-' ? 'standard input' : file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`), { code: (e as NodeJS.ErrnoException).code ?? 'EIO' });
    }
  } else text = (a.positional[0] ?? (o.get('addresses') as string))!;
  try {
    const refs = parseReferences(text, pageSize);
    return { refs, where: `${refs.pages.length} references${pageSize ? ` (virtual addresses in pages of ${formatBytes(pageSize)})` : ''}` };
  } catch (e) {
    if (e instanceof ReferenceSyntaxError) {
      if (file === undefined) throw new UsageError(`policy: ${e.message}`);
      throw Object.assign(new Error(`${file === '-' ? 'standard input' : file}: ${e.message}`), { code: 'EINVAL' });
    }
    throw e;
  }
}

/** Runs `vmsim policy`; returns the exit code. */
export async function policyCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommand(argv, SPECS, 'policy', POLICY_HELP, io.stdout, { count: 1, what: 'at most one REFS argument (quote a list with spaces)', orFewer: true });
  if (!a) return 0;
  const frames = (a.options.get('frames') as number | undefined) ?? 3;
  const name = ((a.options.get('policy') as string | undefined) ?? 'fifo') as PolicyName;
  const seed = (a.options.get('seed') as number | undefined) ?? 0;
  const { refs, where } = references(a);
  // The simulated process maps the pages it touches: page numbers far apart are renumbered in order (no policy orders by distance).
  const distinct = [...new Set(refs.pages)].sort((p, q) => p - q);
  const dense = distinct[distinct.length - 1]! >= 1024;
  const rank = new Map(distinct.map((p, i) => [p, i]));
  const r0 = runReferenceString(
    { pages: dense ? refs.pages.map((p) => rank.get(p)!) : refs.pages, writes: refs.writes },
    {
      frames,
      policy: name,
      ...(name === 'random' ? { policyOptions: { seed } } : {}),
      flushAccessed: !a.options.has('linux-tlb'),
      backend: (a.options.get('backend') as 'native' | 'js' | 'auto' | undefined) ?? 'auto',
    },
  );
  const back = (p: number) => (dense ? distinct[p]! : p);
  const r: ReferenceRunResult = dense ? { ...r0, steps: r0.steps.map((s) => ({ ...s, page: back(s.page), ...(s.evicted !== undefined ? { evicted: back(s.evicted) } : {}), frames: s.frames.map(back) })) } : r0;
  const ev = evictions(r);
  if (a.options.has('json')) io.stdout.write(JSON.stringify({ ...r, evictions: ev }, null, 2) + '\n');
  else if (a.options.has('csv')) {
    const num = (n: number | undefined) => (n === undefined ? '' : refs.hex ? `0x${n.toString(16)}` : n);
    io.stdout.write(toCsv(['reference', 'page', 'write', 'fault', 'evicted', ...Array.from({ length: frames }, (_, f) => `frame${f}`)], r.steps.map((s, i) => [i + 1, num(s.page), s.write, s.fault, num(s.evicted), ...Array.from({ length: frames }, (_, f) => num(s.frames[f]))])));
  } else if (a.options.has('course-summary')) io.stdout.write(courseSummaryLines({ references: r.references, misses: r.faults, clean: ev.clean, dirty: ev.dirty }));
  else {
    const width = (a.options.get('width') as number | undefined) ?? terminalWidth(io);
    const solve = a.options.has('compute');
    const out: string[] = [...wrapText(`${where}; policy ${r.policy}, ${frames} frame${frames === 1 ? '' : 's'}`, width), ''];
    if (!solve) out.push(...wrapText(`Assuming the ${r.policy} replacement policy and ${frames} frame${frames === 1 ? '' : 's'}, work out for each reference whether it hits or faults, which page it evicts, and which pages the frames hold after it. (-c shows the answers.)`, width), '');
    if (solve && a.options.has('notrace')) out.pop();
    else out.push(formatTable(r, { solve, hex: refs.hex, width }));
    if (solve) {
      out.push(...wrapText(`${r.policy}, ${frames} frames: ${r.faults} faults, ${r.hits} hits in ${r.references} references (fault rate ${((100 * r.faults) / r.references).toFixed(1)}%; ${ev.clean} clean and ${ev.dirty} dirty evictions; ${r.majorFaults} read back from swap)`, width));
      out.push(`FINALSTATS hits ${r.hits}   misses ${r.faults}   hitrate ${((100 * r.hits) / r.references).toFixed(2)}`);
    }
    io.stdout.write(out.join('\n').replace(/\n*$/, '\n'));
  }
  return 0;
}

/** The width to wrap at: the terminal's, else $COLUMNS, else 80. */
function terminalWidth(io: CommandIo): number {
  const c = io.stdout.isTTY ? io.stdout.columns : Number(process.env['COLUMNS']);
  return c !== undefined && Number.isInteger(c) && c >= 20 ? c : 80;
}

/** Clean and dirty evictions, as the textbook counts them: dirty when the page was written since it came in. */
export function evictions(r: ReferenceRunResult): { clean: number; dirty: number } {
  const dirty = new Set<number>();
  let clean = 0;
  let dirtyOut = 0;
  for (const s of r.steps) {
    if (s.evicted !== undefined) {
      if (dirty.delete(s.evicted)) dirtyOut++;
      else clean++;
    }
    if (s.write) dirty.add(s.page);
  }
  return { clean, dirty: dirtyOut };
}

/**
 * The textbook table — one column per reference, one row per frame, then the faults and the
 * evicted pages — in blocks that fit `width` columns; blank cells but the references unless `solve`.
 */
export function formatTable(r: ReferenceRunResult, o: { solve: boolean; hex?: boolean; width?: number } = { solve: true }): string {
  const num = (n: number) => (o.hex ? n.toString(16) : String(n));
  const cells = r.steps.map((s) => `${num(s.page)}${s.write ? 'w' : ''}`);
  const colW = Math.max(2, ...cells.map((c) => c.length), ...r.steps.map((s) => (s.evicted === undefined ? 0 : num(s.evicted).length)));
  const label = 8;
  const perBlock = Math.max(1, Math.floor(((o.width ?? Infinity) - label) / (colW + 1)));
  const show = (t: string) => (o.solve ? t : '');
  const blocks: string[] = [];
  for (let from = 0; from < r.steps.length; from += perBlock) {
    const steps = r.steps.slice(from, from + perBlock);
    const row = (name: string, f: (s: (typeof steps)[number], i: number) => string) => `${name.padEnd(label)}${steps.map((s, i) => f(s, i).padStart(colW)).join(' ')}`.replace(/ +$/, '');
    const lines: string[] = [];
    if (r.steps.length > perBlock) lines.push(`references ${from + 1}-${from + steps.length} of ${r.steps.length}${o.hex ? ' (pages in hex)' : ''}:`);
    else if (o.hex) lines.push('(pages in hex)');
    lines.push(row('ref', (_s, i) => cells[from + i]!));
    for (let f = 0; f < r.frames; f++) lines.push(row(`frame ${f}`, (s) => show(s.frames[f] === undefined ? '' : num(s.frames[f]!))));
    lines.push(row('fault', (s) => show(s.fault ? 'F' : '')));
    lines.push(row('evicted', (s) => show(s.evicted === undefined ? '' : num(s.evicted))));
    blocks.push(lines.join('\n'));
  }
  return blocks.join('\n\n') + '\n';
}
