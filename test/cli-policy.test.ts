/** vmsim policy as a teaching tool: OSTEP's flags and random references, answers hidden unless -c, files, addresses, wrapping, CSV, the course summary. */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'vmsim-cli-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SILBERSCHATZ = '7,0,1,2,0,3,0,4,2,3,0,3,2,1,2,0,1,7,0,1';

/** The cells of the table's row `name` (the first block). */
function row(out: string, name: string): string[] {
  const line = out.split('\n').find((l) => l.slice(0, 8).trimEnd() === name)!;
  return line.slice(8).trim().split(/ +/).filter((c) => c !== '');
}

describe('vmsim policy -c: the answers', () => {
  it("give the textbook's counts: FIFO 15, LRU 12, OPT 9 faults on Silberschatz's string with 3 frames", async () => {
    for (const [p, faults] of [['fifo', 15], ['LRU', 12], ['OPT', 9]] as const) {
      const r = await run('policy', SILBERSCHATZ, '-C', '3', '-p', p, '-c');
      expect(r.code).toBe(0);
      expect(r.out).toContain(`${p.toLowerCase()}, 3 frames: ${faults} faults, ${20 - faults} hits in 20 references`);
      expect(r.out).toContain(`FINALSTATS hits ${20 - faults}   misses ${faults}   hitrate ${((100 * (20 - faults)) / 20).toFixed(2)}`);
      expect(row(r.out, 'ref')).toEqual(SILBERSCHATZ.split(','));
      expect(row(r.out, 'fault').length).toBe(faults);
    }
  });

  it("show Belady's anomaly: FIFO faults 9 times with 3 frames and 10 with 4", async () => {
    const refs = '1,2,3,4,1,2,5,1,2,3,4,5';
    expect((await run('policy', refs, '-C', '3', '-c')).out).toMatch(/fifo, 3 frames: 9 faults/);
    expect((await run('policy', refs, '-C', '4', '-c')).out).toMatch(/fifo, 4 frames: 10 faults/);
  });

  it('flags bundle as getopt allows (-cN: answers, no table)', async () => {
    const r = await run('policy', SILBERSCHATZ, '-p', 'lru', '-cN');
    expect(r.out).not.toMatch(/^ref/m);
    expect(r.out).toMatch(/lru, 3 frames: 12 faults/);
  });
});

describe('vmsim policy without -c: the exercise', () => {
  it('prints the references and blank frames, no answers', async () => {
    const r = await run('policy', SILBERSCHATZ, '-p', 'lru');
    expect(r.code).toBe(0);
    expect(r.out.replace(/\n/g, ' ')).toMatch(/work out for each reference whether it hits or faults/);
    expect(row(r.out, 'ref')).toEqual(SILBERSCHATZ.split(','));
    for (const name of ['frame 0', 'frame 1', 'frame 2', 'fault', 'evicted']) expect(row(r.out, name)).toEqual([]);
    expect(r.out).not.toMatch(/FINALSTATS|\d+ faults/);
  });

  it('draws random references from a seed exactly as OSTEP\'s paging-policy.py (Python\'s random) does', async (ctx) => {
    const py = spawnSync('python3', ['-c', 'import random,sys\nfor s,n,m in [(0,10,10),(5,12,6),(123,30,100)]:\n  random.seed(s); print(",".join(str(int(m*random.random())) for _ in range(n)))'], { encoding: 'utf8' });
    if (py.status !== 0) ctx.skip(); // python3 is the reference here; the run below needs no Python
    const expected = py.stdout.trim().split('\n');
    const got = [];
    for (const [s, n, m] of [['0', '10', '10'], ['5', '12', '6'], ['123', '30', '100']] as const) got.push(row((await run('policy', '-s', s, '-n', n, '-m', m, '-w', '500')).out, 'ref').join(','));
    expect(got).toEqual(expected);
    // The defaults are OSTEP's: 10 references below 10 from seed 0, 3 frames, FIFO.
    expect((await run('policy')).out).toMatch(/^10 random references to pages 0-9 \(seed 0\); policy fifo, 3 frames\n/);
  });
});

describe('references from files, standard input and addresses', () => {
  it('-f FILE with virtual addresses and R/W, --page-size: pages, writes, dirty evictions', async () => {
    const file = join(dir, 'refs.txt');
    writeFileSync(file, '# a trace\n0x7ffd1234 W\n0x7ffd2000\n0x601000 R\n0x7ffd1ff8 w\n0x400123\n');
    const r = await run('policy', '-f', file, '--page-size', '4k', '-C', '2', '-p', 'opt', '-c');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\(pages in hex\)/);
    expect(row(r.out, 'ref')).toEqual(['7ffd1w', '7ffd2', '601', '7ffd1w', '400']);
    const sum = await run('policy', '-f', file, '--page-size', '4k', '-C', '2', '-p', 'opt', '--course-summary');
    const v = Object.fromEntries(sum.out.trim().split('\n').map((l) => l.split(': ')));
    expect(v).toMatchObject({ 'Total references': '5', Hits: '1', Misses: '4' });
    // 7ffd1 was written when opt evicts it for 400: dirty; 7ffd2 is clean.
    expect([v['Clean evictions'], v['Dirty evictions']]).toEqual(['1', '1']);
  });

  it("'-' reads the references from standard input", () => {
    const r = spawnSync(process.execPath, ['dist/cli/main.js', 'policy', '-', '-C', '2', '-c', '--csv'], { input: '1\n2\n1 w\n3\n', encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['reference,page,write,fault,evicted,frame0,frame1', '1,1,false,true,,1,', '2,2,false,true,,1,2', '3,1,true,false,,1,2', '4,3,false,true,1,3,2']);
  });

  it('wraps the table at -w columns in numbered blocks', async () => {
    const r = await run('policy', '-n', '40', '-m', '100', '-s', '3', '-c', '-w', '60');
    for (const l of r.out.split('\n')) expect(l.length, l).toBeLessThanOrEqual(60);
    expect(r.out).toMatch(/^references 1-17 of 40:$/m);
    expect(r.out).toMatch(/^references 35-40 of 40:$/m);
  });

  it('--json carries the steps and the clean and dirty evictions', async () => {
    const j = JSON.parse((await run('policy', '1w,2,3,1,4', '-C', '2', '-p', 'fifo', '--json')).out);
    expect([j.faults, j.hits, j.steps.length]).toEqual([5, 0, 5]);
    expect(j.evictions).toEqual({ clean: 2, dirty: 1 }); // 1 was written before 3 evicts it; 2 and 3 were only read
  });
});

describe('misuse', () => {
  it('exit 2 naming what is wrong; a bad file exit 1 naming the file and the line', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['policy', '1,x'], /reference #2 "x" is not a page number/],
      [['policy', '1,2', '-a', '3,4'], /give the references once \(REFS and -a both given\)/],
      [['policy', '1,2', '-n', '5'], /--numaddrs draws random references; it does not go with REFS/],
      [['policy', '1,2', '-C', '0'], /--frames 0: needs a whole number of at least 1/],
      [['policy', '-p', 'unopt'], /--policy unopt: must be one of fifo/],
      [['policy', '-p', 'lur'], /did you mean lru\?/],
      [['policy', '1,2', '--page-size', '3000'], /--page-size 3000: must be a whole number of 4 KiB pages|must be a power of two/],
      [['policy', '--page-size', '4k'], /--page-size reads the references as addresses; give them/],
      [['policy', '1', '2'], /expected at most one REFS argument/],
    ];
    for (const [argv, msg] of cases) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(msg);
    }
    const file = join(dir, 'bad.txt');
    writeFileSync(file, '1\n2\nthree\n');
    const bad = await run('policy', '-f', file);
    expect([bad.code, bad.err]).toEqual([1, `vmsim policy: ${file}: reference #3 "three" is not a page number (decimal or 0x hex, optionally followed by w for a write or r for a read)\n`]);
    expect((await run('policy', '-f', join(dir, 'missing.txt'))).err).toMatch(/missing\.txt: no such file/);
  });
});
