/** The options replay, maps and sweep share, and their translation into ReplayOptions. */
import { resolveReplayOptions, type ReplayOptions, type ReplayTlbOptions, type TlbLevelOptions } from '../replay/replay-options.js';
import { resolveOptions } from '../machine/options.js';
import { CPU_NAMES } from '../tlb/presets.js';
import { POLICY_NAMES } from '../tlb/layout.js';
import { badValue, typed, UsageError, type OptionSpec, type ParsedArgs } from './args.js';

/** The hierarchy's arrays on the command line: flag prefix, ReplayTlbOptions key (pwc: its key in tlb.pwc), what it is. */
export const ARRAY_FLAGS: ReadonlyArray<readonly [flag: string, key: string, pwc: boolean, what: string]> = [
  ['l1i', 'l1i', false, 'L1 instruction TLB (4K, and the sizes no other L1I array holds)'],
  ['l1i-2m', 'l1i2m', false, 'L1 instruction TLB for 2M pages'],
  ['l1d', 'l1d', false, 'L1 data TLB (4K, and the sizes no other L1D array holds)'],
  ['l1d-2m', 'l1d2m', false, 'L1 data TLB for 2M pages'],
  ['l1d-1g', 'l1d1g', false, 'L1 data TLB for 1G pages'],
  ['stlb', 'stlb', false, 'second-level TLB (replaces --tlb-entries/--tlb-ways)'],
  ['stlb-1g', 'stlb1g', false, 'second-level TLB for 1G pages'],
  ['l2i', 'l2i', false, 'second-level instruction TLB (AMD\'s L2 ITLB: fetches look it up instead of the second level)'],
  ['pwc-pml4e', 'pml4', true, 'PML4E walk cache'],
  ['pwc-pdpte', 'pdpt', true, 'PDPTE walk cache'],
  ['pwc-pde', 'pd', true, 'PDE walk cache'],
];

/** Group headings of the machine options in --help. */
export const GROUP = { tlb: 'TLB', hier: 'TLB hierarchy (a --cpu preset, or arrays of your own; docs/tlb-hierarchy.md)', memory: 'memory and input', output: 'output' } as const;

/** RAM a machine may have (as resolveOptions checks). */
const MEMORY_RANGE = { min: 2 ** 21, max: 2 ** 40 };

/** --backend, --memory and --strict: every command that replays a trace has them. */
export function inputSpecs(): OptionSpec[] {
  return [
    { name: 'memory', type: 'size', ...MEMORY_RANGE, value: 'SIZE', group: GROUP.memory, help: 'simulated RAM, e.g. 8GiB (reserved; only touched frames use host memory)', default: '64GiB' },
    { name: 'strict', type: 'flag', group: GROUP.memory, help: 'stop at the first malformed trace line or record, or at the first system call of a recorded program whose result differs from the recording (default: skip and count it)' },
    { name: 'backend', type: 'string', choices: ['native', 'js', 'auto'], value: 'native|js|auto', group: GROUP.memory, help: 'simulation core', default: 'auto' },
    formatSpec(),
  ];
}

/** --format: how a trace reads (told by its contents, or ChampSim's records). */
export function formatSpec(): OptionSpec {
  return {
    name: 'format',
    type: 'string',
    choices: ['auto', 'champsim', 'champsim-cloudsuite'],
    value: 'auto|champsim|champsim-cloudsuite',
    group: GROUP.memory,
    help: "read TRACE as ChampSim's 64-byte instruction records (CloudSuite's 96-byte ones) without telling them by their contents (auto); its first 64 records must still fit the layout",
    default: 'auto',
  };
}

/** --warmup and --simulate: ChampSim's windows (replay and sweep). */
export function windowSpecs(): OptionSpec[] {
  return [
    { name: 'warmup', type: 'int', value: 'N', group: GROUP.memory, help: 'replay the first N instructions (instruction fetches; accesses in a trace without any) uncounted, as ChampSim\'s --warmup-instructions', default: '0' },
    { name: 'skip', type: 'int', value: 'N', group: GROUP.memory, help: 'read and drop the first N instructions (or accesses) before the warm-up: the part of TRACE a snapshot (--from) replayed already (replay --warmup N --save saves at the warm-up\'s end)', default: '0' },
    { name: 'simulate', type: 'int', value: 'N', group: GROUP.memory, help: 'then count the next N instructions (or accesses) and stop, as ChampSim\'s --simulation-instructions', default: 'to the end' },
  ];
}

/** TLB, memory and trace options (single values; sweep accepts lists for every size, associativity, preset and page size). */
export function machineSpecs(lists: boolean): OptionSpec[] {
  const n = lists ? 'list' : 'int';
  const one = lists ? {} : { min: 1 };
  const v = lists ? 'N[,N...]' : 'N';
  const w = lists ? 'W[,W...]' : 'W';
  const arrays: OptionSpec[] = ARRAY_FLAGS.flatMap(([flag, , , what]) => [
    { name: `${flag}-entries`, type: n, ...one, value: v, group: GROUP.hier, row: flag, help: what, ...(flag === 'l1i' ? { groupNote: ARRAY_NOTE } : {}) },
    { name: `${flag}-ways`, type: n, ...one, value: w, group: GROUP.hier, row: flag, help: `ways of the ${flag} array` },
    { name: `${flag}-policy`, type: lists ? 'names' : 'string', choices: POLICY_NAMES, value: lists ? 'P[,P...]' : 'P', group: GROUP.hier, row: flag, help: `replacement policy of the ${flag} array` },
  ]);
  return [
    { name: 'tlb-entries', type: n, ...one, value: v, group: GROUP.tlb, help: 'TLB entries (the unified TLB, or the second level of a hierarchy)', default: '64' },
    { name: 'tlb-ways', type: n, ...one, value: w, group: GROUP.tlb, help: 'ways per set; equal to the entries = fully associative', default: 'min(4, entries)' },
    { name: 'cpu', type: lists ? 'names' : 'string', choices: CPU_NAMES, value: lists ? 'NAME[,NAME...]' : 'NAME', group: GROUP.hier, help: `a CPU preset (${CPU_NAMES.join(', ')}): its whole TLB hierarchy; the options below override it field by field` },
    ...arrays,
    { name: 'pwc', type: 'string', value: 'PML4,PDPT,PD', group: GROUP.hier, help: 'paging-structure caches: entries per level, fully associative, e.g. 2,4,32 (0 = none)' },
    { name: 'walk-latency', type: 'int', value: 'CYCLES', group: GROUP.hier, help: 'cycles per memory reference of a page walk (the cost model)', default: "20, or the preset's" },
    { name: 'page-size', type: lists ? 'names' : 'string', choices: ['4k', '2m'], value: lists ? '4k[,2m]' : '4k|2m', group: GROUP.memory, help: 'page size of the process memory (2m: transparent huge pages)', default: '4k' },
    ...inputSpecs(),
  ];
}

/** The per-array help line: ARRAY_FLAGS' what, and the policies they take. */
export const ARRAY_NOTE = `each array: --ARRAY-entries N, --ARRAY-ways W (= N: fully associative; default min(4, N) or the preset's), --ARRAY-policy ${POLICY_NAMES.join('|')} (default lru)`;

/** The flag an option path in a replay error names: options.tlb.l1d.ways → --l1d-ways. */
function flagOf(message: string): string {
  return message
    .replace(/^E[A-Z]+: /, '')
    .replace(/options\.tlb\.pwc\.(pml4|pdpt|pd)(?:\.(entries|ways|policy))?/g, (_m, k: string, f?: string) => `--pwc-${k}e-${f ?? 'entries'}`)
    .replace(/options\.tlb\.(\w+)\.(entries|ways|policy|sizes|seed|latency)/g, (m, k: string, f: string) => {
      const a = ARRAY_FLAGS.find(([, key, pwc]) => key === k && !pwc);
      return a ? `--${a[0]}-${f}` : m;
    })
    .replace(/options\.tlb\.(entries|ways)/g, '--tlb-$1')
    .replace(/options\.tlb\.walkReference/g, '--walk-latency')
    .replace(/options\.cpu/g, '--cpu')
    .replace(/options\.seriesEvery/g, '--series')
    .replace(/options\.pageSize/g, '--page-size')
    .replace(/options\.memory/g, '--memory');
}

/**
 * The message of a library error about the options as a usage error reads: "--flag TYPED:
 * problem" when it is about an option the user typed (the library repeats the value it was
 * given, a size as its byte count: the user's own text replaces it), flags for option paths.
 */
export function userMessage(message: string, a: ParsedArgs): string {
  const msg = flagOf(message);
  const m = /^--([a-z0-9-]+) (.*)$/s.exec(msg);
  if (m && a.raw.has(m[1]!)) {
    const rest = m[2]!.replace(/^(-?\d[\w.]*|"[^"]*"|'[^']*') /, '').replace(/, got (?:number|string) \S+$/, '');
    return `${typed(m[1]!, a.raw.get(m[1]!)!)}: ${rest}`;
  }
  return msg;
}

/** One value of an option in a sweep combination (`pick`), else the parsed single value. */
type Pick = Record<string, number | string>;

/**
 * ReplayOptions from parsed single-valued options (sweep passes one combination at a time in
 * `pick`, keyed by option name). Bad combinations are UsageErrors naming the flag (exit 2).
 */
export function replayOptionsFrom(a: ParsedArgs, command: string, pick: Pick = {}): ReplayOptions {
  const o = a.options;
  const get = (k: string): number | string | undefined => {
    if (k in pick) return pick[k];
    const v = o.get(k);
    if (Array.isArray(v)) return v.length === 1 ? v[0] : undefined; // a list of one is that value; longer lists are sweep axes
    return v as number | string | undefined;
  };
  const int = (k: string) => get(k) as number | undefined;
  const tlb: ReplayTlbOptions = {};
  if (int('tlb-entries') !== undefined) tlb.entries = int('tlb-entries');
  if (int('tlb-ways') !== undefined) tlb.ways = int('tlb-ways');
  const cpu = get('cpu') as string | undefined;
  const pwc: NonNullable<ReplayTlbOptions['pwc']> = {};
  const spec = o.get('pwc') as string | undefined;
  if (spec !== undefined) {
    const parts = spec.split(',');
    if (parts.length !== 3 || !parts.every((p) => /^\d+$/.test(p))) throw badValue(command, 'pwc', spec, 'needs three entry counts PML4,PDPT,PD like 2,4,32');
    const [pml4, pdpt, pd] = parts.map(Number);
    parts.forEach((p, i) => {
      if (Number(p) > 2 ** 20) throw badValue(command, 'pwc', spec, `${['PML4', 'PDPT', 'PD'][i]} entries ${p}: at most 1048576`);
    });
    Object.assign(pwc, { pml4, pdpt, pd });
  }
  for (const [flag, key, isPwc] of ARRAY_FLAGS) {
    const entries = int(`${flag}-entries`);
    const ways = int(`${flag}-ways`);
    const policy = get(`${flag}-policy`) as TlbLevelOptions['policy'];
    if (entries === undefined && ways === undefined && policy === undefined) continue;
    // Without a preset an array needs its size; with one, the preset's array is the base.
    if (entries === undefined && cpu === undefined) throw new UsageError(`${command}: --${flag}-${ways !== undefined ? 'ways' : 'policy'} needs --${flag}-entries (or --cpu)`);
    const l = { ...(entries !== undefined ? { entries } : {}), ...(ways !== undefined ? { ways } : {}), ...(policy !== undefined ? { policy } : {}) } as TlbLevelOptions;
    if (isPwc) (pwc as Record<string, TlbLevelOptions>)[key] = l;
    else (tlb as Record<string, TlbLevelOptions>)[key] = l;
  }
  if (Object.keys(pwc).length > 0) tlb.pwc = pwc;
  if (int('walk-latency') !== undefined) tlb.walkReference = int('walk-latency');
  const r: ReplayOptions = { tlb };
  if (cpu !== undefined) r.cpu = cpu;
  if (o.get('series') !== undefined) r.seriesEvery = o.get('series') as number;
  if (get('page-size') !== undefined) r.pageSize = get('page-size') as '4k' | '2m';
  if (o.has('backend')) r.backend = o.get('backend') as 'native' | 'js' | 'auto';
  if (o.has('memory')) r.memory = o.get('memory') as string;
  if (o.has('strict')) r.strict = true;
  if (o.has('format') && o.get('format') !== 'auto') r.format = o.get('format') as 'champsim' | 'champsim-cloudsuite';
  if (o.has('warmup')) r.warmup = o.get('warmup') as number;
  if (o.has('simulate')) r.simulate = o.get('simulate') as number;
  if (o.has('skip')) r.skip = o.get('skip') as number;
  if (o.has('from')) r.from = o.get('from') as string;
  // Validated as replay() will, before any input is read: a bad value is a usage error (exit 2)
  // that names the flag, not the library's option path.
  try {
    resolveReplayOptions(r);
    if (r.memory !== undefined) resolveOptions({ memory: r.memory, backend: 'js' });
  } catch (e) {
    if (e instanceof Error && typeof (e as { code?: unknown }).code === 'string') throw new UsageError(`${command}: ${userMessage(e.message, a)}`);
    throw e;
  }
  return r;
}
