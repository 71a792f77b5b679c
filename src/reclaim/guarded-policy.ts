/**
 * The guard around a user's policy: it keeps its own set of the keys the VMM gave the policy
 * and checks every answer (victims are tracked, distinct, as many as asked when possible),
 * so a misbehaving plug-in is an EINVAL naming the policy and what it did, thrown before the
 * VMM acts on the answer — never a corrupted VMM.
 */
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import type { AccessBits, PolicyKind, ReclaimPolicy } from './policy.js';

/** A user policy checked at every call. */
export class GuardedPolicy implements ReclaimPolicy {
  readonly name: string;
  readonly kind: PolicyKind;
  private readonly tracked = new Set<number>();
  private readonly inner: ReclaimPolicy;

  constructor(inner: unknown) {
    if (inner === null || typeof inner !== 'object') throw new VmmError('EINVAL', `policy must be a policy name or an object implementing ReclaimPolicy, got ${describe(inner)}`);
    const p = inner as Partial<ReclaimPolicy>;
    const label = typeof p.name === 'string' && p.name !== '' ? p.name : undefined;
    if (!label) throw new VmmError('EINVAL', `policy object needs a non-empty string name, got ${describe(p.name)}`);
    if (p.kind !== 'ad-bits' && p.kind !== 'every-reference') throw new VmmError('EINVAL', `policy '${label}': kind must be 'ad-bits' or 'every-reference', got ${describe(p.kind)}`);
    for (const m of ['insert', 'remove', 'select'] as const) {
      if (typeof p[m] !== 'function') throw new VmmError('EINVAL', `policy '${label}' has no ${m}() method`);
    }
    if (p.kind === 'every-reference' && typeof p.reference !== 'function') throw new VmmError('EINVAL', `policy '${label}' is 'every-reference' but has no reference() method`);
    this.name = label;
    this.kind = p.kind;
    this.inner = inner as ReclaimPolicy;
  }

  get size(): number {
    return this.tracked.size;
  }
  insert(key: number, write: boolean): void {
    this.call('insert', () => this.inner.insert(key, write));
    this.tracked.add(key);
  }
  reference(key: number, write: boolean): void {
    if (this.kind !== 'every-reference') return; // A/D-bit policies never see references
    this.call('reference', () => this.inner.reference!(key, write));
  }
  remove(key: number): void {
    this.call('remove', () => this.inner.remove(key));
    this.tracked.delete(key);
  }
  deactivate(key: number): void {
    if (typeof this.inner.deactivate === 'function') this.call('deactivate', () => this.inner.deactivate!(key));
  }
  select(count: number, bits: AccessBits, out: Float64Array, incoming?: number): number {
    const n = this.call('select', () => this.inner.select(count, bits, out, incoming));
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > count) {
      throw new VmmError('EINVAL', `policy '${this.name}': select(${count}) returned ${describe(n)}, not a count from 0 to ${count}`);
    }
    const want = Math.min(count, this.tracked.size);
    if (n < want) throw new VmmError('EINVAL', `policy '${this.name}': select(${count}) chose ${n} victims while ${this.tracked.size} pages are tracked`);
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const key = out[i]!;
      if (!this.tracked.has(key)) throw new VmmError('EINVAL', `policy '${this.name}': select chose page ${key}, which it was not given (or already gave back)`);
      if (seen.has(key)) throw new VmmError('EINVAL', `policy '${this.name}': select chose page ${key} twice`);
      seen.add(key);
    }
    for (const key of seen) this.tracked.delete(key);
    return n;
  }

  private call<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof VmmError) throw e;
      const err = new VmmError('EINVAL', `policy '${this.name}' threw in ${what}(): ${e instanceof Error ? e.message : String(e)}`);
      (err as { cause?: unknown }).cause = e;
      throw err;
    }
  }
}
