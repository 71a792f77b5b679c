/**
 * Page replacement as the page shows it. The frame table of each policy is the library's own
 * `runReferenceString` result (the same function `vmsim policy` prints). The hardware bits and
 * the clock hand come from a second, instrumented run of the same experiment — the same
 * machine, options and policy — that reads each resident page's Accessed and Dirty bits from
 * its page-table entry after every reference (a pure walk: reading changes nothing) and the
 * ring of a clock-family policy. Its frames must equal the library's step for step; `agrees`
 * says so, and the page shows a warning where it would not.
 */
import { Machine, PageList, createPolicy, runReferenceString, parseReferenceString, stackDistances, type PolicyName, type PolicyOptions, type ReferenceRunResult } from './lib.js';

/** The bits of one frame after a step. */
export interface FrameBits {
  /** Accessed (R) and Dirty (M) bits of the page's entry. */
  accessed: boolean;
  dirty: boolean;
}

/** One policy's run, step by step. */
export interface PolicyRun {
  policy: PolicyName;
  /** The library's result, exactly as `vmsim policy --json` prints it. */
  result: ReferenceRunResult;
  /** bits[step][frame]: the hardware bits of the page in that frame after that step. */
  bits: FrameBits[][];
  /** hand[step]: the frame under the clock hand after that step (clock-family policies), else undefined. */
  hand: (number | undefined)[];
  /** The instrumented run found the same frames as the library at every step. */
  agrees: boolean;
}

/** The base address runReferenceString maps pages at (its page p is this + p * 4096). */
const BASE = 0x10_0000_0000;

/** Options of a policy as `vmsim policy` gives them (seed for random only). */
export function policyOptionsFor(name: PolicyName, pages: number[], frames: number, seed: number): PolicyOptions {
  const o: PolicyOptions = {};
  if (name === 'opt') o.future = pages.map((p) => BASE / 4096 + p);
  if (name === 'random') o.seed = seed;
  if (name === '2q' || name === 'arc') o.capacity = frames;
  return o;
}

/** Runs `refs` with `frames` frames under `policy`: the library's table plus the bits and the hand. */
export function runPolicy(refs: string, frames: number, policy: PolicyName, seed = 1): PolicyRun {
  const parsed = parseReferenceString(refs);
  const result = runReferenceString(parsed, { frames, policy, ...(policy === 'random' ? { policyOptions: { seed } } : {}), flushAccessed: true, backend: 'js' });
  const { bits, hand, frames: seen } = instrumented(parsed.pages, parsed.writes, frames, policy, seed);
  const agrees = result.steps.every((s, i) => s.frames.length === seen[i]!.length && s.frames.every((p, f) => p === seen[i]![f]));
  return { policy, result, bits, hand, agrees };
}

/** The same experiment as runReferenceString, reading the entries' A/D bits and the policy's ring after each reference. */
function instrumented(pages: number[], writes: boolean[], frames: number, name: PolicyName, seed: number): { bits: FrameBits[][]; hand: (number | undefined)[]; frames: number[][] } {
  const distinct = new Set(pages);
  const maxPage = Math.max(...pages);
  const vpn = (p: number) => BASE / 4096 + p;
  const policy = createPolicy(name, policyOptionsFor(name, pages, frames, seed));
  const ring = (policy as unknown as { ring?: unknown }).ring;
  const m = new Machine({ memory: '16MiB', backend: 'js', swap: { size: (distinct.size + 2) * 4096, pageCluster: 0 } });
  const out = { bits: [] as FrameBits[][], hand: [] as (number | undefined)[], frames: [] as number[][] };
  try {
    const s = m.createAddressSpace({ residentLimit: frames, policy, flushAccessed: true, stack: false });
    s.mmap({ addr: BASE, length: (maxPage + 1) * 4096, prot: 'rw', fixed: true });
    const rs = s.vm.resident!;
    const slots: number[] = [];
    pages.forEach((page, i) => {
      const va = BASE + page * 4096;
      const fault = !rs.tracked.has(vpn(page));
      if (writes[i]) s.write(va, [1]);
      else s.read(va, 1);
      if (fault) {
        const at = slots.findIndex((p) => !rs.tracked.has(vpn(p)));
        slots[at < 0 ? slots.length : at] = page;
      } else s.reference(va, writes[i]);
      out.frames.push([...slots]);
      out.bits.push(slots.map((p) => {
        const t = s.translate(BASE + p * 4096);
        return { accessed: t?.flags.accessed ?? false, dirty: t?.flags.dirty ?? false };
      }));
      const tail = ring instanceof PageList ? ring.tail() : undefined;
      out.hand.push(tail === undefined ? undefined : slots.indexOf(tail - BASE / 4096));
    });
  } finally {
    m.dispose();
  }
  return out;
}

/** One point of the fault curve. */
export interface CurvePoint {
  frames: number;
  faults: number;
}

/** Faults of `policy` for 1..maxFrames frames (each a library run), and Mattson's exact LRU counts. */
export function faultCurve(refs: string, maxFrames: number, policies: PolicyName[], seed = 1): { curves: Map<PolicyName, CurvePoint[]>; mattson: CurvePoint[] } {
  const parsed = parseReferenceString(refs);
  const curves = new Map<PolicyName, CurvePoint[]>();
  for (const p of policies) {
    const pts: CurvePoint[] = [];
    for (let f = 1; f <= maxFrames; f++) {
      const r = runReferenceString(parsed, { frames: f, policy: p, ...(p === 'random' ? { policyOptions: { seed } } : {}), flushAccessed: true, backend: 'js' });
      pts.push({ frames: f, faults: r.faults });
    }
    curves.set(p, pts);
  }
  const sd = stackDistances(parsed.pages);
  const mattson = Array.from({ length: maxFrames }, (_, i) => ({ frames: i + 1, faults: sd.faults(i + 1) }));
  return { curves, mattson };
}
