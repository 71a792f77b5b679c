/**
 * The TLB of a CPU as users describe it — the same description for a machine
 * (`new Machine({ cpu, tlb })`) and a replay: one unified TLB (`entries`/`ways`), or a per-CPU
 * hierarchy (a `cpu` preset, any L1/second-level/walk-cache array) — and its validated form.
 */
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { strictOptions } from '../strict-options.js';
import { ARRAY_KEYS, resolveHierarchy, type ResolvedHierarchy, type TlbArrayOptions } from './hierarchy-options.js';

/**
 * A CPU's TLB. `entries`/`ways` alone give one unified, single-level TLB. With any L1 array,
 * `stlb` or `pwc` (or a `cpu` preset) the CPU has the hierarchy of docs/tlb-hierarchy.md:
 * `entries`/`ways` are then its second level. `pwc` values are entries (fully associative) or
 * array options.
 */
export interface TlbOptions {
  entries?: number;
  ways?: number;
  l1i?: TlbArrayOptions;
  l1i2m?: TlbArrayOptions;
  l1d?: TlbArrayOptions;
  l1d2m?: TlbArrayOptions;
  l1d1g?: TlbArrayOptions;
  stlb?: TlbArrayOptions;
  stlb1g?: TlbArrayOptions;
  /** A second-level instruction TLB (AMD's L2 ITLB): fetches that miss the L1I look it up instead of `stlb`, which then serves data only. */
  l2i?: TlbArrayOptions;
  pwc?: { pml4?: number | TlbArrayOptions; pdpt?: number | TlbArrayOptions; pd?: number | TlbArrayOptions };
  /** Cycles per memory reference of a walk: one number, or [PML4E, PDPTE, PDE, PTE]. */
  walkReference?: number | [number, number, number, number];
}

/** A validated unified TLB. */
export interface LevelConfig {
  entries: number;
  ways: number;
}

/** A validated TLB description: the unified TLB's shape, and the hierarchy when one is asked for. */
export interface ResolvedTlb {
  tlb: LevelConfig;
  hierarchy?: ResolvedHierarchy;
}

/** The option keys of TlbOptions. */
export const TLB_OPTION_KEYS: ReadonlySet<string> = new Set(['entries', 'ways', 'pwc', 'walkReference', ...Object.keys(ARRAY_KEYS)]);

/** Validates a unified TLB level (`arg` names it in errors). */
export function resolveLevel(level: unknown, arg: string, dflt?: LevelConfig): LevelConfig {
  if (level === undefined && dflt) return dflt;
  if (level === null || typeof level !== 'object') throw new VmmError('EINVAL', `${arg} must be an object like { entries: 64, ways: 4 }, got ${describe(level)}`);
  const l = level as Partial<TlbArrayOptions>;
  const entries = l.entries ?? dflt?.entries;
  if (!Number.isInteger(entries) || entries! < 1 || entries! > 1 << 20) throw new VmmError('EINVAL', `${arg}.entries must be an integer in [1, 1048576], got ${describe(entries)}`);
  const ways = l.ways ?? Math.min(4, entries!);
  if (!Number.isInteger(ways) || ways! < 1 || ways! > entries!) throw new VmmError('EINVAL', `${arg}.ways must be an integer in [1, entries=${entries}], got ${describe(ways)}`);
  if (entries! % ways! !== 0) throw new VmmError('EINVAL', `${arg}.entries ${entries} is not a multiple of ${arg}.ways ${ways}`);
  return { entries: entries!, ways: ways! };
}

/**
 * Validates a TLB description: unknown keys are EINVAL (a typo would silently change the
 * experiment). `arg` and `cpuArg` name the options in errors (e.g. 'options.tlb', 'options.cpu').
 */
export function resolveTlb(t: unknown, cpu: unknown, arg: string, cpuArg: string): ResolvedTlb {
  const given = t ?? {};
  if (given === null || typeof given !== 'object') throw new VmmError('EINVAL', `${arg} must be an object, got ${describe(t)}`);
  const o = given as TlbOptions & Record<string, unknown>;
  strictOptions(o, arg, [...TLB_OPTION_KEYS]);
  const tlb = resolveLevel({ entries: o.entries ?? 64, ways: o.ways }, arg);
  const arrays: Record<string, unknown> = {};
  for (const k of Object.keys(ARRAY_KEYS)) if (o[k] !== undefined) arrays[k] = o[k];
  const pwcAll0 = o.pwc !== undefined && o.pwc !== null && typeof o.pwc === 'object' && Object.values(o.pwc).every((v) => v === 0 || v === undefined);
  if (cpu !== undefined || Object.keys(arrays).length > 0 || (o.pwc !== undefined && !pwcAll0) || o.walkReference !== undefined) {
    return { tlb, hierarchy: resolveHierarchy({ cpu, entries: o.entries, ways: o.ways, arrays, pwc: o.pwc, walkReference: o.walkReference }, arg, cpuArg) };
  }
  return { tlb };
}
