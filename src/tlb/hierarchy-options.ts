/**
 * A TLB hierarchy as users give it (a CPU preset, and arrays overridden field by field) and
 * its validated form; encode() turns it into the core's config array.
 */
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { CONF_FIELDS, CONF_LENGTH, Policy, POLICY_NAMES, SLOT_NAMES, Slot, type PolicyName, type SlotName } from './layout.js';
import { CPU_NAMES, CPU_PRESETS, type CpuPreset } from './presets.js';

/** One array: entries, ways (default min(4, entries); ways = entries is fully associative), policy, page sizes held, lookup latency. */
export interface TlbArrayOptions {
  /** Required unless a preset has this array (then every field is an override). */
  entries?: number;
  ways?: number;
  policy?: PolicyName;
  /** Page sizes the array holds (L1s and the second level; default by name, see docs/tlb-hierarchy.md). */
  sizes?: Array<'4k' | '2m' | '1g'>;
  /** Seed of the random policy (default: the slot number + 1). */
  seed?: number;
  /** Cycles of a lookup (default: L1 1, second level and L2 ITLB 8, walk caches 1). */
  latency?: number;
}

/** Option keys of the arrays (camel case for the slot names). */
export const ARRAY_KEYS: Readonly<Record<string, SlotName>> = {
  l1i: 'l1i',
  l1i2m: 'l1i-2m',
  l1d: 'l1d',
  l1d2m: 'l1d-2m',
  l1d1g: 'l1d-1g',
  stlb: 'stlb',
  stlb1g: 'stlb-1g',
  l2i: 'l2i',
};

/** A validated array. */
export interface ResolvedArray {
  name: SlotName;
  entries: number;
  ways: number;
  policy: PolicyName;
  sizes: Array<'4k' | '2m' | '1g'>;
  seed: number;
  latency: number;
}

/** A validated hierarchy: arrays by slot (undefined = absent) and the walk's cost per memory reference (PML4E, PDPTE, PDE, PTE). */
export interface ResolvedHierarchy {
  cpu?: string;
  arrays: Array<ResolvedArray | undefined>;
  walkReference: [number, number, number, number];
}

const SIZE_BITS = { '4k': 1, '2m': 2, '1g': 4 } as const;
const DEFAULT_WALK_REFERENCE: [number, number, number, number] = [20, 20, 20, 20];
const ARRAY_OPTION_KEYS = new Set(['entries', 'ways', 'policy', 'sizes', 'seed', 'latency']);

function fail(msg: string): never {
  throw new VmmError('EINVAL', msg);
}

/** Validates one array's options over `base` (a preset's array) — every field may be overridden. */
export function resolveArray(v: unknown, arg: string, name: SlotName, base: Partial<ResolvedArray> | undefined, defaultSizes: ResolvedArray['sizes']): ResolvedArray {
  if (typeof v === 'number') v = { entries: v, ways: v }; // a bare number: that many entries, fully associative (the --pwc form)
  if (v === null || typeof v !== 'object') fail(`${arg} must be an object like { entries: 64, ways: 4 }, got ${describe(v)}`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!ARRAY_OPTION_KEYS.has(k)) fail(`unknown option ${arg}.${k}`);
  const entries = (o.entries ?? base?.entries) as number;
  if (!Number.isInteger(entries) || entries < 1 || entries > 1 << 20) fail(`${arg}.entries must be an integer in [1, 1048576], got ${describe(entries)}`);
  // A changed size with no ways of its own keeps the preset's associativity only when it still divides the entries.
  const baseWays = base?.ways !== undefined && entries % base.ways === 0 ? base.ways : undefined;
  const ways = (o.ways ?? baseWays ?? Math.min(4, entries)) as number;
  if (!Number.isInteger(ways) || ways < 1 || ways > entries) fail(`${arg}.ways must be an integer in [1, entries=${entries}], got ${describe(ways)}`);
  if (entries % ways !== 0) fail(`${arg}.ways ${ways} does not divide ${arg}.entries ${entries}`);
  const policy = (o.policy ?? base?.policy ?? 'lru') as PolicyName;
  if (!POLICY_NAMES.includes(policy)) fail(`${arg}.policy must be one of ${POLICY_NAMES.join(', ')}, got ${describe(o.policy)}`);
  if (policy === 'plru' && (ways & (ways - 1)) !== 0) fail(`${arg}.policy 'plru' needs a power-of-two number of ways, got ${arg}.ways ${ways}`);
  const sizes = (o.sizes ?? base?.sizes ?? defaultSizes) as ResolvedArray['sizes'];
  if (!Array.isArray(sizes) || !sizes.every((s) => s in SIZE_BITS)) fail(`${arg}.sizes must be a list of '4k', '2m', '1g', got ${describe(o.sizes)}`);
  const seed = (o.seed ?? base?.seed ?? SLOT_NAMES.indexOf(name) + 1) as number;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) fail(`${arg}.seed must be an integer in [0, 2^32), got ${describe(o.seed)}`);
  const latency = (o.latency ?? base?.latency ?? (name.startsWith('l1') ? 1 : name.startsWith('stlb') || name === 'l2i' ? 8 : 1)) as number;
  if (typeof latency !== 'number' || !Number.isFinite(latency) || latency < 0) fail(`${arg}.latency must be a non-negative number of cycles, got ${describe(o.latency)}`);
  return { name, entries, ways, policy, sizes: [...sizes], seed, latency };
}

/** The hierarchy options replay takes (ReplayTlbOptions minus the unified TLB's fields). */
export interface HierarchyInput {
  cpu?: unknown;
  entries?: number;
  ways?: number;
  arrays: Record<string, unknown>;
  pwc?: unknown;
  walkReference?: unknown;
}

/** Default page sizes of an array: an L1 or second level holds every size no dedicated array of its level holds. */
function defaultSizes(name: SlotName, present: Set<SlotName>): ResolvedArray['sizes'] {
  switch (name) {
    case 'l1i':
      return present.has('l1i-2m') ? ['4k', '1g'] : ['4k', '2m', '1g'];
    case 'l1d':
      return ['4k', ...(present.has('l1d-2m') ? [] : (['2m'] as const)), ...(present.has('l1d-1g') ? [] : (['1g'] as const))];
    case 'stlb':
      return present.has('stlb-1g') ? ['4k', '2m'] : ['4k', '2m', '1g'];
    case 'l2i':
      return ['4k', '2m', '1g'];
    case 'l1i-2m':
    case 'l1d-2m':
      return ['2m'];
    case 'l1d-1g':
    case 'stlb-1g':
      return ['1g'];
    default:
      return [];
  }
}

/**
 * Validates a hierarchy. With `cpu` the preset is the base and every given field overrides it;
 * without, the second level is the unified TLB's `entries`/`ways` (default 64, 4-way).
 * `arg` prefixes error messages (e.g. 'options.tlb').
 */
export function resolveHierarchy(h: HierarchyInput, arg: string, cpuArg: string): ResolvedHierarchy {
  let preset: CpuPreset | undefined;
  if (h.cpu !== undefined) {
    if (typeof h.cpu !== 'string' || !(h.cpu in CPU_PRESETS)) fail(`${cpuArg} must be one of ${CPU_NAMES.join(', ')}, got ${describe(h.cpu)}`);
    preset = CPU_PRESETS[h.cpu]!;
  }
  const given = new Map<SlotName, { v: unknown; arg: string }>();
  for (const [k, v] of Object.entries(h.arrays)) if (v !== undefined) given.set(ARRAY_KEYS[k]!, { v, arg: `${arg}.${k}` });
  if (h.pwc !== undefined) {
    if (h.pwc === null || typeof h.pwc !== 'object') fail(`${arg}.pwc must be an object like { pd: 32 }, got ${describe(h.pwc)}`);
    for (const [k, v] of Object.entries(h.pwc as Record<string, unknown>)) {
      if (k !== 'pml4' && k !== 'pdpt' && k !== 'pd') fail(`unknown option ${arg}.pwc.${k}`);
      if (v === undefined) continue;
      // 0 entries removes a walk cache (the --pwc form).
      if (v === 0) given.set(`pwc-${k}e` as SlotName, { v: null, arg: `${arg}.pwc.${k}` });
      else given.set(`pwc-${k}e` as SlotName, { v, arg: `${arg}.pwc.${k}` });
    }
  }
  if (h.entries !== undefined || h.ways !== undefined) {
    const prev = given.get('stlb');
    if (prev) fail(`give the second level as ${arg}.stlb or as ${arg}.entries/ways, not both`);
    given.set('stlb', { v: { ...(h.entries !== undefined ? { entries: h.entries } : {}), ...(h.ways !== undefined ? { ways: h.ways } : {}) }, arg });
  } else if (!preset && !given.has('stlb')) {
    given.set('stlb', { v: { entries: 64 }, arg });
  }
  const present = new Set<SlotName>();
  for (const n of SLOT_NAMES) if ((preset?.arrays[n] && given.get(n)?.v !== null) || (given.has(n) && given.get(n)!.v !== null)) present.add(n);
  const arrays: Array<ResolvedArray | undefined> = [];
  for (const n of SLOT_NAMES) {
    if (!present.has(n)) {
      arrays.push(undefined);
      continue;
    }
    const g = given.get(n);
    const base = preset?.arrays[n];
    arrays.push(resolveArray(g ? g.v : {}, g ? g.arg : `${cpuArg} ${preset!.name} ${n}`, n, base, defaultSizes(n, present)));
  }
  let walkReference = preset?.walkReference ?? DEFAULT_WALK_REFERENCE;
  if (h.walkReference !== undefined) {
    const w = typeof h.walkReference === 'number' ? [h.walkReference, h.walkReference, h.walkReference, h.walkReference] : h.walkReference;
    if (!Array.isArray(w) || w.length !== 4 || !w.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) {
      fail(`${arg}.walkReference must be cycles per walk memory reference: a number or [PML4E, PDPTE, PDE, PTE], got ${describe(h.walkReference)}`);
    }
    walkReference = w as [number, number, number, number];
  }
  return { ...(preset ? { cpu: preset.name } : {}), arrays, walkReference: [...walkReference] as [number, number, number, number] };
}

/** The core's config array (layout.ts) of a resolved hierarchy. */
export function encodeHierarchy(h: ResolvedHierarchy): Float64Array {
  const c = new Float64Array(CONF_LENGTH);
  for (let s = 0; s < Slot.COUNT; s++) {
    const a = h.arrays[s];
    if (!a) continue;
    const b = s * CONF_FIELDS;
    c[b] = a.entries;
    c[b + 1] = a.ways;
    c[b + 2] = Policy[a.policy.toUpperCase() as keyof typeof Policy];
    c[b + 3] = a.sizes.reduce((m, z) => m | SIZE_BITS[z], 0);
    c[b + 4] = a.seed;
  }
  return c;
}
