/**
 * The guard around a user's policy: it keeps its own set of the keys the VMM gave the policy
 * and checks every answer (victims are tracked, distinct, as many as asked when possible),
 * so a misbehaving plug-in is an EINVAL naming the policy and what it did, thrown before the
 * VMM acts on the answer — never a corrupted VMM.
 *
 * A plug-in is told of pages (insert, remove, deactivate) only when the VMM is consistent: the
 * notifications are queued while an operation changes state and delivered after it
 * (`flush`, which the VMM calls when the operation is complete) or before the next select(),
 * whichever comes first. A plug-in that throws there cannot leave the VMM half-changed: every
 * queued notification is still delivered, the guard's own key set already matches the VMM's,
 * and the first error is thrown once all are out. While plug-in code runs, `gate.depth` is
 * above zero: the VMM refuses re-entry (a policy that maps, unmaps or faults from inside its
 * own callbacks) with EBUSY.
 */
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import type { AccessBits, PolicyKind, ReclaimPolicy } from './policy.js';

/** Set while plug-in code runs (depth > 0), with what it is running: the VMM refuses re-entry then. */
export interface PluginGate {
  depth: number;
  /** What runs, e.g. "policy 'mine' select()" (meaningful while depth > 0). */
  running: string;
}

/** Queued notifications: an op code per key (INSERT_W is an insert of a written page). */
const INSERT = 0;
const INSERT_W = 1;
const REMOVE = 2;
const DEACTIVATE = 3;
const OP_NAMES = ['insert', 'insert', 'remove', 'deactivate'];

/** A user policy checked at every call. */
export class GuardedPolicy implements ReclaimPolicy {
  readonly name: string;
  readonly kind: PolicyKind;
  private readonly tracked = new Set<number>();
  private readonly inner: ReclaimPolicy;
  /** Notifications not yet delivered, in order: op codes and keys. */
  private ops: number[] = [];
  private keys: number[] = [];
  /** @internal Where the machine learns that plug-in code runs (set by the resident set). */
  gate: PluginGate = { depth: 0, running: '' };

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
  /** Queues the insert (delivered by flush or before the next select). */
  insert(key: number, write: boolean): void {
    this.tracked.add(key);
    this.ops.push(write ? INSERT_W : INSERT);
    this.keys.push(key);
  }
  /** A reference is delivered now (it is told between operations, by drivers), after what is queued. */
  reference(key: number, write: boolean): void {
    if (this.kind !== 'every-reference') return; // A/D-bit policies never see references
    this.flush();
    this.call('reference', () => this.inner.reference!(key, write));
  }
  /** Queues the remove of a key the policy was given (any other key is nothing to the policy). */
  remove(key: number): void {
    if (!this.tracked.delete(key)) return;
    this.ops.push(REMOVE);
    this.keys.push(key);
  }
  /** Queues a deactivate (MADV_COLD) when the plug-in has the method. */
  deactivate(key: number): void {
    if (typeof this.inner.deactivate !== 'function' || !this.tracked.has(key)) return;
    this.ops.push(DEACTIVATE);
    this.keys.push(key);
  }

  /** @internal Notifications waiting for delivery. */
  get pending(): number {
    return this.ops.length;
  }

  /**
   * Delivers the queued notifications, in order, every one even when some throw; then throws
   * the first error (an EINVAL naming the policy, the plug-in's error as cause). `after` names
   * the operation that completed before the plug-in was told (for the message).
   */
  flush(after?: string): void {
    if (this.ops.length === 0) return;
    const ops = this.ops;
    const keys = this.keys;
    this.ops = [];
    this.keys = [];
    let first: unknown;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const key = keys[i]!;
      try {
        if (op === REMOVE) this.call('remove', () => this.inner.remove(key), after);
        else if (op === DEACTIVATE) this.call('deactivate', () => this.inner.deactivate!(key), after);
        else this.call(OP_NAMES[op]!, () => this.inner.insert(key, op === INSERT_W), after);
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== undefined) throw first;
  }

  /** @internal Forgets what is queued (the process is gone: its policy is told nothing more). */
  discard(): void {
    this.ops = [];
    this.keys = [];
  }

  select(count: number, bits: AccessBits, out: Float64Array, incoming?: number): number {
    this.flush(); // the plug-in knows every page before it is asked for victims
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

  /** Runs plug-in code with the gate raised; its throw becomes an EINVAL naming the policy, with the throw as cause. */
  private call<T>(what: string, f: () => T, after?: string): T {
    const gate = this.gate;
    const outer = gate.running;
    gate.depth++;
    gate.running = `policy '${this.name}' ${what}()`;
    try {
      return f();
    } catch (e) {
      const done = after ? ` (told after the ${after} was done, which stands)` : '';
      throw new VmmError('EINVAL', `policy '${this.name}' threw in ${what}()${done}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    } finally {
      gate.depth--;
      gate.running = outer;
    }
  }
}
