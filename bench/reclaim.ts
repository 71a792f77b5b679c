/**
 * Reclaim pieces: the cost of a policy decision (a policy object driven over a reference
 * string, A/D bits kept in a Map as the hardware would set them) next to a plain JS loop
 * that simulates the same policy with a Map; Mattson's one pass for every size vs one LRU
 * run per size; and a page through zswap (DEFLATE level 1) and through the swap device.
 */
import { createPolicy } from '../src/reclaim/registry.js';
import { ACCESSED, type AccessBits, type PolicyName } from '../src/reclaim/policy.js';
import { stackDistances } from '../src/reclaim/stack-distance.js';
import { Zswap } from '../src/reclaim/zswap.js';
import { SwapDevice } from '../src/reclaim/swap-device.js';
import { nsPerOp, type Figure } from './harness.js';

const REFS = 200_000;
const PAGES = 4096;
const FRAMES = 1024;

/** A reference string with locality: 80% of references to 20% of the pages. */
function refString(): Float64Array {
  const r = new Float64Array(REFS);
  let s = 12345;
  for (let i = 0; i < REFS; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const hot = (s & 0xff) < 205;
    s = (s * 1103515245 + 12345) >>> 0;
    r[i] = hot ? s % (PAGES / 5) : s % PAGES;
  }
  return r;
}

/** Runs the policy object over refs; returns faults. */
function runObject(name: PolicyName, refs: Float64Array): number {
  const policy = createPolicy(name, name === 'opt' ? { future: refs } : name === 'arc' || name === '2q' ? { capacity: FRAMES } : {});
  const bits = new Map<number, number>();
  const access: AccessBits = {
    read(keys, n, out) {
      for (let i = 0; i < n; i++) out[i] = bits.get(keys[i]!)!;
    },
    clearAccessed(keys, n) {
      for (let i = 0; i < n; i++) bits.set(keys[i]!, bits.get(keys[i]!)! & ~ACCESSED);
    },
  };
  const out = new Float64Array(1);
  let faults = 0;
  for (let i = 0; i < refs.length; i++) {
    const p = refs[i]!;
    const b = bits.get(p);
    if (b !== undefined) {
      bits.set(p, b | ACCESSED);
      policy.reference?.(p, false);
      continue;
    }
    faults++;
    if (bits.size >= FRAMES) {
      policy.select(1, access, out, p);
      bits.delete(out[0]!);
    }
    policy.insert(p, false);
    bits.set(p, ACCESSED);
  }
  return faults;
}

/** LRU with a JS Map (insertion order = recency): the plain loop a student would write. */
function mapLru(refs: Float64Array, frames: number): number {
  const m = new Map<number, true>();
  let faults = 0;
  for (let i = 0; i < refs.length; i++) {
    const p = refs[i]!;
    if (m.delete(p)) {
      m.set(p, true);
      continue;
    }
    faults++;
    if (m.size >= frames) m.delete(m.keys().next().value!);
    m.set(p, true);
  }
  return faults;
}

/** FIFO with a JS Map. */
function mapFifo(refs: Float64Array): number {
  const m = new Map<number, true>();
  let faults = 0;
  for (let i = 0; i < refs.length; i++) {
    const p = refs[i]!;
    if (m.has(p)) continue;
    faults++;
    if (m.size >= FRAMES) m.delete(m.keys().next().value!);
    m.set(p, true);
  }
  return faults;
}

/** Policy decisions, Mattson, zswap and the device: ns per reference / per page. */
export function benchReclaim(): Figure[] {
  const refs = refString();
  if (runObject('lru', refs) !== mapLru(refs, FRAMES) || runObject('fifo', refs) !== mapFifo(refs)) throw new Error('bench: policy and Map loop disagree');
  const figures: Figure[] = [];
  for (const [name, plain] of [['lru', () => mapLru(refs, FRAMES)], ['fifo', () => mapFifo(refs)]] as const) {
    figures.push({ name: `reference string, ${name} (${FRAMES} frames)`, unit: 'ns/ref', values: { policy: nsPerOp(() => runObject(name, refs), REFS), map: nsPerOp(plain, REFS) } });
  }
  for (const name of ['clock', 'linux', 'mglru', 'arc', 'opt'] as const) {
    figures.push({ name: `reference string, ${name}`, unit: 'ns/ref', values: { policy: nsPerOp(() => runObject(name, refs), REFS, 3) } });
  }
  const sizes = [64, 128, 256, 512, 1024, 2048, 4096];
  figures.push({
    name: `LRU curve at ${sizes.length} sizes`,
    unit: 'ns/ref',
    values: { policy: nsPerOp(() => stackDistances(refs).faults(64), REFS, 3), map: nsPerOp(() => sizes.forEach((s) => mapLru(refs, s)), REFS, 3) },
    note: 'policy = Mattson, one pass for every size; map = one Map-LRU run per size',
  });

  // A page of program-like data: small integers and pointers.
  const page = new Uint8Array(4096);
  const v = new DataView(page.buffer);
  for (let i = 0; i < 4096; i += 8) v.setBigUint64(i, i % 64 === 0 ? 0x5555_5555_9000n + BigInt(i) : BigInt(i & 0xff), true);
  const N = 2000;
  const z = new Zswap(2 ** 34, {}, () => undefined);
  const back = new Uint8Array(4096);
  const store = nsPerOp(() => { for (let i = 0; i < N; i++) z.store(i + 1, page); }, N, 3);
  figures.push({ name: 'zswap store (deflate level 1)', unit: 'ns/page', values: { policy: store }, note: `compression ratio ${z.stats().compression_ratio.toFixed(2)} on a page of small integers and pointers` });
  figures.push({ name: 'zswap store + load (inflate)', unit: 'ns/page', values: { policy: nsPerOp(() => { for (let i = 0; i < N; i++) { z.store(i + 1, page); z.load(i + 1, back); } }, N, 3) } });
  const dev = new SwapDevice({ size: (N + 1) * 4096 });
  figures.push({ name: 'swap device write + read (memory)', unit: 'ns/page', values: { policy: nsPerOp(() => { for (let i = 0; i < N; i++) { dev.write(i + 1, page); dev.read(i + 1, back); } }, N, 3) } });
  dev.close();
  return figures;
}
