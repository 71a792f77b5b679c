/** vmsim curve reads its input once ('-', a FIFO, <(...)), leaves no temporary file, and draws PNG or SVG (--log too). */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { main } from '../src/cli/main.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'vmsim-cli-curve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bin = 'dist/cli/main.js'; // built by npm test before the tests run
// The first 150,000 lines of the shipped ls trace: enough pages to evict, small enough to replay many times.
const text = gunzipSync(readFileSync('traces/ls.lackey.gz')).subarray(0, 2_000_000);
const LS = join(dir, 'ls-head.out');
writeFileSync(LS, text.subarray(0, text.lastIndexOf(10) + 1));

describe('vmsim curve', () => {
  it("reads '-', a FIFO and <(zcat ...) once, with the numbers of the file itself, and leaves no temporary file", async () => {
    const args = '--frames 16,64 --policy lru --json';
    const file = JSON.parse((await run('curve', LS, ...args.split(' '))).out);
    expect(file.touches).toBeGreaterThan(100_000);
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // Asynchronous, so the test worker keeps answering while the commands run.
    const sh = (script: string, input?: Buffer) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn('bash', ['-c', script], { env: { ...process.env, TMPDIR: tmp, VMSIM: `${process.execPath} ${bin}` } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d));
        child.stderr.on('data', (d: Buffer) => (stderr += d));
        child.on('close', (status) => resolve({ status, stdout, stderr }));
        child.stdin.end(input);
      });
    const runs = [await sh(`$VMSIM curve - ${args}`, readFileSync(LS)), await sh(`cat ${LS} > ${fifo} & $VMSIM curve ${fifo} ${args}`), await sh(`$VMSIM curve <(cat ${LS}) ${args}`)];
    for (const r of runs) {
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual(file);
    }
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('--csv has a row per policy and size with the exact LRU count beside it; --plot FILE.png is a PNG, --log a log axis', async () => {
    const png = join(dir, 'c.png');
    const r = await run('curve', LS, '--frames', '16,64', '--policy', 'LRU,Clock', '--csv', '--plot', png);
    expect(r.code).toBe(0);
    const rows = r.out.trim().split('\n').map((l) => l.split(','));
    expect(rows[0]).toEqual(['policy', 'frames', 'faults', 'faultRate', 'majorFaults', 'swapIn', 'swapOut', 'mattsonLru']);
    expect(rows.slice(1).map((x) => [x[0], x[1]])).toEqual([['lru', '16'], ['lru', '64'], ['clock', '16'], ['clock', '64']]);
    for (const x of rows.slice(1, 3)) expect(x[2]).toBe(x[7]); // lru = Mattson
    expect([...readFileSync(png).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    const svg = join(dir, 'c.svg');
    expect((await run('curve', LS, '--frames', '16,64', '--plot', svg, '--log')).code).toBe(0);
    const text = readFileSync(svg, 'utf8');
    expect(text).toContain('fault rate (% of page touches, log scale)');
    expect(text).toContain('>identical to lru (drawn over it)</text>');
    expect(text).toContain('>policy</text>');
  });
});
