/** vmsim annotate: every TLB miss, walk and fault charged to one region and one instruction, exactly, with the replay's own totals. */
import { describe, expect, it } from 'vitest';
import { annotate, type AnnotateResult } from '../../src/annotate/index.js';
import { replay } from '../../src/replay/replay.js';
import { main } from '../../src/cli/main.js';
import { sumEvents } from '../../src/annotate/attribution.js';
import { BACKENDS } from '../backends.js';
import { Readable } from 'node:stream';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

/** The totals add up, by region and by instruction, to the replay's own counts. */
function expectConsistent(a: AnnotateResult): void {
  const r = a.result;
  expect(a.totals).toEqual({ accesses: r.accesses, misses: r.tlb.misses, walks: r.walks, faults: r.faults.total });
  expect(sumEvents(a.regions)).toEqual(a.totals);
  expect(sumEvents([...a.instructions, a.beforeFirstInstruction])).toEqual(a.totals);
}

/** A lackey trace: instructions on `codePages` pages, each loading from a data page of a cycle longer than the TLB holds. */
function lackeyLoads(n: number): { text: string; expected: Map<number, { misses: number; faults: number }> } {
  const lines: string[] = [];
  // The oracle: a 64-entry 4-way LRU TLB (16 sets by vpn) over page touches; a page's first touch faults (demand paging).
  const sets = Array.from({ length: 16 }, () => [] as number[]);
  const seen = new Set<number>();
  const expected = new Map<number, { misses: number; faults: number }>();
  const touch = (instr: number, vpn: number) => {
    const set = sets[vpn % 16]!;
    const at = set.indexOf(vpn);
    const e = expected.get(instr) ?? { misses: 0, faults: 0 };
    if (at >= 0) set.splice(at, 1);
    else {
      e.misses++;
      if (set.length === 4) set.shift();
    }
    set.push(vpn);
    if (!seen.has(vpn)) {
      seen.add(vpn);
      e.faults++;
    }
    expected.set(instr, e);
  };
  for (let i = 0; i < n; i++) {
    const instr = 0x400000 + (Math.floor(i / 10) % 37) * 0x1000 + (i % 5) * 4;
    const data = 0x10000000 + ((Math.floor(i / 7) * 13) % 90) * 0x1000 + (i % 8) * 8;
    lines.push(`I  ${instr.toString(16)},4`, ` L ${data.toString(16)},8`);
    touch(instr, Math.floor(instr / 4096));
    touch(instr, Math.floor(data / 4096));
  }
  return { text: lines.join('\n') + '\n', expected };
}

describe('annotate', () => {
  it.each(BACKENDS)('charges each miss and fault to the instruction that made it, as an LRU TLB model predicts (%s)', async (backend) => {
    const { text, expected } = lackeyLoads(4000);
    const a = await annotate(Readable.from([Buffer.from(text)]), { backend });
    expectConsistent(a);
    const got = new Map(a.instructions.filter((i) => i.misses + i.faults > 0).map((i) => [Number(i.address), { misses: i.misses, faults: i.faults }]));
    expect(got).toEqual(new Map([...expected].filter(([, e]) => e.misses + e.faults > 0)));
    // The windows: runs of certain hits plus single records, far fewer than the records.
    expect(a.windows).toBeLessThan(a.result.accesses / 2);
  });

  it('has the totals of a plain replay, on the shipped trace, with one TLB, a hierarchy and under a resident limit', async () => {
    for (const options of [{}, { cpu: 'skylake' }, { frames: 48, policy: 'clock' as const, swap: '16MiB' }]) {
      const a = await annotate('traces/ls.lackey.gz', options);
      expectConsistent(a);
      const r = await replay('traces/ls.lackey.gz', options);
      expect({ ...a.result, timeMs: 0, nsPerAccess: 0 }).toEqual({ ...r, timeMs: 0, nsPerAccess: 0 });
      expect(a.regions.map((g) => g.line)).toEqual(expect.arrayContaining([expect.stringMatching(/\[stack\]$/)]));
      if (options.frames) expect(a.totals.faults).toBeGreaterThan(a.result.faults.minor);
    }
  });

  it('charges refused accesses and records before the first instruction apart; a trace without I records has no instruction', async () => {
    const text = ' L 10,8\n L 7ff000100,8\nI  400000,4\n S 0,8\n L 601000,8\n';
    const a = await annotate(Readable.from([Buffer.from(text)]));
    expectConsistent(a);
    expect(a.beforeFirstInstruction.accesses).toBe(2);
    expect(a.regions.at(-1)).toMatchObject({ line: '(no region: refused accesses)', accesses: 2 });
    expect(a.instructions.map((i) => [i.address, i.accesses])).toEqual([['0x400000', 3]]);
    const data = await annotate(Readable.from([Buffer.from('0x601000\n0x602000 W\n')]));
    expect(data.instructions).toEqual([]);
  });
});

describe('vmsim annotate', () => {
  it("prints cg_annotate's layout: totals, the regions, the top instructions with their shares", async () => {
    const r = await run('annotate', 'traces/ls.lackey.gz', '--top', '3', '--sort', 'faults');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^events: TLB misses [\d,]+ \([\d.]+% of lookups\), page walks [\d,]+, page faults [\d,]+$/m);
    expect(r.out).toMatch(/^-- by region/m);
    expect(r.out).toMatch(/rwxp 00000000 00:00 0\s*$/m);
    expect(r.out).toMatch(/^-- by instruction: the top 3 of [\d,]+ by page faults/m);
    const rows = r.out.split("-- by instruction")[1]!.split("\n").filter((l) => / 0x[0-9a-f]+$/.test(l));
    expect(rows.length).toBe(3);
    const faults = rows.map((l) => Number(/ ([\d,]+) \([\d.]+%\)\s+0x[0-9a-f]+$/.exec(l)![1]!.replace(/,/g, '')));
    expect([...faults].sort((p, q) => q - p)).toEqual(faults);
    const json = JSON.parse((await run('annotate', 'traces/ls.lackey.gz', '--json')).out) as AnnotateResult;
    expectConsistent(json);
    expect((await run('annotate', 'traces/ls.lackey.gz', '--sort', 'cycles')).code).toBe(2);
  });
});
