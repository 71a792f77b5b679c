/** The command at its edges: usage errors naming flags, --version, -h, --plot, input that is not a trace, '-', FIFOs, EPIPE, signals, record. */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { main } from '../src/cli/main.js';
import { nativeAvailable } from '../src/core/native-core.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

const bin = 'dist/cli/main.js'; // built by npm test before the tests run
const dir = mkdtempSync(join(tmpdir(), 'vmsim-cli-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const trace = join(dir, 'small.out');
writeFileSync(trace, '==1== header\nI  00400000,4\n L 7ff000100,8\n S 7ff000100,8\n M 00601000,4\nI  00400004,4\n L 00600ffc,8\n');
const lsText = gunzipSync(readFileSync('traces/ls.lackey.gz'));

describe('usage errors', () => {
  it('exit 2 and name the flag, for values the library would refuse too', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['replay', trace, '--tlb-entries', '0'], /^vmsim replay: --tlb-entries 0: needs a whole number of at least 1\n$/],
      [['replay', trace, '--tlb-entries', '-5'], /^vmsim replay: --tlb-entries -5: needs a whole number of at least 1\n$/],
      [['replay', trace, '--tlb-ways', '3'], /--tlb-entries 64 is not a multiple of --tlb-ways 3/],
      [['replay', trace, '--l1d-entries', '0'], /--l1d-entries 0: needs a whole number of at least 1/],
      [['replay', trace, '--l1i-entries', '8', '--l1i-ways', '16'], /--l1i-ways 16: must be an integer in \[1, entries=8\]/],
      [['replay', trace, '--pwc', '1,2,2000000'], /--pwc 1,2,2000000: PD entries 2000000: at most 1048576/],
      [['replay', trace, '--memory', 'lots'], /--memory lots: needs a size like 64MiB/],
      // The size as typed, not its byte count.
      [['replay', trace, '--memory', '2TiB'], /^vmsim replay: --memory 2TiB: out of range: 2 MiB to 1 TiB\n$/],
      [['replay', trace, '--frames', '4', '--swap', '1k'], /--swap 1k: must be a whole number of 4 KiB pages/],
      // 0 and -1 alike.
      [['replay', trace, '--frames', '0'], /^vmsim replay: --frames 0: needs a whole number of at least 1\n$/],
      [['replay', trace, '--frames', '-1'], /^vmsim replay: --frames -1: needs a whole number of at least 1\n$/],
      [['replay', trace, '--frames', '--json'], /--frames needs a value \(N\)/],
      [['replay', trace, '--tlb-entires', '5'], /unknown option --tlb-entires; did you mean --tlb-entries\?/],
      [['replay', trace, '--frames', '4', '--policy', 'lur'], /--policy lur: must be one of .*; did you mean lru\?/],
      [['replay', trace, '--cpu', 'skylak'], /--cpu skylak: must be one of skylake, .*; did you mean skylake\?/],
      [['sweep', trace, '--cpu', 'skylake,zen'], /--cpu skylake,zen: "zen" is not one of .*; did you mean zen3\?/],
      [['maps', trace, '--tlb-entries', '64'], /^vmsim maps: unknown option --tlb-entries/],
      [['sweep', trace, '--tlb-entries', '0,16'], /--tlb-entries 0,16: each item must be a whole number of at least 1, got 0/],
      [['sweep', trace, '--tlb-entries', '16,,32'], /--tlb-entries 16,,32: needs a comma-separated list .* without empty items/],
      [['sweep', trace, '--tlb-entries', '16,'], /without empty items/],
      [['sweep', trace, '--tlb-ways', '0'], /--tlb-ways 0: each item must be a whole number of at least 1/],
      [['sweep', trace, '--jobs', '0'], /--jobs 0: needs a whole number of at least 1/],
      [['sweep', trace, '--log'], /--log needs --plot FILE/],
      [['sweep', trace, '--plot-level', 'stbl'], /--plot-level stbl: no such TLB array or level .*; did you mean stlb\?/],
      [['curve', trace, '--frames', '8', '--policy', 'lru,optimum'], /--policy lru,optimum: "optimum" is not one of/],
      [['record', '--', 'true'], /-o OUT is required/],
      [['record', '-o', 'x.bin'], /expected a PROGRAM to run/],
      [['replya', trace], /^vmsim "replya" is not a vmsim command; did you mean replay\?/],
    ];
    for (const [argv, msg] of cases) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(msg);
      expect(r.out).toBe('');
    }
  });

  it('-h and --help on every command', async () => {
    for (const cmd of ['replay', 'sweep', 'curve', 'annotate', 'policy', 'convert', 'maps', 'record', 'demo']) {
      for (const flag of ['-h', '--help']) {
        const r = await run(cmd, flag);
        expect(r.code, `${cmd} ${flag}`).toBe(0);
        expect(r.out).toMatch(new RegExp(`^usage: vmsim ${cmd}`));
      }
    }
    expect((await run('-h')).out).toMatch(/^usage: vmsim COMMAND/);
  });

  it('--version names the version and the backend in use', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const r = await run('--version');
    expect(r.code).toBe(0);
    const backend = nativeAvailable() ? /backend: native \((prebuilds\/linux-x64\/vmsim\.node|build\/Release\/vmsim_native\.node)\)/ : /backend: js — the native addon did not load/;
    expect(r.out).toMatch(new RegExp(`^vmsim ${pkg.version.replace(/\./g, '\\.')}\\n${backend.source}\\n$`));
  });

  it('chart and output files are checked before any replay: the format follows the name, the directory must exist', async () => {
    const missingTrace = join(dir, 'no-such-trace');
    mkdirSync(dir + '/.svg-dir.svg', { recursive: true });
    for (const [plot, msg] of [
      ['chart.pdf', /--plot chart\.pdf: must end in \.svg or \.png \(the format follows the name\), not \.pdf/],
      ['chart', /--plot chart: must end in .svg or .png/],
      [join(dir, 'nodir', 'c.svg'), /--plot \S+c\.svg: directory .*nodir does not exist/],
      [dir + '/.svg-dir.svg', /is a directory/],
    ] as const) {
      for (const argv of [
        ['sweep', missingTrace, '--tlb-entries', '4,8', '--plot', plot],
        ['curve', missingTrace, '--frames', '4,8', '--plot', plot],
      ]) {
        const r = await run(...argv);
        expect(r.code, argv.join(' ')).toBe(2); // a usage error, not the missing trace
        expect(r.err).toMatch(msg);
      }
    }
    const series = await run('replay', missingTrace, '--series', '10', '--series-plot', 'rates.jpg');
    expect([series.code, series.err]).toEqual([2, 'vmsim replay: --series-plot rates.jpg: must end in .svg or .png (the format follows the name), not .jpg\n']);
    const csv = await run('replay', missingTrace, '--series', '10', '--series-csv', join(dir, 'nodir', 'r.csv'));
    expect(csv.code).toBe(2);
    expect(csv.err).toMatch(/--series-csv \S+r\.csv: directory/);
    const conv = await run('convert', missingTrace, join(dir, 'nodir', 'out.bin'));
    expect(conv.code).toBe(2);
    expect(conv.err).toMatch(/^vmsim convert: OUT \S+out\.bin: directory \S+nodir does not exist\n$/);
  });

  it('--plot FILE.png renders a PNG, FILE.svg an SVG', async () => {
    const png = join(dir, 'miss.png');
    const svg = join(dir, 'miss.svg');
    expect((await run('sweep', trace, '--tlb-entries', '1,2,4', '--jobs', '1', '--plot', png)).code).toBe(0);
    expect((await run('sweep', trace, '--tlb-entries', '1,2,4', '--jobs', '1', '--plot', svg)).code).toBe(0);
    const p = readFileSync(png);
    expect([...p.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // IHDR: twice the SVG's size (rendered at 2x for sharp text).
    const [w, h] = /width="(\d+)" height="(\d+)"/.exec(readFileSync(svg, 'utf8'))!.slice(1).map(Number);
    expect([p.readUInt32BE(16), p.readUInt32BE(20)]).toEqual([2 * w!, 2 * h!]);
  });
});

describe('input that is not a trace: exit 1, and convert and sweep write nothing', () => {
  const notTraces: Array<[string, Buffer, RegExp]> = [
    ['text.md', readFileSync('README.md'), /is this a lackey --trace-mem=yes trace\?/],
    ['empty.out', Buffer.alloc(0), /is empty/],
    ['random.bin', Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919 + 13) % 251)), /is binary data, not a trace/],
    ['nomem.log', Buffer.from('==5== Lackey, an example Valgrind tool\n==5== Counted 1 call to main()\n'), /recorded without --trace-mem=yes/],
    ['bad-header.bin', Buffer.concat([Buffer.from('VMSTRACE'), Buffer.from([7, 0, 0, 0, 8, 0, 0, 0])]), /version 7/],
    ['t.bz2', Buffer.from('BZh91AY&SYrest'), /compressed with bzip2, which vmsim does not read/],
  ];
  it.each(notTraces)('%s', async (name, bytes, msg) => {
    const input = join(dir, name);
    writeFileSync(input, bytes);
    const out = join(dir, `${name}.converted.bin`);
    const plot = join(dir, `${name}.svg`);
    const before = readdirSync(dir).length;
    for (const argv of [['replay', input], ['maps', input], ['convert', input, out], ['sweep', input, '--tlb-entries', '4,8', '--jobs', '1', '--plot', plot]]) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.err, argv.join(' ')).toMatch(msg);
      expect(r.out).toBe('');
    }
    expect(existsSync(out)).toBe(false);
    expect(existsSync(plot)).toBe(false);
    expect(readdirSync(dir).length).toBe(before); // no temporary file left either
  });
});

describe("'-', FIFOs and process substitution for every command that reads a trace", () => {
  const sh = (script: string, input?: Buffer) => spawnSync('bash', ['-c', script], { encoding: 'utf8', input, env: { ...process.env, VMSIM: `${process.execPath} ${bin}` } });

  it("replay, maps, convert and sweep read '-'", () => {
    const replay = sh('$VMSIM replay - --json', lsText);
    expect(replay.status, replay.stderr).toBe(0);
    const accesses = JSON.parse(replay.stdout).accesses as number;
    expect(accesses).toBe(773_849);
    const maps = sh('$VMSIM maps -', lsText);
    expect(maps.status).toBe(0);
    expect(maps.stdout).toMatch(/^[0-9a-f]+-[0-9a-f]+ rwxp /);
    const out = join(dir, 'stdin.bin');
    const conv = sh(`$VMSIM convert - ${out}`, lsText);
    expect(conv.status, conv.stderr).toBe(0);
    expect(conv.stdout).toMatch(/773,849 records/);
    const sweep = sh('$VMSIM sweep - --tlb-entries 16,64 --csv --jobs 2', lsText);
    expect(sweep.status, sweep.stderr).toBe(0);
    expect(sweep.stdout.trim().split('\n').length).toBe(3);
    expect(sweep.stderr).toMatch(/vmsim sweep: reading standard input into a binary copy at \S+trace\.bin \(8 bytes per access; removed when the sweep ends\)\nvmsim sweep: binary copy \S+: 5\.9 MiB\n/);
  });

  it('every command reads <(zcat trace.gz) (a pipe that cannot seek)', () => {
    for (const cmd of ['replay <(zcat traces/ls.lackey.gz) --json', 'maps <(zcat traces/ls.lackey.gz)', `convert <(zcat traces/ls.lackey.gz) ${join(dir, 'ps.bin')}`, 'sweep <(zcat traces/ls.lackey.gz) --tlb-entries 16,64 --jobs 2 --json']) {
      const r = sh(`$VMSIM ${cmd}`);
      expect(r.status, `${cmd}: ${r.stderr}`).toBe(0);
      expect(r.stderr).not.toMatch(/ESPIPE/);
    }
    const rows = JSON.parse(sh('$VMSIM sweep <(zcat traces/ls.lackey.gz) --tlb-entries 16,64 --jobs 2 --json').stdout) as Array<{ result: { accesses: number; trace: { format: string } } }>;
    expect(rows.map((r) => [r.result.accesses, r.result.trace.format])).toEqual([
      [773_849, 'lackey'],
      [773_849, 'lackey'],
    ]);
  });
});

describe('the output closed early, and interruptions', () => {
  it('exits quietly (0, nothing on stderr) when its reader goes away: vmsim maps | head -1, vmsim replay --json | true', () => {
    for (const cmd of ['maps traces/ls.lackey.gz | head -1', 'replay traces/ls.lackey.gz --json | true', 'sweep traces/ls.lackey.gz --tlb-entries 4,8 --jobs 1 --json | true']) {
      const r = spawnSync('bash', ['-c', `${process.execPath} ${bin} ${cmd}; echo "status \${PIPESTATUS[0]}" >&2`], { encoding: 'utf8' });
      expect(r.stderr, cmd).toMatch(/status 0\n$/);
      expect(r.stderr, cmd).not.toMatch(/EPIPE|Error|internal/);
    }
  });

  async function interrupted(argv: string[], signal: NodeJS.Signals, tmp: string, fifo: string, ready: () => boolean) {
    const child = spawn(process.execPath, [bin, ...argv], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
    const writer = createWriteStream(fifo);
    writer.on('error', () => {}); // EPIPE once the command is gone: expected
    writer.write(lsText.subarray(0, 4 << 20)); // the FIFO stays open: the command waits for the rest
    const deadline = Date.now() + 30_000;
    while (!ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(ready()).toBe(true);
    child.kill(signal);
    const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('exit', (c, s) => res([c, s])));
    writer.destroy();
    return { code, sig };
  }

  it('removes the temporary output of convert and the binary copy of sweep on SIGTERM and Ctrl-C', async () => {
    const work = join(dir, 'signals');
    const tmp = join(work, 'tmp');
    mkdirSync(tmp, { recursive: true });
    const fifo1 = join(work, 'in1');
    execFileSync('mkfifo', [fifo1]);
    const out = join(work, 'out.bin');
    const conv = await interrupted(['convert', fifo1, out], 'SIGTERM', tmp, fifo1, () => readdirSync(work).some((f) => f.endsWith('.tmp')));
    expect(conv.sig).toBe('SIGTERM');
    expect(readdirSync(work).sort()).toEqual(['in1', 'tmp']);

    const fifo2 = join(work, 'in2');
    execFileSync('mkfifo', [fifo2]);
    const sweep = await interrupted(['sweep', fifo2, '--tlb-entries', '4,8'], 'SIGINT', tmp, fifo2, () => readdirSync(tmp).some((f) => f.startsWith('vmsim-sweep-')));
    expect(sweep.sig).toBe('SIGINT');
    expect(readdirSync(tmp)).toEqual([]);
  });
});

const valgrind = spawnSync('sh', ['-c', 'command -v valgrind']).status === 0;

describe('recording without valgrind', () => {
  it('is ENOENT saying what to install; a bad command is EINVAL', async () => {
    const { recordLackey } = await import('../src/trace/lackey-recorder.js');
    await expect(recordLackey(['true'], { valgrind: join(dir, 'no-valgrind-here') })).rejects.toThrow(/^ENOENT: recording needs valgrind, which is not installed \(.*no-valgrind-here not found; on Debian: apt-get install valgrind\)$/);
    await expect(recordLackey([])).rejects.toThrow(/EINVAL: record: the command must be a non-empty array/);
  });
});

describe.skipIf(!valgrind)('vmsim record (valgrind lackey; skipped only where valgrind is not installed, which .ci/run installs)', () => {
  it('records a program whole into a binary trace that replays, its accesses alone, and as lackey text', () => {
    const whole = join(dir, 'whole.bin');
    const w = spawnSync(process.execPath, [bin, 'record', '-o', whole, '--', 'sh', '-c', 'exit 3'], { encoding: 'utf8' });
    expect(w.status, w.stderr).toBe(0);
    const wm = /^vmsim record: \S+whole\.bin: ([\d,]+) accesses, ([\d,]+) events \(1 process, 1 thread\), [\d.]+ [KM]iB \(binary v2\); sh exited with 3\n$/.exec(w.stderr);
    expect(wm, w.stderr).not.toBeNull();
    expect(readFileSync(whole).readUInt32LE(8)).toBe(2);
    const replayed = JSON.parse(execFileSync(process.execPath, [bin, 'replay', whole, '--json'], { encoding: 'utf8' }));
    expect(replayed.accesses).toBe(Number(wm![1]!.replace(/,/g, '')));

    const out = join(dir, 'true.bin');
    const r = spawnSync(process.execPath, [bin, 'record', '--accesses-only', '-o', out, '--', 'sh', '-c', 'exit 3'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const m = /^vmsim record: \S+true\.bin: ([\d,]+) accesses, [\d.]+ [KM]iB \(binary\); sh exited with 3\n$/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    const n = Number(m![1]!.replace(/,/g, ''));
    expect(n).toBeGreaterThan(10_000);
    const replay = JSON.parse(execFileSync(process.execPath, [bin, 'replay', out, '--json'], { encoding: 'utf8' }));
    expect([replay.trace.format, replay.accesses]).toEqual(['binary', n]);
    expect(readFileSync(out).length).toBe(16 + 8 * n);

    const text = join(dir, 'true.out.gz');
    const t = spawnSync(process.execPath, [bin, 'record', '--format', 'lackey', '-o', text, '--', 'sh', '-c', 'exit 0'], { encoding: 'utf8' });
    expect(t.status, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/accesses, [\d.]+ [KM]iB \(lackey text, gzip\); sh exited with 0/);
    expect(gunzipSync(readFileSync(text)).toString('latin1')).toMatch(/^==\d+== Lackey, an example Valgrind tool\n/);
  });

  it('replays while recording (nothing on disk), and reports a program valgrind cannot run', () => {
    const r = spawnSync(process.execPath, [bin, 'replay', '--record', '--json', '--tlb-entries', '16', '--', 'sh', '-c', 'exit 0'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.trace.source).toBe('valgrind lackey: sh -c exit 0');
    expect(j.accesses).toBeGreaterThan(10_000);
    // ns per access leaves out the time spent waiting for valgrind (most of the run).
    expect(j.trace.waitMs).toBeGreaterThan(0);
    expect(j.trace.waitMs).toBeLessThanOrEqual(j.timeMs);
    expect(j.nsPerAccess).toBeCloseTo(((j.timeMs - j.trace.waitMs) * 1e6) / j.trace.records, 6);
    expect(j.tlb.levels[0].entries).toBe(16);
    const bad = spawnSync(process.execPath, [bin, 'record', '-o', join(dir, 'never.bin'), '--', join(dir, 'no-such-program')], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/no-such-program: valgrind recorded nothing \(exit 127\); valgrind's own message is above/);
    expect(existsSync(join(dir, 'never.bin'))).toBe(false);
    const old = spawnSync(process.execPath, [bin, 'record', '--accesses-only', '-o', join(dir, 'never.bin'), '--', join(dir, 'no-such-program')], { encoding: 'utf8' });
    expect(old.stderr).toMatch(/no-such-program: valgrind recorded no memory access \(exit 127\)/);
    expect(existsSync(join(dir, 'never.bin'))).toBe(false);
  });
});
