/** The reclaim commands: vmsim curve (and sweep --frames), vmsim replay --frames; opt among them (vmsim policy: test/cli-policy.test.ts). */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { tempDir } from '../support/temp-dir.js';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

describe('vmsim curve / sweep --frames', () => {
  it('the lru rows equal Mattson on the shipped ls trace; --plot writes an SVG', async () => {
    const dir = tempDir('curve');
    const svg = join(dir, 'c.svg');
    const r = await run(['sweep', 'traces/ls.lackey.gz', '--frames', '16,64', '--policy', 'lru,clock', '--json', '--plot', svg]);
    expect(r.code).toBe(0);
    const c = JSON.parse(r.out);
    const lru = c.rows.filter((x: { policy: string }) => x.policy === 'lru').map((x: { faults: number }) => x.faults);
    expect(lru).toEqual(c.mattson);
    expect(readFileSync(svg, 'utf8')).toMatch(/^<\?xml|<svg/);
    expect((await run(['curve', 'traces/ls.lackey.gz', '--policy', 'lru'])).err).toMatch(/--frames N,N,... is required/);
  });
});

describe('vmsim replay --frames', () => {
  it('reports major faults, swap and evictions; --policy without --frames is misuse', async () => {
    const r = await run(['replay', 'traces/ls.lackey.gz', '--frames', '32', '--policy', 'clock', '--swap', '16MiB', '--json']);
    const j = JSON.parse(r.out);
    expect(j.faults.major).toBeGreaterThan(0);
    expect(j.swap.in).toBe(j.faults.major); // pages read at a fault (readahead pages are counted apart, swap_ra)
    expect(j.evictions.clean + j.evictions.dirty).toBeGreaterThan(0);
    expect(j.resident).toMatchObject({ frames: 32, policy: 'clock' });
    const text = await run(['replay', 'traces/ls.lackey.gz', '--frames', '32']);
    expect(text.out).toMatch(/major \(read from swap\)/);
    expect((await run(['replay', 'traces/ls.lackey.gz', '--policy', 'lru'])).err).toMatch(/--policy needs --frames N/);
  });

  it('--course-summary prints the course simulators\' lines; LRU misses equal Mattson', async () => {
    const r = await run(['replay', 'traces/ls.lackey.gz', '--frames', '64', '--policy', 'lru', '--course-summary']);
    const v = Object.fromEntries(r.out.trim().split('\n').map((l) => l.split(': ')));
    expect(Number(v['Hits']) + Number(v['Misses'])).toBe(Number(v['Total references']));
    const curve = JSON.parse((await run(['curve', 'traces/ls.lackey.gz', '--frames', '64', '--policy', 'lru', '--json'])).out);
    expect(Number(v['Misses'])).toBe(curve.mattson[0]);
    expect(Number(v['Clean evictions']) + Number(v['Dirty evictions'])).toBe(Number(v['Misses']) - 64);
    expect(v['Miss rate']).toMatch(/^\d+\.\d\d%$/);
  });
});

describe('opt on the command line', () => {
  it('the help of replay, curve and sweep --frames lists opt among the policies', async () => {
    for (const argv of [['replay', '--help'], ['curve', '--help'], ['sweep', '--frames', '8', '--help']]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      // Help lines wrap: read the text as one line.
      expect(r.out.replace(/\n +/g, ' ')).toMatch(/\(fifo, clock, .*\blru\b.*\bopt\b/);
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
