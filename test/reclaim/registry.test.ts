/** Bad inputs to the policy registry and a misbehaving plug-in: clear EINVALs. */
import { describe, expect, it } from 'vitest';
import { createPolicy, resolvePolicy, isPolicyName, policySummary, POLICY_NAMES } from '../../src/reclaim/registry.js';
import type { AccessBits, ReclaimPolicy } from '../../src/reclaim/policy.js';
import { VmmError } from '../../src/errors.js';
import { runPolicy } from './policy-driver.js';

const NO_BITS: AccessBits = { read: () => undefined, clearAccessed: () => undefined };

function einval(f: () => unknown, msg: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(VmmError);
  expect((err as VmmError).code).toBe('EINVAL');
  expect((err as VmmError).message).toMatch(msg);
}

describe('createPolicy', () => {
  it('knows the thirteen names in lower case, each with a summary', () => {
    expect([...POLICY_NAMES].sort()).toEqual(['2q', 'aging', 'arc', 'clock', 'fifo', 'lfu', 'linux', 'lru', 'mglru', 'nru', 'opt', 'random', 'wsclock']);
    for (const n of POLICY_NAMES) expect(policySummary(n).length).toBeGreaterThan(5);
    expect(isPolicyName('LRU')).toBe(false);
    expect(isPolicyName('toString')).toBe(false);
  });

  it('refuses unknown names, listing the known ones', () => {
    einval(() => createPolicy('lru2' as never), /unknown policy string "lru2" \(known: fifo, clock/);
    einval(() => createPolicy('toString' as never), /unknown policy/);
    einval(() => createPolicy(undefined as never), /unknown policy undefined/);
  });

  it('refuses options the policy does not take, and bad values', () => {
    einval(() => createPolicy('fifo', { seed: 1 }), /policy 'fifo' takes no option 'seed'/);
    einval(() => createPolicy('random', { tau: 1 } as never), /takes no option 'tau' \(it takes: capacity, seed\)/);
    einval(() => createPolicy('fifo', null as never), /policy options must be an object/);
    einval(() => createPolicy('2q', {}), /'2q' needs capacity/);
    einval(() => createPolicy('arc', { capacity: 0 }), /capacity must be an integer from 1/);
    einval(() => createPolicy('arc', { capacity: -3 }), /capacity must be an integer from 1/);
    einval(() => createPolicy('lru', { capacity: 2.5 }), /capacity must be an integer/);
    einval(() => createPolicy('opt'), /'opt' needs future/);
    einval(() => createPolicy('opt', { future: 5 as never }), /'opt' needs future/);
    einval(() => createPolicy('aging', { bits: 33 }), /bits must be an integer from 1 to 32/);
    einval(() => createPolicy('aging', { bits: 0 }), /bits must be an integer from 1 to 32/);
    einval(() => createPolicy('wsclock', { tau: 0 }), /tau must be/);
    einval(() => createPolicy('linux', { inactiveRatio: 0 }), /inactiveRatio must be/);
    einval(() => createPolicy('random', { seed: -1 }), /seed must be a non-negative integer/);
  });

  it('opt refuses a reference that differs from the future it was given', () => {
    const p = createPolicy('opt', { future: [1, 2, 3] });
    p.insert(1, false);
    einval(() => p.insert(5, false), /opt: reference #1 is page 5, but the future given says page 2/);
    p.insert(2, false);
    p.insert(3, false);
    einval(() => p.reference!(3, false), /past the end of the future given \(3 references\)/);
  });
});

/** A plug-in with one fault injected. */
function plugin(bug: 'none' | 'untracked' | 'twice' | 'short' | 'count' | 'throws'): ReclaimPolicy {
  const keys: number[] = [];
  return {
    name: `buggy-${bug}`,
    kind: 'ad-bits',
    get size() {
      return keys.length;
    },
    insert(key) {
      keys.push(key);
    },
    remove(key) {
      keys.splice(keys.indexOf(key), 1);
    },
    select(count, _bits, out) {
      if (bug === 'throws') throw new RangeError('oops');
      if (bug === 'count') return -1;
      if (bug === 'short') return 0;
      if (bug === 'untracked') {
        out[0] = 999;
        return 1;
      }
      if (bug === 'twice') {
        out[0] = keys[0]!;
        out[1] = keys[0]!;
        return 2;
      }
      let n = 0;
      while (n < count && keys.length) out[n++] = keys.shift()!;
      return n;
    },
  };
}

describe('user plug-ins', () => {
  it('a well-behaved plug-in works like the built-in it imitates', () => {
    const refs = [7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1];
    expect(runPolicy(resolvePolicy(plugin('none')), refs, 3).faults).toBe(15);
  });

  it('misbehaviour is an EINVAL naming the policy and what it did', () => {
    const out = new Float64Array(4);
    const setup = (bug: Parameters<typeof plugin>[0]) => {
      const p = resolvePolicy(plugin(bug));
      p.insert(1, false);
      p.insert(2, false);
      return p;
    };
    einval(() => setup('untracked').select(1, NO_BITS, out), /policy 'buggy-untracked': select chose page 999, which it was not given/);
    einval(() => setup('twice').select(2, NO_BITS, out), /select chose page 1 twice/);
    einval(() => setup('short').select(1, NO_BITS, out), /chose 0 victims while 2 pages are tracked/);
    einval(() => setup('count').select(1, NO_BITS, out), /returned number -1, not a count from 0 to 1/);
    einval(() => setup('throws').select(1, NO_BITS, out), /policy 'buggy-throws' threw in select\(\): oops/);
  });

  it('a guarded policy keeps its own count of tracked pages after a refused answer', () => {
    const p = resolvePolicy(plugin('untracked'));
    p.insert(1, false);
    expect(() => p.select(1, NO_BITS, new Float64Array(1))).toThrow(VmmError);
    expect(p.size).toBe(1);
  });

  it('refuses objects that are not policies', () => {
    einval(() => resolvePolicy(42 as never), /policy must be a policy name or an object/);
    einval(() => resolvePolicy({} as never), /needs a non-empty string name/);
    einval(() => resolvePolicy({ name: 'x', kind: 'psychic' } as never), /kind must be 'ad-bits' or 'every-reference'/);
    einval(() => resolvePolicy({ name: 'x', kind: 'ad-bits', insert() {}, remove() {} } as never), /policy 'x' has no select\(\) method/);
    einval(() => resolvePolicy({ name: 'x', kind: 'every-reference', insert() {}, remove() {}, select: () => 0 } as never), /no reference\(\) method/);
  });
});
