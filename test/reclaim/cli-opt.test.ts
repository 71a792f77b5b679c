/** OPT from the command line: listed in the help again, rows in vmsim curve / sweep --frames, vmsim replay --policy opt. */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

describe('opt on the command line', () => {
  it('the help of replay, curve and sweep --frames lists opt among the policies', async () => {
    for (const argv of [['replay', '--help'], ['curve', '--help'], ['sweep', '--frames', '8', '--help']]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/\(fifo, clock, .*\blru\b.*\bopt\b/);
    }
  });

  it('vmsim curve --policy lru,clock,opt prints opt rows, never above any other row or Mattson', async () => {
    const r = await run(['curve', 'traces/ls.lackey.gz', '--frames', '16,64', '--policy', 'lru,clock,opt', '--json']);
    expect(r.code).toBe(0);
    const c = JSON.parse(r.out) as { rows: Array<{ policy: string; frames: number; faults: number }>; mattson: number[] };
    const opt = c.rows.filter((x) => x.policy === 'opt');
    expect(opt.map((x) => x.frames)).toEqual([16, 64]);
    opt.forEach((o, i) => {
      expect(o.faults).toBeLessThanOrEqual(c.mattson[i]!);
      for (const x of c.rows.filter((y) => y.frames === o.frames)) expect(o.faults).toBeLessThanOrEqual(x.faults);
    });
    const text = await run(['sweep', 'traces/ls.lackey.gz', '--frames', '16', '--policy', 'opt,lru']);
    expect(text.out).toMatch(/^opt +16 /m);
  });

  it('vmsim replay --frames N --policy opt reports its faults; the course summary agrees with the curve', async () => {
    const j = JSON.parse((await run(['replay', 'traces/ls.lackey.gz', '--frames', '32', '--policy', 'opt', '--json'])).out);
    expect(j.resident).toMatchObject({ frames: 32, policy: 'opt' });
    const curve = JSON.parse((await run(['curve', 'traces/ls.lackey.gz', '--frames', '32', '--policy', 'opt', '--json'])).out);
    expect(j.resident.pageIns).toBe(curve.rows[0].faults);
  });

  it("vmsim replay - (standard input) --policy opt is refused before reading, saying what to do", async () => {
    const r = await run(['replay', '-', '--frames', '8', '--policy', 'opt']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/policy 'opt' reads the trace twice .*a stream can be read only once: save it to a file first/);
  });
});
