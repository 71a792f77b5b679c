/** `vmsim policy REFS --frames N --policy NAME`: a reference string through the VMM, as the textbook table. */
import { runReferenceString, type ReferenceRunResult } from '../../replay/reference-run.js';
import { POLICY_NAMES, isPolicyName, policyKind, policySummary } from '../../reclaim/registry.js';
import { formatOptions, parseCommand, UsageError, type OptionSpec } from '../args.js';
import type { CommandIo } from '../io.js';

const SPECS: OptionSpec[] = [
  { name: 'frames', type: 'int', value: 'N', help: 'resident limit of the process in pages (the frames of the table)' },
  { name: 'policy', type: 'string', value: 'NAME', help: `replacement policy: ${POLICY_NAMES.join(', ')}`, default: 'fifo' },
  { name: 'seed', type: 'int', value: 'N', help: 'seed of the random policy', default: '1' },
  { name: 'linux-tlb', type: 'flag', help: 'clear Accessed bits without flushing the TLB, as x86 Linux (default: flush, for textbook exactness)' },
  { name: 'backend', type: 'string', choices: ['native', 'js', 'auto'], help: 'core backend', default: 'auto' },
  { name: 'json', type: 'flag', help: 'print the result as JSON (faults, hits, steps)' },
  { name: 'help', type: 'flag', help: 'show this help' },
];

export const POLICY_HELP = `usage: vmsim policy REFS --frames N [--policy NAME] [options]

Runs a reference string through the simulated VMM: a process whose resident limit is N
pages touches one page per reference (REFS: page numbers separated by commas, a 'w' after
a number for a write, e.g. 7,0,1,2w,0,3). Prints the table textbooks print: each reference,
hit or fault, the page evicted, and the frames after it; then the totals.

policies:
${POLICY_NAMES.map((n) => `  ${n.padEnd(8)} ${policySummary(n)}${policyKind(n) === 'every-reference' ? ' (needs every reference)' : ''}`).join('\n')}

options:
${formatOptions(SPECS)}

example:
  vmsim policy 7,0,1,2,0,3,0,4,2,3,0,3,2,1,2,0,1,7,0,1 --frames 3 --policy lru`;

/** Runs `vmsim policy`; returns the exit code. */
export async function policyCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommand(argv, SPECS, 'policy', POLICY_HELP, io.stdout, { count: 1, what: 'one reference string like 7,0,1,2w' });
  if (!a) return 0;
  const frames = a.options.get('frames');
  if (frames === undefined) throw new UsageError('policy: --frames N is required (the resident limit in pages)');
  const name = (a.options.get('policy') as string | undefined) ?? 'fifo';
  if (!isPolicyName(name)) throw new UsageError(`policy: --policy must be one of ${POLICY_NAMES.join(', ')}; got ${JSON.stringify(name)}`);
  const seed = a.options.get('seed') as number | undefined;
  const r = runReferenceString(a.positional[0]!, {
    frames: frames as number,
    policy: name,
    ...(seed !== undefined && name === 'random' ? { policyOptions: { seed } } : {}),
    flushAccessed: !a.options.has('linux-tlb'),
    backend: (a.options.get('backend') as 'native' | 'js' | 'auto' | undefined) ?? 'auto',
  });
  io.stdout.write(a.options.has('json') ? JSON.stringify(r, null, 2) + '\n' : formatTable(r));
  return 0;
}

/** The textbook table: one column per reference, one row per frame, then the totals. */
export function formatTable(r: ReferenceRunResult): string {
  const cells = r.steps.map((s) => `${s.page}${s.write ? 'w' : ''}`);
  const width = Math.max(2, ...cells.map((c) => c.length), ...r.steps.map((s) => String(s.evicted ?? '').length));
  const col = (t: string) => t.padStart(width);
  const lines = [`${'ref'.padEnd(8)}${cells.map(col).join(' ')}`];
  for (let f = 0; f < r.frames; f++) lines.push(`${`frame ${f}`.padEnd(8)}${r.steps.map((s) => col(s.frames[f] === undefined ? '' : String(s.frames[f]))).join(' ')}`);
  lines.push(`${'fault'.padEnd(8)}${r.steps.map((s) => col(s.fault ? 'F' : '')).join(' ')}`);
  lines.push(`${'evicted'.padEnd(8)}${r.steps.map((s) => col(s.evicted === undefined ? '' : String(s.evicted))).join(' ')}`);
  lines.push('', `${r.policy}, ${r.frames} frames: ${r.faults} faults, ${r.hits} hits in ${r.references} references (fault rate ${((100 * r.faults) / r.references).toFixed(1)}%; ${r.majorFaults} read back from swap)`);
  return lines.join('\n') + '\n';
}
