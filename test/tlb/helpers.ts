/** Shared pieces of the hierarchy tests: random configurations, traces as chunks, dumps of every array. */
import fc from 'fast-check';
import { packRecord, type TraceChunk } from '../../src/trace/trace-record.js';
import type { AddressSpace } from '../../src/vmm/address-space.js';
import type { ReplayTlbOptions } from '../../src/replay/replay-options.js';
import { Slot } from '../../src/tlb/layout.js';

export const BASE = 0x10_0000_0000;

/** [page (4 KiB, from BASE), offset, kind (load, store, fetch, modify), size]. */
export type Rec = [page: number, offset: number, kind: number, size: number];

/** Packs records into chunks of `chunk` records. */
export function chunks(recs: Rec[], chunk: number, base = BASE): TraceChunk[] {
  const out: TraceChunk[] = [];
  for (let s = 0; s < recs.length; s += chunk) {
    const part = recs.slice(s, s + chunk);
    const words = new Uint32Array(part.length * 2);
    part.forEach(([page, off, kind, size], k) => packRecord(words, k, base + page * 4096 + off, kind, size));
    out.push({ words, count: part.length });
  }
  return out;
}

/** Records over `pages` pages spread across a few 2 MiB and 1 GiB blocks (so every walk-cache level sees reuse and conflict). */
export function recordArb(pages: number): fc.Arbitrary<Rec> {
  return fc.tuple(
    fc.integer({ min: 0, max: pages - 1 }).map((p) => (p % 7) * 512 * 3 + (p % 3) * 262144 + Math.floor(p / 7)),
    fc.integer({ min: 0, max: 4095 }),
    fc.integer({ min: 0, max: 3 }),
    fc.constantFrom(1, 4, 8, 64, 4096),
  );
}

const policy = fc.constantFrom('lru', 'plru', 'fifo', 'random') as fc.Arbitrary<'lru' | 'plru' | 'fifo' | 'random'>;

/** One array: sets (including counts that are not powers of two) x ways, a policy (PLRU only with power-of-two ways). */
export function arrayArb(): fc.Arbitrary<{ entries: number; ways: number; policy: 'lru' | 'plru' | 'fifo' | 'random'; seed: number }> {
  return fc.tuple(fc.constantFrom(1, 2, 3, 4, 5, 6, 8), fc.constantFrom(1, 2, 3, 4, 8), policy, fc.integer({ min: 1, max: 1000 })).map(([sets, ways, pol, seed]) => ({
    entries: sets * ways,
    ways,
    policy: pol === 'plru' && (ways & (ways - 1)) !== 0 ? 'lru' : pol,
    seed,
  }));
}

/** A random hierarchy: each array present or not. */
export function tlbOptionsArb(): fc.Arbitrary<ReplayTlbOptions> {
  const opt = fc.option(arrayArb(), { nil: undefined });
  return fc.record({ l1i: opt, l1i2m: opt, l1d: opt, l1d2m: opt, stlb: arrayArb(), stlb1g: opt, l2i: opt, pml4: opt, pdpt: opt, pd: opt }).map((r) => {
    const t: ReplayTlbOptions = { stlb: r.stlb };
    for (const k of ['l1i', 'l1i2m', 'l1d', 'l1d2m', 'stlb1g', 'l2i'] as const) if (r[k]) t[k] = r[k];
    const pwc: NonNullable<ReplayTlbOptions['pwc']> = {};
    for (const k of ['pml4', 'pdpt', 'pd'] as const) if (r[k]) pwc[k] = r[k];
    if (Object.keys(pwc).length > 0) t.pwc = pwc;
    return t;
  });
}

/** Every present array's full state (entries, replacement state) through hierDump. */
export function dumpAll(space: AddressSpace): Array<number[] | null> {
  const core = space.machine.core;
  const out: Array<number[] | null> = [];
  const buf = new Float64Array(5 * (1 << 14) + 2);
  for (let s = 0; s < Slot.COUNT; s++) {
    const n = core.hierDump(s, buf);
    out.push(n < 0 ? null : Array.from(buf.subarray(0, n)));
  }
  return out;
}
