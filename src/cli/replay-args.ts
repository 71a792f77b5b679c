/** The options replay, maps and sweep share, and their translation into ReplayOptions. */
import { resolveReplayOptions, type ReplayOptions } from '../replay/replay-options.js';
import { resolveOptions } from '../machine/options.js';
import { UsageError, type OptionSpec, type ParsedArgs } from './args.js';

/** TLB, memory and trace options (single values; sweep accepts lists for the TLB sizes). */
export function machineSpecs(lists: boolean): OptionSpec[] {
  const n = lists ? 'list' : 'int';
  const v = lists ? 'N[,N...]' : 'N';
  return [
    { name: 'tlb-entries', type: n, value: v, help: 'TLB entries (the unified TLB, or the L2 behind --l1i/--l1d)', default: '64' },
    { name: 'tlb-ways', type: n, value: lists ? 'W[,W...]' : 'W', help: 'ways per set; equal to the entries = fully associative', default: 'min(4, entries)' },
    { name: 'l1i-entries', type: 'int', value: 'N', help: 'add a split L1 instruction TLB of N entries' },
    { name: 'l1i-ways', type: 'int', value: 'W', help: 'ways of the L1 instruction TLB', default: 'min(4, entries)' },
    { name: 'l1d-entries', type: 'int', value: 'N', help: 'add a split L1 data TLB of N entries' },
    { name: 'l1d-ways', type: 'int', value: 'W', help: 'ways of the L1 data TLB', default: 'min(4, entries)' },
    { name: 'pwc', type: 'string', value: 'PML4,PDPT,PD', help: 'paging-structure caches: entries per level, e.g. 2,4,32 (0 = none)' },
    { name: 'page-size', type: 'string', choices: ['4k', '2m'], value: '4k|2m', help: 'page size of the process memory (2m: transparent huge pages)', default: '4k' },
    { name: 'backend', type: 'string', choices: ['native', 'js', 'auto'], value: 'native|js|auto', help: 'simulation core', default: 'auto' },
    { name: 'memory', type: 'string', value: 'SIZE', help: 'simulated RAM, e.g. 8GiB (reserved, only touched frames use host memory)', default: '64GiB' },
    { name: 'strict', type: 'flag', help: 'stop at the first malformed trace line or record (default: skip and count it)' },
  ];
}

/** ReplayOptions from parsed single-valued options (sweep passes one combination at a time). */
export function replayOptionsFrom(a: ParsedArgs, command: string, override: { entries?: number; ways?: number } = {}): ReplayOptions {
  const o = a.options;
  const int = (k: string) => o.get(k) as number | undefined;
  const entries = override.entries ?? int('tlb-entries');
  const ways = override.ways ?? int('tlb-ways');
  const tlb: NonNullable<ReplayOptions['tlb']> = {};
  if (entries !== undefined) tlb.entries = entries;
  if (ways !== undefined) tlb.ways = ways;
  if (int('l1i-entries') !== undefined) tlb.l1i = { entries: int('l1i-entries')!, ...(int('l1i-ways') !== undefined ? { ways: int('l1i-ways') } : {}) };
  else if (int('l1i-ways') !== undefined) throw new UsageError(`${command}: --l1i-ways needs --l1i-entries`);
  if (int('l1d-entries') !== undefined) tlb.l1d = { entries: int('l1d-entries')!, ...(int('l1d-ways') !== undefined ? { ways: int('l1d-ways') } : {}) };
  else if (int('l1d-ways') !== undefined) throw new UsageError(`${command}: --l1d-ways needs --l1d-entries`);
  const pwc = o.get('pwc') as string | undefined;
  if (pwc !== undefined) {
    const parts = pwc.split(',');
    if (parts.length !== 3 || !parts.every((p) => /^\d+$/.test(p))) throw new UsageError(`${command}: --pwc needs three entry counts PML4,PDPT,PD like 2,4,32; got ${JSON.stringify(pwc)}`);
    const [pml4, pdpt, pd] = parts.map(Number);
    tlb.pwc = { pml4: pml4!, pdpt: pdpt!, pd: pd! };
  }
  const r: ReplayOptions = { tlb };
  if (o.has('page-size')) r.pageSize = o.get('page-size') as '4k' | '2m';
  if (o.has('backend')) r.backend = o.get('backend') as 'native' | 'js' | 'auto';
  if (o.has('memory')) r.memory = o.get('memory') as string;
  if (o.has('strict')) r.strict = true;
  return checked(r, command);
}

/** Option paths in the library's messages and the flags that set them, most specific first. */
const FLAG_NAMES: Array<[RegExp, string]> = [
  [/options\.tlb\.(l1[id])\.(entries|ways)/g, '--$1-$2'],
  [/options\.tlb\.pwc(\.\w+)?/g, '--pwc'],
  [/options\.tlb\.(entries|ways)/g, '--tlb-$1'],
  [/options\.memory/g, '--memory'],
];

/**
 * Validates the options as replay() will, before any input is read: a bad value is a usage
 * error (exit 2) that names the flag, not the library's option path.
 */
function checked(r: ReplayOptions, command: string): ReplayOptions {
  try {
    resolveReplayOptions(r);
    if (r.memory !== undefined) resolveOptions({ memory: r.memory, backend: 'js' });
  } catch (e) {
    let msg = (e instanceof Error ? e.message : String(e)).replace(/^E[A-Z]+: /, '');
    for (const [re, flag] of FLAG_NAMES) msg = msg.replace(re, flag);
    throw new UsageError(`${command}: ${msg}`);
  }
  return r;
}
