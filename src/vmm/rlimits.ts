/**
 * A process's memory resource limits (getrlimit(2)/setrlimit(2)): RLIMIT_AS, RLIMIT_DATA,
 * RLIMIT_STACK and RLIMIT_MEMLOCK, in bytes, Infinity for RLIM_INFINITY. The defaults are an
 * ordinary process's on Linux 6.x: no address-space or data limit, an 8 MiB stack (hard
 * unlimited), and 8 MiB of locked memory (MLOCK_LIMIT since 5.16). Set as do_prlimit checks:
 * a soft limit above the hard one is EINVAL, raising a hard limit is EPERM (the process has no
 * CAP_SYS_RESOURCE). A fork child and exec keep them (they live in signal_struct).
 */
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { STACK_LIMIT } from './layout.js';

/** The limits vmsim implements, by their names in <sys/resource.h>. */
export type RlimitName = 'RLIMIT_AS' | 'RLIMIT_DATA' | 'RLIMIT_STACK' | 'RLIMIT_MEMLOCK';

/** One limit: soft (what is enforced) and hard (the ceiling the soft limit may be raised to), bytes or Infinity. */
export interface Rlimit {
  soft: number;
  hard: number;
}

const NAMES: readonly RlimitName[] = ['RLIMIT_AS', 'RLIMIT_DATA', 'RLIMIT_STACK', 'RLIMIT_MEMLOCK'];
/** MLOCK_LIMIT: 8 MiB. */
export const MLOCK_LIMIT = 8 * 2 ** 20;

/** The limits of one process. */
export class Rlimits {
  private readonly v: Record<RlimitName, Rlimit>;

  constructor(stackSoft = STACK_LIMIT) {
    this.v = {
      RLIMIT_AS: { soft: Infinity, hard: Infinity },
      RLIMIT_DATA: { soft: Infinity, hard: Infinity },
      RLIMIT_STACK: { soft: stackSoft, hard: Infinity },
      RLIMIT_MEMLOCK: { soft: MLOCK_LIMIT, hard: MLOCK_LIMIT },
    };
  }

  /** A copy (what a fork child inherits). */
  clone(): Rlimits {
    const c = new Rlimits();
    for (const n of NAMES) c.v[n] = { ...this.v[n] };
    return c;
  }

  /** The soft limit of `name` in bytes (Infinity: none). */
  soft(name: RlimitName): number {
    return this.v[name].soft;
  }

  /** getrlimit(2): { soft, hard }. EINVAL for an unknown name. */
  get(name: unknown): Rlimit {
    return { ...this.v[checkName(name)] };
  }

  /** setrlimit(2), checked before anything changes: EINVAL (unknown name, a value that is not a size, soft above hard), EPERM (raising the hard limit). */
  set(name: unknown, soft: unknown, hard: unknown): void {
    const n = checkName(name);
    const s = limitValue(soft, 'soft');
    const h = limitValue(hard, 'hard');
    if (s > h) throw new VmmError('EINVAL', `setrlimit(${n}): soft limit ${s} is above the hard limit ${h}`);
    if (h > this.v[n].hard) throw new VmmError('EPERM', `setrlimit(${n}): raising the hard limit from ${this.v[n].hard} to ${h} needs CAP_SYS_RESOURCE, which a vmsim process does not have`);
    this.v[n] = { soft: s, hard: h };
  }
}

function checkName(name: unknown): RlimitName {
  if (typeof name === 'string' && (NAMES as readonly string[]).includes(name)) return name as RlimitName;
  throw new VmmError('EINVAL', `resource must be one of ${NAMES.join(', ')}, got ${describe(name)}`);
}

/** A limit in bytes: a non-negative safe integer, a bigint (2^64 - 1 is RLIM_INFINITY), or Infinity. */
function limitValue(v: unknown, arg: string): number {
  if (v === Infinity) return Infinity;
  if (typeof v === 'bigint') {
    if (v === (1n << 64n) - 1n) return Infinity;
    if (v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  } else if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  throw new VmmError('EINVAL', `${arg} must be a non-negative whole number of bytes or Infinity (RLIM_INFINITY), got ${describe(v)}`);
}
