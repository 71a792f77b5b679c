/** Command-line options of replay under memory pressure: --frames, --policy, --swap, --zswap, --swap-file. */
import { UsageError, type OptionSpec, type ParsedArgs } from './args.js';
import { POLICY_NAMES, isPolicyName } from '../reclaim/registry.js';
import type { ReplayOptions } from '../replay/replay-options.js';
import type { ReplayResult } from '../replay/replay-result.js';

/** The options (added to replay's). */
export const PRESSURE_SPECS: OptionSpec[] = [
  { name: 'frames', type: 'int', value: 'N', help: 'resident limit of the process in pages: replay under memory pressure' },
  { name: 'policy', type: 'string', value: 'NAME', help: `replacement policy under --frames (${POLICY_NAMES.join(', ')})`, default: 'clock' },
  { name: 'swap', type: 'string', value: 'SIZE', help: 'swap device size under --frames', default: '1GiB' },
  { name: 'swap-file', type: 'string', value: 'PATH', help: 'keep the swap device in this file instead of host memory' },
  { name: 'zswap', type: 'flag', help: 'a compressed pool (zswap) in front of swap' },
  { name: 'course-summary', type: 'flag', help: "under --frames, print the summary lines of the university paging simulators (hits, misses, clean and dirty evictions, references, rates)" },
];

/** The summary lines course simulators print: references are page touches, misses are page-ins. */
export function courseSummary(r: ReplayResult): string {
  const refs = r.accesses + r.pageCrossing - r.faults.segv;
  const misses = r.resident?.pageIns ?? 0;
  const hits = refs - misses;
  const pct = (n: number) => (refs > 0 ? ((100 * n) / refs).toFixed(2) : '0.00');
  return [
    `Total references: ${refs}`,
    `Hits: ${hits}`,
    `Misses: ${misses}`,
    `Clean evictions: ${r.evictions?.clean ?? 0}`,
    `Dirty evictions: ${r.evictions?.dirty ?? 0}`,
    `Hit rate: ${pct(hits)}%`,
    `Miss rate: ${pct(misses)}%`,
  ].join('\n') + '\n';
}

/** Adds the pressure options of `a` to replay options `r` (UsageError for --policy etc. without --frames). */
export function addPressureOptions(a: ParsedArgs, r: ReplayOptions, command: string): ReplayOptions {
  const o = a.options;
  const frames = o.get('frames') as number | undefined;
  if (frames === undefined) {
    for (const k of ['policy', 'swap', 'swap-file', 'zswap', 'course-summary']) if (o.has(k)) throw new UsageError(`${command}: --${k} needs --frames N`);
    return r;
  }
  const policy = (o.get('policy') as string | undefined) ?? 'clock';
  if (!isPolicyName(policy)) throw new UsageError(`${command}: --policy must be one of ${POLICY_NAMES.join(', ')}; got ${JSON.stringify(policy)}`);
  const file = o.get('swap-file') as string | undefined;
  return { ...r, frames, policy, swap: { size: (o.get('swap') as string | undefined) ?? '1GiB', ...(file ? { file } : {}), ...(o.has('zswap') ? { zswap: true } : {}) } };
}
