/** Issue 2 benchmarks: the MMU access path on each backend. */
import { Machine } from '../src/index.js';
import type { Core } from '../src/core/core.js';
import { nsPerOp, type Figure } from './harness.js';

const N = 1 << 20;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

function setup(backend: 'native' | 'js', pages: number, tlbEntries: number) {
  const m = new Machine({ memory: '1GiB', backend, tlb: { entries: tlbEntries, ways: 4 } });
  const s = m.createAddressSpace();
  const base = 0x10_0000_0000;
  for (let i = 0; i < pages; i++) s.mapPage(base + i * 4096, m.physical.allocFrame(), { writable: true, user: true });
  const rnd = lcg(42);
  const addrs = new Float64Array(N);
  const kinds = new Uint8Array(N);
  for (let i = 0; i < N; i++) {
    addrs[i] = base + (rnd() % pages) * 4096 + (rnd() & 0xff8);
    kinds[i] = rnd() % 4 === 0 ? 1 : 0;
  }
  // Warm: set A/D everywhere so later writes need no D walk.
  for (let i = 0; i < pages; i++) s.write(base + i * 4096, [0]);
  return { m, s, addrs, kinds };
}

/** Runs the MMU benchmarks for the available backends. */
export function benchMmu(backends: ('native' | 'js')[]): Figure[] {
  const hit: Record<string, number> = {};
  const walk: Record<string, number> = {};
  const single: Record<string, number> = {};
  const singleMiss: Record<string, number> = {};
  const naive: Record<string, number> = {};
  const read8: Record<string, number> = {};
  const readInto8: Record<string, number> = {};
  const load32: Record<string, number> = {};
  for (const b of backends) {
    // 32 pages in a 64-entry TLB: every access hits.
    {
      const { s, addrs, kinds } = setup(b, 32, 64);
      hit[b] = nsPerOp(() => void s.accessBatch(addrs, kinds), N);
      // Per-call figures: the loop a user writes (local index, the address loaded from an
      // array), best of 7 rounds of 500k calls, so a short burst of VM noise does not decide.
      const M = 500_000;
      const R = 7;
      single[b] = nsPerOp(() => {
        for (let k = 0, i = 0; k < M; k++) s.access(addrs[(i = (i + 1) & (N - 1))]!, 'read');
      }, M, R);
      read8[b] = nsPerOp(() => {
        for (let k = 0, i = 0; k < M; k++) s.read(addrs[(i = (i + 1) & (N - 1))]!, 8);
      }, M, R);
      const buf = new Uint8Array(8);
      readInto8[b] = nsPerOp(() => {
        for (let k = 0, i = 0; k < M; k++) s.readInto(addrs[(i = (i + 1) & (N - 1))]!, buf);
      }, M, R);
      load32[b] = nsPerOp(() => {
        for (let k = 0, i = 0; k < M; k++) s.load(addrs[(i = (i + 1) & (N - 1))]!);
      }, M, R);
      const core = (s.machine as unknown as { core: Core }).core;
      naive[b] = nsPerOp(() => {
        for (let k = 0, i = 0; k < M; k++) core.access(addrs[(i = (i + 1) & (N - 1))]!, 0, 1);
      }, M, R);
    }
    // 65536 pages through a 16-entry TLB: nearly every access walks.
    {
      const { s, addrs, kinds } = setup(b, 65536, 16);
      walk[b] = nsPerOp(() => void s.accessBatch(addrs, kinds), N, 3);
      const M = 100_000;
      let i = 0; // carried across rounds: each round meets pages the TLB has not seen lately
      singleMiss[b] = nsPerOp(() => {
        for (let k = 0; k < M; k++) s.access(addrs[(i = (i + 1) & (N - 1))]!, 'read');
      }, M, 3);
    }
  }
  return [
    { name: 'accessBatch, TLB hits', values: hit, unit: 'ns/access', note: 'target: native <= 5 ns and >= 5x js' },
    { name: 'accessBatch, page walks', values: walk, unit: 'ns/access', note: 'target: native <= 30 ns' },
    { name: 'access() from JS, TLB hit', values: single, unit: 'ns/call', note: 'JS fast path over the shared TLB arrays; target < 50 ns' },
    { name: 'read(va, 8) from JS, TLB hit', values: read8, unit: 'ns/call', note: 'allocates the result array' },
    { name: 'readInto(va, buf8) from JS, TLB hit', values: readInto8, unit: 'ns/call', note: 'no allocation; target < 50 ns' },
    { name: 'load(va) (4 bytes) from JS, TLB hit', values: load32, unit: 'ns/call', note: 'an integer, no buffer: the emulator load; target < 50 ns' },
    { name: 'naive core.access() per access, hit', values: naive, unit: 'ns/call', note: 'one native crossing per access: what the fast path avoids' },
    { name: 'access() from JS, TLB miss', values: singleMiss, unit: 'ns/call' },
  ];
}
