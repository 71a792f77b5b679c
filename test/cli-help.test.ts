/** Help as git and npm give it: vmsim help COMMAND = vmsim COMMAND --help, -v, each command listing only its own options; messages without temporary names. */
import { describe, expect, it } from 'vitest';
import { main, USAGE } from '../src/cli/main.js';
import { hideTempNames } from '../src/cli/user-message.js';
import { closest, editDistance } from '../src/cli/suggest.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

const COMMANDS = ['replay', 'sweep', 'curve', 'annotate', 'policy', 'maps', 'convert', 'record', 'demo'];

describe('help', () => {
  it('vmsim help COMMAND, vmsim COMMAND --help and -h print the same text, exit 0', async () => {
    for (const cmd of COMMANDS) {
      const a = await run('help', cmd);
      const b = await run(cmd, '--help');
      const c = await run(cmd, '-h');
      expect(a.code, cmd).toBe(0);
      expect(a.out).toMatch(new RegExp(`^usage: vmsim ${cmd}`));
      expect(b.out).toBe(a.out);
      expect(c.out).toBe(a.out);
      for (const line of a.out.split('\n')) expect(line.length, `${cmd}: ${line}`).toBeLessThanOrEqual(110);
    }
  });

  it('vmsim help and vmsim --help list every command; vmsim alone prints it on stderr and exits 2', async () => {
    for (const argv of [['help'], ['--help'], ['-h']]) {
      const r = await run(...argv);
      expect(r.code).toBe(0);
      expect(r.out).toBe(USAGE + '\n');
    }
    for (const cmd of COMMANDS) expect(USAGE).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
    const none = await run();
    expect([none.code, none.out, none.err]).toEqual([2, '', USAGE + '\n']);
  });

  it('-v, -V, --version and version print the version', async () => {
    const v = await run('--version');
    expect(v.out).toMatch(/^vmsim \d+\.\d+\.\d+\nbackend: /);
    for (const flag of ['-v', '-V', 'version']) expect((await run(flag)).out).toBe(v.out);
  });

  it('each command lists only the options it takes: maps has no TLB option, curve none of the hierarchy', async () => {
    const help = async (cmd: string) => (await run(cmd, '--help')).out;
    const maps = await help('maps');
    for (const o of ['--tlb-entries', '--cpu', '--l1d', '--pwc', '--frames', '--series']) expect(maps).not.toContain(o);
    for (const o of ['--memory', '--backend', '--strict']) expect(maps).toContain(o);
    const curve = await help('curve');
    for (const o of ['--tlb-entries', '--cpu', '--l1d']) expect(curve).not.toContain(o);
    for (const o of ['--frames', '--policy', '--plot', '--log', '--csv']) expect(curve).toContain(o);
    const replay = await help('replay');
    // The 33 per-array options are one line per array.
    expect(replay).toMatch(/^ +--l1d-entries\/-ways\/-policy +L1 data TLB/m);
    expect(replay).toMatch(/^TLB hierarchy .*:$/m);
    expect((await help('annotate'))).toContain('--top N');
    expect((await help('policy'))).toMatch(/-c, --compute/);
  });

  it('--help anywhere before -- wins over a bad option, as git and npm do', async () => {
    const r = await run('replay', '--bogus', '--help');
    expect([r.code, r.out.startsWith('usage: vmsim replay')]).toEqual([0, true]);
    // --help after -- is the program's: without -o this is the usage error, not record's help (nothing runs).
    const rec = await run('record', '--', 'ls', '--help');
    expect([rec.code, rec.out, rec.err]).toEqual([2, '', 'vmsim record: -o OUT is required (the trace file to write)\n']);
  });
});

describe('messages', () => {
  it('never show a temporary file: a conversion output is named as given, a sweep copy as what it is', () => {
    expect(hideTempNames("ENOSPC: no space left on device, write '/data/out.bin.12345.1796524139561.tmp'")).toBe("ENOSPC: no space left on device, write '/data/out.bin'");
    expect(hideTempNames('EIO: i/o error, read /tmp/vmsim-sweep-AbC123/trace.bin')).toBe('EIO: i/o error, read the binary copy of the trace');
    expect(hideTempNames('nothing to hide in out.tmp')).toBe('nothing to hide in out.tmp');
  });

  it('suggest the nearest name within a third of its length, or the only one it begins', () => {
    expect(editDistance('tlb-entires', 'tlb-entries')).toBe(1);
    expect(closest('tlb-entires', ['tlb-entries', 'tlb-ways'])).toBe('tlb-entries');
    expect(closest('Skylak', ['skylake', 'zen3'])).toBe('skylake');
    expect(closest('gold', ['skylake', 'golden-cove'])).toBe('golden-cove');
    expect(closest('pentium', ['skylake', 'zen3'])).toBeUndefined();
    expect(closest('z', ['zen3', 'zen4'])).toBeUndefined();
  });
});
