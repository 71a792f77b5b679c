/**
 * Replay of several programs at once: one process per trace on one machine, interleaved by a
 * quantum of accesses on per-CPU run queues. Exact, repeatable counts per process, per CPU and
 * for the machine, the same on both backends; with more traces than CPUs the processes are
 * context-switched with Linux's ASIDs; the processes share (and compete for) the machine's memory.
 */
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/index.js';
import { syntheticLackeyTrace } from '../../src/trace/index.js';
import { BACKENDS } from '../backends.js';
import { chunks, type Rec } from '../tlb/helpers.js';

/** Records touching `pages` pages round robin, `n` of them. */
function loop(pages: number, n: number, base = 0): Rec[] {
  return Array.from({ length: n }, (_, i) => [base + (i % pages), 8 * (i % 64), i % 3 === 0 ? 1 : 0, 8] as Rec);
}

describe.each(BACKENDS)('replay([a, b, ...], { cpus }) (%s)', (backend) => {
  it('two traces on two CPUs: each process alone on its CPU, counted as if replayed alone', async () => {
    const a = loop(16, 3000);
    const b = loop(24, 2000, 100);
    const r = await replay([chunks(a, 500), chunks(b, 700)], { backend, cpus: 2, quantum: 256 });
    expect(r.cpuCount).toBe(2);
    expect(r.processes.map((p) => [p.cpu, p.accesses])).toEqual([
      [0, 3000],
      [1, 2000],
    ]);
    const alone = await Promise.all([replay(chunks(a, 500), { backend }), replay(chunks(b, 700), { backend })]);
    for (const k of [0, 1]) {
      const p = r.processes[k]!;
      expect(p.tlb).toMatchObject({ hits: alone[k]!.tlb.hits, misses: alone[k]!.tlb.misses });
      expect([p.walks, p.faults.minor, p.pagesTouched]).toEqual([alone[k]!.walks, alone[k]!.faults.minor, alone[k]!.pagesTouched]);
    }
    expect(r.machine.accesses).toBe(5000);
    expect(r.machine.tlb.hits + r.machine.tlb.misses).toBe(r.processes.reduce((n, p) => n + p.tlb.lookups, 0));
    expect(r.machine.shootdowns.ipisSent).toBe(0); // separate processes never share a TLB entry
  });

  it('more traces than CPUs: round robin by quantum, context switches with six ASIDs per CPU', async () => {
    const traces = Array.from({ length: 8 }, (_, i) => chunks(loop(8, 1000, i * 8), 250));
    const r = await replay(traces, { backend, cpus: 1, quantum: 100 });
    expect(r.processes.every((p) => p.cpu === 0 && p.slices === 10)).toBe(true);
    // Eight processes round robin on one CPU with six ASIDs: every switch takes an ASID another one held (choose_new_asid), so it flushes.
    expect(r.cpus[0]!.switchFlushes).toBe(80);
    const six = await replay(traces.slice(0, 6), { backend, cpus: 1, quantum: 100 });
    expect(six.cpus[0]!.switchFlushes).toBe(0); // their first switches (at setup) took the six ASIDs: none flushes again
    expect(six.processes[0]!.tlb.misses).toBeLessThan(r.processes[0]!.tlb.misses);
  });

  it('the results are exact and repeatable, and the same on both backends', async () => {
    const traces = () => [syntheticLackeyTrace({ records: 4000, seed: 1 }), syntheticLackeyTrace({ records: 3000, seed: 2 }), syntheticLackeyTrace({ records: 2000, seed: 3 })].map((t) => new TextEncoder().encode(t));
    const strip = (x: Awaited<ReturnType<typeof replay>> & { timeMs: number }) => JSON.stringify({ ...x, timeMs: 0, nsPerAccess: 0, backend: '' });
    const runs = await Promise.all(BACKENDS.map((b) => replay(traces(), { backend: b, cpus: 2, quantum: 333 })));
    for (const x of runs.slice(1)) expect(strip(x as never)).toBe(strip(runs[0] as never));
    expect(strip((await replay(traces(), { backend, cpus: 2, quantum: 333 })) as never)).toBe(strip(runs[0] as never));
  });

  it('the processes compete for the machine memory: with swap and little RAM, reclaim evicts from each', async () => {
    // Writes only: each page is written at its first touch (a page read first maps the zero page).
    const writes = (pages: number, n: number, base: number): Rec[] => loop(pages, n, base).map(([p, o, , s]) => [p, o, 1, s] as Rec);
    const traces = Array.from({ length: 3 }, (_, i) => chunks(writes(1000, 4000, i * 2000), 1000));
    const r = await replay(traces, { backend, cpus: 2, quantum: 500, memory: '8MiB', frames: 100_000, swap: '16MiB' });
    expect(r.processes.every((p) => p.accesses === 4000)).toBe(true);
    expect(r.processes.every((p) => (p.swap?.out ?? 0) > 0)).toBe(true);
    expect(r.machine.framesUsed).toBeLessThan(2048);
  });

  it('refuses bad options naming them', async () => {
    const t = [chunks(loop(4, 10), 10), chunks(loop(4, 10), 10)];
    await expect(replay(t, { backend, cpus: 0 })).rejects.toThrow(/options\.cpus/);
    await expect(replay(t, { backend, quantum: 0 })).rejects.toThrow(/options\.quantum/);
    await expect(replay(t, { backend, seriesEvery: 10 } as never)).rejects.toThrow(/seriesEvery/);
    await expect(replay(t, { backend, frames: 10, policy: 'opt' })).rejects.toThrow(/opt/);
    // A list that is not all traces is one trace of chunks: its elements must be chunks.
    await expect(replay([chunks(loop(4, 10), 10), 42 as never], { backend })).rejects.toThrow(/trace chunk must be/);
  });
});
