/**
 * vmsim replay --save / --from and vmsim sweep --from: the second half of a trace replayed from
 * the first half's snapshot counts what the whole trace counts beyond the first half; a sweep
 * from a snapshot gives each configuration's continuation and says which started with empty
 * TLBs; options of a fresh machine are refused with --from.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { tempDir } from '../support/temp-dir.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

/** An address list of `n` accesses over `pages` pages (seeded). */
function addresses(seed: number, n: number, pages: number): string {
  let x = seed;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    lines.push(`0x${(0x10000000 + (x % pages) * 4096 + (x % 4000)).toString(16)} ${x & 1 ? 'W' : 'R'}`);
  }
  return lines.join('\n') + '\n';
}

describe('vmsim replay --save / --from, vmsim sweep --from', () => {
  it('--warmup N --save saves at the warm-up\'s end; --from it --skip N goes on with the same trace and says what it skipped; a bad --skip is a usage error', async () => {
    const dir = tempDir('cli-snap');
    const t = join(dir, 't.txt');
    writeFileSync(t, addresses(3, 4000, 300));
    const snap = join(dir, 'warm.vmsnap');
    const flags = ['--tlb-entries', '32', '--memory', '64MiB'];
    const warmed = await run('replay', t, ...flags, '--warmup', '1000', '--save', snap, '--json');
    expect(warmed.code).toBe(0);
    const w = JSON.parse(warmed.out);
    const after = await run('replay', t, '--tlb-entries', '32', '--from', snap, '--skip', '1000', '--json');
    expect(after.code).toBe(0);
    const a = JSON.parse(after.out);
    expect(a.window).toEqual({ unit: 'accesses', skipped: 1000, warmup: 0, simulate: w.window.simulate });
    for (const k of ['hits', 'misses', 'retries'] as const) expect(a.tlb[k]).toBe(w.tlb[k]);
    expect(a.faults).toEqual(w.faults);
    const text = await run('replay', t, '--tlb-entries', '32', '--from', snap, '--skip', '1000');
    expect(text.out).toContain('after 1,000 skipped (read, not replayed) and a warm-up of 0');
    const bad = await run('replay', t, '--skip', '-3');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--skip/);
  });

  it('the second half from the first half\'s snapshot counts what the whole counts beyond the first half', async () => {
    const dir = tempDir('cli-snap');
    const a = addresses(1, 3000, 300);
    const b = addresses(2, 3000, 300);
    writeFileSync(join(dir, 'a.txt'), a);
    writeFileSync(join(dir, 'b.txt'), b);
    writeFileSync(join(dir, 'ab.txt'), a + b);
    const snap = join(dir, 'warm.vmsnap');
    const flags = ['--tlb-entries', '32', '--json', '--memory', '64MiB'];
    const whole = JSON.parse((await run('replay', join(dir, 'ab.txt'), ...flags)).out);
    const first = await run('replay', join(dir, 'a.txt'), ...flags, '--save', snap);
    expect(first.code).toBe(0);
    expect(first.err).toContain(`saved the machine to ${snap}`);
    const firstJ = JSON.parse(first.out);
    const second = await run('replay', join(dir, 'b.txt'), '--tlb-entries', '32', '--json', '--from', snap);
    expect(second.code).toBe(0);
    expect(second.err).toBe('');
    const s = JSON.parse(second.out);
    for (const k of ['hits', 'misses', 'retries'] as const) expect(firstJ.tlb[k] + s.tlb[k]).toBe(whole.tlb[k]);
    expect(firstJ.walks + s.walks).toBe(whole.walks);
    expect(firstJ.faults.minor + s.faults.minor).toBe(whole.faults.minor);
    expect(s.from).toEqual({ snapshot: snap, tlbs: 'kept' });

    // A sweep from it: the snapshot's own geometry keeps its TLB (the same row as the replay), the others start empty.
    const sw = await run('sweep', join(dir, 'b.txt'), '--tlb-entries', '16,32,64', '--from', snap, '--json', '--jobs', '1');
    expect(sw.code).toBe(0);
    const rows = JSON.parse(sw.out);
    expect(rows.map((r: { result: { from: { tlbs: string } } }) => r.result.from.tlbs)).toEqual(['emptied', 'kept', 'emptied']);
    expect(rows[1].result.tlb.hits).toBe(s.tlb.hits);
    expect(sw.err).toContain("2 of 3 configurations have a TLB geometry other than the snapshot's: their TLBs started empty");
    const other = await run('replay', join(dir, 'b.txt'), '--tlb-entries', '64', '--from', snap);
    expect(other.err).toContain("this configuration has a TLB geometry other than the snapshot's: its TLBs started empty");
    expect(other.out).toContain(`continued from snapshot ${snap} (its TLBs emptied: another geometry; the counts are this trace's)`);
  });

  it('refuses options of a fresh machine with --from, --from and --save with several traces, and a save path it cannot write, before replaying', async () => {
    const dir = tempDir('cli-snap');
    writeFileSync(join(dir, 'a.txt'), addresses(3, 100, 10));
    const snap = join(dir, 'warm.vmsnap');
    expect((await run('replay', join(dir, 'a.txt'), '--save', snap)).code).toBe(0);
    for (const extra of [['--memory', '1GiB'], ['--frames', '8']]) {
      const r = await run('replay', join(dir, 'a.txt'), '--from', snap, ...extra);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`replay: ${extra[0]} cannot go with --from`);
    }
    const sw = await run('sweep', join(dir, 'a.txt'), '--tlb-entries', '8,16', '--from', snap, '--memory', '1GiB');
    expect(sw.code).toBe(2);
    expect(sw.err).toContain('sweep: --memory cannot go with --from');
    const many = await run('replay', join(dir, 'a.txt'), join(dir, 'a.txt'), '--from', snap);
    expect(many.code).toBe(2);
    expect(many.err).toContain('--from is for one TRACE');
    const bad = await run('replay', join(dir, 'a.txt'), '--save', join(dir, 'no', 'w.vmsnap'));
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--save');
    expect(existsSync(join(dir, 'no'))).toBe(false);
    const missing = await run('replay', join(dir, 'a.txt'), '--from', join(dir, 'none.vmsnap'));
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('none.vmsnap');
  });
});
