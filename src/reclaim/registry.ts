/** The built-in policies by name, their option checks, and the guard around user plug-ins. */
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import type { PolicyKind, PolicyName, PolicyOptions, ReclaimPolicy } from './policy.js';
import { FifoPolicy } from './policies/fifo.js';
import { LruPolicy } from './policies/lru.js';
import { OptPolicy } from './policies/opt.js';
import { ClockPolicy } from './policies/clock.js';
import { NruPolicy } from './policies/nru.js';
import { AgingPolicy } from './policies/aging.js';
import { WsClockPolicy } from './policies/wsclock.js';
import { LfuPolicy } from './policies/lfu.js';
import { TwoQueuePolicy } from './policies/two-queue.js';
import { ArcPolicy } from './policies/arc.js';
import { LinuxLruPolicy } from './policies/linux-lru.js';
import { MglruPolicy } from './policies/mglru.js';
import { RandomPolicy } from './policies/random.js';
import { GuardedPolicy } from './guarded-policy.js';

interface Entry {
  kind: PolicyKind;
  /** Options it takes. */
  options: readonly (keyof PolicyOptions)[];
  make(o: PolicyOptions): ReclaimPolicy;
  summary: string;
}

const POLICIES: Record<PolicyName, Entry> = {
  fifo: { kind: 'ad-bits', options: [], make: () => new FifoPolicy(), summary: 'first in, first out' },
  clock: { kind: 'ad-bits', options: [], make: () => new ClockPolicy(), summary: 'second chance over the Accessed bit' },
  nru: { kind: 'ad-bits', options: [], make: () => new NruPolicy(), summary: 'enhanced clock: classes by Accessed and Dirty' },
  aging: { kind: 'ad-bits', options: ['bits'], make: (o) => new AgingPolicy(o.bits), summary: 'n-bit counters shifted at each scan' },
  wsclock: { kind: 'ad-bits', options: ['tau'], make: (o) => new WsClockPolicy(o.tau), summary: 'clock with a working-set window' },
  linux: { kind: 'ad-bits', options: ['inactiveRatio'], make: (o) => new LinuxLruPolicy(o.inactiveRatio), summary: "Linux's active/inactive lists" },
  mglru: { kind: 'ad-bits', options: [], make: () => new MglruPolicy(), summary: "multi-generation LRU in the style of Linux's MGLRU" },
  random: { kind: 'ad-bits', options: ['seed'], make: (o) => new RandomPolicy(o.seed), summary: 'uniformly random victim (seeded)' },
  lru: { kind: 'every-reference', options: [], make: () => new LruPolicy(), summary: 'exact least recently used' },
  lfu: { kind: 'every-reference', options: [], make: () => new LfuPolicy(), summary: 'least frequently used (LRU among ties)' },
  '2q': { kind: 'every-reference', options: ['capacity'], make: (o) => new TwoQueuePolicy(o.capacity!), summary: '2Q: A1in FIFO, A1out ghosts, Am LRU' },
  arc: { kind: 'every-reference', options: ['capacity'], make: (o) => new ArcPolicy(o.capacity!), summary: 'adaptive replacement cache' },
  opt: { kind: 'every-reference', options: ['future'], make: (o) => new OptPolicy(o.future!), summary: "Belady's optimum for a sequence known in advance" },
};

/** Names of the built-in policies, A/D-bit ones first. */
export const POLICY_NAMES = Object.keys(POLICIES) as PolicyName[];

/** What the built-in policy `name` decides from ('every-reference' ones need trace replay or reference strings). */
export function policyKind(name: PolicyName): PolicyKind {
  return entry(name).kind;
}

/** One line describing the built-in policy `name`. */
export function policySummary(name: PolicyName): string {
  return entry(name).summary;
}

/** True when `name` names a built-in policy. */
export function isPolicyName(name: unknown): name is PolicyName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(POLICIES, name);
}

/**
 * Creates the built-in policy `name` (EINVAL for an unknown name, an option it does not take,
 * or a bad value). `capacity` is accepted by every policy and required by 2q and arc;
 * `future` is required by opt (replay() fills it in from a first pass over the trace).
 */
export function createPolicy(name: PolicyName, options: PolicyOptions = {}): ReclaimPolicy {
  const e = entry(name);
  if (options === null || typeof options !== 'object') throw new VmmError('EINVAL', `policy options must be an object, got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (key !== 'capacity' && !(e.options as readonly string[]).includes(key)) {
      throw new VmmError('EINVAL', `policy '${name}' takes no option '${key}'${e.options.length ? ` (it takes: ${['capacity', ...e.options].join(', ')})` : ''}`);
    }
  }
  const o = options;
  if (o.capacity !== undefined) positiveInt(o.capacity, 'capacity', 2 ** 40);
  if ((name === '2q' || name === 'arc') && o.capacity === undefined) throw new VmmError('EINVAL', `policy '${name}' needs capacity (the number of frames it manages)`);
  if (name === 'opt') {
    const f = o.future as unknown;
    if (f === undefined || f === null || typeof f !== 'object' || typeof (f as ArrayLike<number>).length !== 'number') {
      throw new VmmError('EINVAL', `policy 'opt' needs future: the whole reference sequence in advance (an array of page keys or an OptFuture), got ${describe(f)}`);
    }
  }
  if (o.bits !== undefined) positiveInt(o.bits, 'bits', 32);
  if (o.tau !== undefined) positiveInt(o.tau, 'tau', 2 ** 40);
  if (o.inactiveRatio !== undefined) positiveInt(o.inactiveRatio, 'inactiveRatio', 2 ** 20);
  if (o.seed !== undefined && (!Number.isSafeInteger(o.seed) || o.seed < 0)) throw new VmmError('EINVAL', `seed must be a non-negative integer, got ${describe(o.seed)}`);
  return e.make(o);
}

/**
 * The policy to use for `spec`: a built-in name (created with `options`) or a user's object
 * implementing ReclaimPolicy, which is wrapped in a guard that turns misbehaviour into EINVAL.
 */
export function resolvePolicy(spec: PolicyName | ReclaimPolicy, options: PolicyOptions = {}): ReclaimPolicy {
  if (typeof spec === 'string') return createPolicy(spec, options);
  return new GuardedPolicy(spec);
}

function entry(name: unknown): Entry {
  if (!isPolicyName(name)) throw new VmmError('EINVAL', `unknown policy ${describe(name)} (known: ${POLICY_NAMES.join(', ')})`);
  return POLICIES[name];
}

function positiveInt(v: unknown, arg: string, max: number): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) throw new VmmError('EINVAL', `${arg} must be an integer from 1 to ${max}, got ${describe(v)}`);
}
