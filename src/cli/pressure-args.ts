/** Command-line options of replay under memory pressure: --frames, --policy, --swap, --zswap, --swap-file. */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { badValue, UsageError, type OptionSpec, type ParsedArgs } from './args.js';
import { POLICY_NAMES } from '../reclaim/registry.js';
import type { PolicyName } from '../reclaim/policy.js';
import { formatBytes } from '../report/index.js';
import { parseSize } from '../machine/options.js';
import type { ReplayOptions } from '../replay/replay-options.js';
import type { ReplayResult } from '../replay/replay-result.js';

/** OSTEP's and the textbooks' other names of the policies (any case). */
export const POLICY_ALIASES: Readonly<Record<string, PolicyName>> = { rand: 'random', optimal: 'opt', belady: 'opt', 'second-chance': 'clock' };

const GROUP = 'memory pressure (a resident limit and swap)';

/** --policy: a replacement policy by name, in any case. */
export function policySpec(dflt: string, extra: Partial<OptionSpec> = {}): OptionSpec {
  return { name: 'policy', type: 'string', choices: POLICY_NAMES, choiceAliases: POLICY_ALIASES, value: 'NAME', help: `replacement policy (${POLICY_NAMES.join(', ')}; any case)`, default: dflt, ...extra };
}

/** The options (added to replay's). */
export const PRESSURE_SPECS: OptionSpec[] = [
  { name: 'frames', type: 'int', min: 1, value: 'N', group: GROUP, help: 'resident limit of the process in pages: replay under memory pressure' },
  policySpec('clock', { group: GROUP, help: `replacement policy under --frames (${POLICY_NAMES.join(', ')}; any case)` }),
  { name: 'swap', type: 'size', min: 2 * 4096, value: 'SIZE', group: GROUP, help: 'swap device size under --frames', default: '1GiB' },
  { name: 'swap-file', type: 'string', value: 'PATH', group: GROUP, help: 'keep the swap device in this file instead of host memory (an existing swap file is reused, never shrunk)' },
  { name: 'zswap', type: 'flag', group: GROUP, help: 'a compressed pool (zswap) in front of swap' },
  { name: 'course-summary', type: 'flag', group: GROUP, help: 'under --frames, print the summary lines of the university paging simulators (hits, misses, clean and dirty evictions, references, rates)' },
];

/** The summary lines course simulators print: references are page touches, misses are page-ins. */
export function courseSummary(r: ReplayResult): string {
  const refs = r.accesses + r.pageCrossing - r.faults.segv;
  const misses = r.resident?.pageIns ?? 0;
  return courseSummaryLines({ references: refs, misses, clean: r.evictions?.clean ?? 0, dirty: r.evictions?.dirty ?? 0 });
}

/** The lines themselves: Total references, Hits, Misses, Clean and Dirty evictions, Hit and Miss rate. */
export function courseSummaryLines(c: { references: number; misses: number; clean: number; dirty: number }): string {
  const hits = c.references - c.misses;
  const pct = (n: number) => (c.references > 0 ? ((100 * n) / c.references).toFixed(2) : '0.00');
  return [
    `Total references: ${c.references}`,
    `Hits: ${hits}`,
    `Misses: ${c.misses}`,
    `Clean evictions: ${c.clean}`,
    `Dirty evictions: ${c.dirty}`,
    `Hit rate: ${pct(hits)}%`,
    `Miss rate: ${pct(c.misses)}%`,
  ].join('\n') + '\n';
}

/**
 * The swap file may exist from an earlier run: a device smaller than it would shrink it (the
 * device sets the file's size). Refused before any work, saying which size keeps it.
 */
export function checkSwapFile(file: string, sizeText: string, command: string): void {
  if (!existsSync(file)) return;
  const st = statSync(file);
  if (st.isDirectory()) throw badValue(command, 'swap-file', file, 'is a directory');
  const want = parseSize(sizeText, '--swap');
  // Only a swap file is reused (the device refuses anything else); its size is the device's.
  if (st.size > want && isSwapFileHeader(file)) {
    throw new UsageError(`${command}: --swap-file ${file} is an existing ${formatBytes(st.size)} swap file and --swap ${sizeText} would shrink it; give --swap ${sizeArg(st.size)} (or more), another --swap-file, or remove the file first`);
  }
}

/** Bytes as --swap takes them, in the largest unit that divides them: 64KiB, 1GiB. */
function sizeArg(n: number): string {
  for (const [u, b] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) if (n % b === 0) return `${n / b}${u}`;
  return String(n);
}

/** "SWAPSPACE2" at the end of the first page, as mkswap writes it. */
function isSwapFileHeader(file: string): boolean {
  let fd = -1;
  try {
    fd = openSync(file, 'r');
    const b = Buffer.alloc(10);
    return readSync(fd, b, 0, 10, 4086) === 10 && b.toString('latin1') === 'SWAPSPACE2';
  } catch {
    return false;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Adds the pressure options of `a` to replay options `r` (UsageError for --policy etc. without --frames). */
export function addPressureOptions(a: ParsedArgs, r: ReplayOptions, command: string): ReplayOptions {
  const o = a.options;
  const frames = o.get('frames') as number | undefined;
  if (frames === undefined) {
    for (const k of ['policy', 'swap', 'swap-file', 'zswap', 'course-summary']) if (o.has(k)) throw new UsageError(`${command}: --${k} needs --frames N (the resident limit it applies to)`);
    return r;
  }
  const policy = (o.get('policy') as PolicyName | undefined) ?? 'clock';
  const file = o.get('swap-file') as string | undefined;
  const size = (o.get('swap') as string | undefined) ?? '1GiB';
  if (file !== undefined) checkSwapFile(file, size, command);
  return { ...r, frames, policy, swap: { size, ...(file ? { file } : {}), ...(o.has('zswap') ? { zswap: true } : {}) } };
}
