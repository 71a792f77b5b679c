/** --from and --save: replay and sweep starting from a snapshot file, replay saving one (docs/snapshots.md). */
import { GROUP } from './replay-args.js';
import { UsageError, type OptionSpec, type ParsedArgs } from './args.js';
import type { CommandIo } from './io.js';
import type { ReplayResult } from '../replay/replay-result.js';

/** --from FILE: where replay and sweep start. */
export const FROM_SPEC: OptionSpec = {
  name: 'from',
  type: 'string',
  value: 'FILE.vmsnap',
  group: GROUP.memory,
  help: "start from a snapshot file (vmsim replay --save): its machine and process go on with TRACE, counting from there; a TLB of another geometry than the snapshot's starts empty (docs/snapshots.md)",
};

/** --save FILE: replay writes its machine at the end of its warm-up (--warmup N), else when it ends. */
export const SAVE_SPEC: OptionSpec = {
  name: 'save',
  type: 'string',
  value: 'FILE.vmsnap',
  group: GROUP.memory,
  help: 'save the machine (memory, page tables, TLBs, statistics) to a snapshot file at the end of the warm-up with --warmup N, else when the replay ends; go on from it with --from (the same trace: --from FILE --skip N)',
};

/** Options that describe a fresh machine or process, which a snapshot already has. */
const FRESH = ['memory', 'frames', 'policy', 'swap', 'swap-file', 'zswap'];

/** UsageError for an option --from cannot go with. */
export function checkFrom(a: ParsedArgs, command: string): void {
  if (!a.options.has('from')) return;
  for (const k of FRESH) if (a.raw.has(k)) throw new UsageError(`${command}: --${k} cannot go with --from: the snapshot's machine has its own memory and process`);
}

/** Says on stderr when rows started with empty TLBs (a geometry other than the snapshot's). */
export function reportEmptiedTlbs(results: ReadonlyArray<ReplayResult | undefined>, command: string, io: CommandIo): void {
  const emptied = results.filter((r) => r?.from?.tlbs === 'emptied').length;
  if (emptied === 0) return;
  const what = results.length === 1 ? 'this configuration' : `${emptied} of ${results.length} configurations`;
  io.stderr.write(`vmsim ${command}: ${what} ${emptied === 1 && results.length === 1 ? 'has' : 'have'} a TLB geometry other than the snapshot's: ${results.length === 1 ? 'its' : 'their'} TLBs started empty (the page tables and memory are the snapshot's)\n`);
}
