/**
 * Traces of whole programs and the trace sets researchers have, each beside its yardstick,
 * as whole processes (the vmsim command, as users run it):
 *   - a recorded multi-threaded program (bench/linux/threads-work.c, recorded by vmsim record
 *     when valgrind is there): `vmsim replay TRACE --cpus 4` with its threads, calls and
 *     processes vs the same accesses alone (`vmsim convert --accesses-only`);
 *   - lackey text: `vmsim replay FILE` vs a plain C program that parses the same lines and
 *     looks them up in the same TLB (bench/linux/lackey-tlb.c; 64 entries, 4 ways, LRU);
 *   - a ChampSim trace (xz): `vmsim replay FILE.xz` vs `xz -dc FILE.xz > /dev/null`.
 * Each figure is the best of a few runs (a shared, noisy machine); the ratios are the point.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Figure } from './harness.js';

const VMSIM = join(process.cwd(), 'dist', 'cli', 'main.js');

/** Best wall time (ms) of `rounds` runs of a command, its output discarded; undefined when it cannot run. */
function bestMs(cmd: string, args: string[], rounds = 3, stdout: 'ignore' | number = 'ignore'): number | undefined {
  let best = Infinity;
  for (let r = 0; r <= rounds; r++) {
    const t0 = process.hrtime.bigint();
    const p = spawnSync(cmd, args, { stdio: ['ignore', stdout, 'pipe'] });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (p.status !== 0) {
      console.error(`bench: ${cmd} ${args.join(' ')} failed: ${p.stderr?.toString().trim().split('\n').slice(-3).join(' / ')}`);
      return undefined;
    }
    if (r > 0) best = Math.min(best, ms); // the first run warms the page cache
  }
  return best;
}

/** A synthetic ChampSim trace: a loop-heavy instruction stream over 300 code pages, data over a 16 MiB heap and a stack. */
export function champsimTrace(instructions: number): Buffer {
  const b = Buffer.alloc(instructions * 64);
  let x = 2463534242;
  const rnd = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
  let ip = 0x401000;
  for (let i = 0; i < instructions; i++) {
    const at = i * 64;
    ip = rnd() < 0.04 ? 0x401000 + (Math.floor(rnd() * 300 * 4096) & ~3) : ip + 4;
    b.writeBigUInt64LE(BigInt(ip), at);
    b[at + 10] = 1 + (i % 30);
    b[at + 12] = 2 + (i % 17);
    const r = rnd();
    if (r < 0.3) b.writeBigUInt64LE(BigInt(0x7f0000000000 + Math.floor(rnd() * (1 << 21)) * 8), at + 32);
    if (r < 0.1) b.writeBigUInt64LE(BigInt(0x7ffe00000000 + Math.floor(rnd() * 2048) * 8), at + 40);
    if (r > 0.85) b.writeBigUInt64LE(BigInt(0x7f0000000000 + Math.floor(rnd() * (1 << 21)) * 8), at + 16);
    if (rnd() < 0.15) {
      b[at + 8] = 1;
      b[at + 9] = rnd() < 0.5 ? 1 : 0;
    }
  }
  return b;
}

/** The figures. */
export async function benchPrograms(): Promise<{ figures: Figure[]; notes: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'vmsim-bench-programs-'));
  const figures: Figure[] = [];
  const notes: string[] = [];
  try {
    // A recorded program, with its system calls and without them.
    const valgrind = spawnSync('sh', ['-c', 'command -v valgrind && command -v vgdb && command -v cc'], { stdio: 'ignore' }).status === 0;
    if (valgrind) {
      const exe = join(dir, 'threads-work');
      execFileSync('cc', ['-O1', '-pthread', '-o', exe, join('bench', 'linux', 'threads-work.c')], { stdio: 'pipe' });
      const whole = join(dir, 'threads-work.trace');
      const plain = join(dir, 'threads-work.bin');
      execFileSync(process.execPath, [VMSIM, 'record', '-o', whole, '--', exe], { stdio: 'pipe' });
      execFileSync(process.execPath, [VMSIM, 'convert', '--accesses-only', whole, plain], { stdio: 'pipe' });
      const w = bestMs(process.execPath, [VMSIM, 'replay', whole, '--cpus', '4']);
      const p = bestMs(process.execPath, [VMSIM, 'replay', plain]);
      figures.push({ name: 'recorded 4-thread program: with its calls (--cpus 4) vs its accesses alone', values: { vmsim: w, yardstick: p }, unit: 'ms', note: 'the program replayed whole (threads on 4 CPUs, 400 memory calls through the VMM, shootdowns) vs the same 4.6 M accesses in one process; target: within 1.5x' });
    } else notes.push('recorded program: no valgrind (with vgdb) or C compiler, so no recording to replay');

    // Lackey text: ls's trace repeated to 20 M lines.
    const text = gunzipSync(readFileSync('traces/ls.lackey.gz'));
    const lackey = join(dir, 'ls20m.lackey');
    const fd = openSync(lackey, 'w');
    let lines = 0;
    const perCopy = text.toString('latin1').split('\n').length - 1;
    while (lines < 20_000_000) {
      writeSync(fd, text);
      lines += perCopy;
    }
    closeSync(fd);
    let cProgram: string | undefined;
    try {
      cProgram = join(dir, 'lackey-tlb');
      execFileSync('cc', ['-O2', '-o', cProgram, join('bench', 'linux', 'lackey-tlb.c')], { stdio: 'pipe' });
    } catch {
      cProgram = undefined;
      notes.push('lackey: no C compiler, so no yardstick');
    }
    const c = cProgram ? bestMs(cProgram, [lackey]) : undefined;
    const v = bestMs(process.execPath, [VMSIM, 'replay', lackey]);
    figures.push({ name: `lackey text, ${(lines / 1e6).toFixed(0)} M lines (whole command)`, values: { vmsim: v, yardstick: c }, unit: 'ms', note: 'yardstick: a C program parsing the same lines into the same TLB (64 entries, 4 ways, LRU); target: vmsim within 1.0-1.5x' });
    if (cProgram) {
      const cOut = JSON.parse(execFileSync(cProgram, [lackey], { encoding: 'utf8' })) as { lookups: number; misses: number };
      const vOut = JSON.parse(execFileSync(process.execPath, [VMSIM, 'replay', lackey, '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 })) as { tlb: { lookups: number; misses: number } };
      notes.push(`lackey: the C program counted ${cOut.lookups} lookups, ${cOut.misses} misses; vmsim ${vOut.tlb.lookups}, ${vOut.tlb.misses}${cOut.lookups === vOut.tlb.lookups && cOut.misses === vOut.tlb.misses ? ' (the same)' : ' (DIFFERENT)'}`);
    }
    rmSync(lackey);

    // ChampSim, xz-compressed (xz -1: this bench's compression time; decompression is much alike at any level).
    const raw = join(dir, 'bench.champsimtrace');
    writeFileSync(raw, champsimTrace(2_000_000));
    const xzOk = spawnSync('xz', ['-1', '-T2', '-k', '-f', raw]).status === 0;
    if (xzOk) {
      const xz = `${raw}.xz`;
      const d = bestMs('xz', ['-dc', xz]);
      const r = bestMs(process.execPath, [VMSIM, 'replay', xz]);
      figures.push({ name: 'ChampSim trace, xz, 2 M instructions (whole command)', values: { vmsim: r, yardstick: d }, unit: 'ms', note: 'yardstick: xz -dc FILE > /dev/null; target: vmsim within 1.5x (decompression is xz in a child process, on the other core, its output read by a worker thread 1 MiB at a time)' });
      // What the ratio rests on: the replay of the decompressed file alone (on two free cores the
      // xz replay takes about the longer of the two), and how many cores the machine gave two
      // decompressions at once (on a loaded machine the two add instead).
      const alone = bestMs(process.execPath, [VMSIM, 'replay', raw]);
      const two = bestMs('sh', ['-c', `xz -dc '${xz}' >/dev/null & xz -dc '${xz}' >/dev/null; wait`]);
      if (alone !== undefined && d !== undefined && two !== undefined) {
        notes.push(`ChampSim: the replay of the decompressed file alone took ${alone.toFixed(0)} ms, xz -dc ${d.toFixed(0)} ms: on two free cores the xz replay is bounded by about ${(Math.max(alone, d) / d).toFixed(2)}x xz; two xz -dc at once took ${(two / d).toFixed(2)}x one (1.0: two cores free; 2.0: one), so here the two ${two / d > 1.5 ? 'mostly add' : 'mostly overlap'}`);
      }
    } else notes.push('ChampSim: no xz program, so no yardstick');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { figures, notes };
}
