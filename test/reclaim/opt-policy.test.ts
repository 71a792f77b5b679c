/**
 * OptPolicy on its own: its future in typed arrays, exact matching (reference strings) versus
 * 'skip' matching (trace replay: references the VMM never reports are passed over, and pages
 * whose next use was passed over get their real one), a put-back after select, and rewind.
 */
import { describe, expect, it } from 'vitest';
import { OptPolicy } from '../../src/reclaim/policies/opt.js';
import { NEVER, OptFuture, OptFutureBuilder } from '../../src/reclaim/policies/opt-future.js';
import type { AccessBits } from '../../src/reclaim/policy.js';
import { VmmError } from '../../src/errors.js';

const NO_BITS: AccessBits = { read: () => undefined, clearAccessed: () => undefined };

function victim(p: OptPolicy): number {
  const out = new Float64Array(1);
  expect(p.select(1, NO_BITS, out)).toBe(1);
  return out[0]!;
}

describe('OptFuture', () => {
  it('links each position to the next reference of its key, in Int32Arrays (8 bytes a reference)', () => {
    const f = OptFuture.from([7, 9, 7, 8, 9, 7]);
    expect(f.ids).toBeInstanceOf(Int32Array);
    expect(f.nextAt).toBeInstanceOf(Int32Array);
    expect([...f.nextAt]).toEqual([2, 4, 5, NEVER, NEVER, NEVER]);
    expect([...f.firstAt]).toEqual([0, 1, 3]);
    expect([...f.keys]).toEqual([7, 9, 8]);
    expect(f.ids.byteLength + f.nextAt.byteLength).toBe(8 * 6);
    expect(f.match).toBe('exact');
  });

  it('the builder grows from a small start and gives the same future', () => {
    const keys = Array.from({ length: 5000 }, (_, i) => (i * 7919) % 1201);
    const b = new OptFutureBuilder(4);
    for (const k of keys) b.push(k);
    const f = b.finish('skip');
    const g = OptFuture.from(keys, 'skip');
    expect([...f.nextAt]).toEqual([...g.nextAt]);
    expect([...f.ids]).toEqual([...g.ids]);
    expect(f.length).toBe(5000);
    expect(f.keys.length).toBe(1201);
  });
});

describe('OptPolicy', () => {
  it('evicts the page used farthest ahead; ties (never again) go to the page loaded earliest', () => {
    const p = new OptPolicy([1, 2, 3, 4, 2, 1]);
    p.insert(1, false);
    p.insert(2, false);
    p.insert(3, false);
    expect(victim(p)).toBe(3); // 3 is never used again
    p.insert(4, false);
    p.reference(2, false);
    p.reference(1, false);
    expect(p.size).toBe(3);
    expect(victim(p)).toBe(1); // all three are never used again: 1 was loaded earliest
    expect(victim(p)).toBe(2);
  });

  it("exact matching refuses a reference that differs, and changes nothing", () => {
    const p = new OptPolicy([1, 2, 1]);
    p.insert(1, false);
    expect(() => p.insert(9, false)).toThrow(VmmError);
    expect(p.size).toBe(1);
    p.insert(2, false); // still expected at #1
    p.reference(1, false);
    expect(() => p.reference(1, false)).toThrow(/past the end/);
  });

  it("'skip' matching passes over references never told, and refreshes resident pages whose next use was passed over", () => {
    // Positions 2 (page 3) and 3 (page 2) are never told (refused accesses).
    const p = new OptPolicy(OptFuture.from([1, 2, 3, 2, 1, 3, 1], 'skip'));
    p.insert(1, false);
    p.insert(2, false);
    p.reference(1, false); // position 4: page 2's next use (3) was passed over; it has none after 4
    expect(victim(p)).toBe(2); // never again, while page 1 is used at 6
  });

  it("'skip' matching takes pages the future never mentions as never used again", () => {
    const p = new OptPolicy(OptFuture.from([1, 2, 1, 2], 'skip'));
    p.insert(1, false);
    p.insert(99, false);
    p.insert(2, false);
    expect(victim(p)).toBe(99);
    p.remove(2);
    p.remove(2); // twice: nothing
    expect(p.size).toBe(1);
  });

  it('a page put back right after select keeps its place and consumes no reference (exact mode does not fail)', () => {
    const p = new OptPolicy([1, 2, 3, 1]);
    p.insert(1, false);
    p.insert(2, false);
    expect(victim(p)).toBe(2);
    p.insert(2, false); // the put-back (swap full)
    expect(p.size).toBe(2);
    expect(victim(p)).toBe(2); // still the farthest
    p.insert(3, false); // position 2: the sequence is intact
    p.reference(1, false);
  });

  it('rewind restarts the future: resident pages get their first occurrence as next use', () => {
    const p = new OptPolicy(OptFuture.from([5, 6, 5, 7], 'skip'));
    p.insert(7, false); // before the trace (replay's setup)
    p.insert(6, false);
    p.rewind();
    p.insert(5, false); // position 0
    // 7 is used at 3, 6 at 1 (then never), 5 at 2: the farthest is 7.
    expect(victim(p)).toBe(7);
  });

  it('stale heap entries are dropped as references pile up (the heap stays near the resident count)', () => {
    const keys = Array.from({ length: 20000 }, (_, i) => i % 3);
    const p = new OptPolicy(OptFuture.from(keys));
    p.insert(0, false);
    p.insert(1, false);
    p.insert(2, false);
    for (let i = 3; i < keys.length; i++) p.reference(keys[i]!, false);
    expect((p as unknown as { hn: number }).hn).toBeLessThanOrEqual(4 * 3 + 64 + 1);
    expect(p.size).toBe(3);
  });
});

describe('OptFuture and OptFutureBuilder refuse bad input', () => {
  it('a bad expected size, key or match is an EINVAL naming it; a spent builder refuses more', () => {
    expect(() => new OptFutureBuilder(2 ** 40)).toThrow(/EINVAL.*expected/);
    expect(() => new OptFutureBuilder(-1)).toThrow(/EINVAL.*expected/);
    expect(() => new OptFutureBuilder(1.5)).toThrow(/EINVAL.*expected/);
    const b = new OptFutureBuilder(4);
    expect(() => b.push(-1)).toThrow(/EINVAL.*key/);
    expect(() => b.push(0.5)).toThrow(/EINVAL.*key/);
    expect(() => b.push(Number.NaN)).toThrow(/EINVAL.*key/);
    b.push(3);
    expect(() => b.finish('bogus' as never)).toThrow(/EINVAL.*match/);
    const f = b.finish('skip');
    expect(f.length).toBe(1);
    expect(() => b.push(4)).toThrow(/EINVAL.*finish\(\) was called/);
    expect(() => b.finish('skip')).toThrow(/EINVAL.*finish\(\) was called/);
    expect(f.idOf.size).toBe(1); // the future given out is unchanged
    expect(() => OptFuture.from([1, 2], 'nope' as never)).toThrow(/EINVAL.*match/);
    expect(() => OptFuture.from(null as never)).toThrow(/EINVAL.*keys/);
    expect(OptFuture.from(Float64Array.of(5, 6, 5), 'exact').length).toBe(3);
  });
});
