/**
 * Rules checked against the real kernel of the machine the tests run on: test/vmm/linux/probe.c
 * is compiled now with the system C compiler, runs the same calls, and prints the errnos and
 * /proc/self/maps (and smaps) lines; vmsim must give the same. Skipped only where no C
 * compiler exists (the reason is printed).
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Machine, type AddressSpace } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { withTempDir } from '../support/temp-dir.js';

const PAGE = 4096;
const HUGE = 2 ** 21;

interface Probe {
  holeErrno: number;
  holeMaps: string[];
  startHoleErrno: number;
  startHoleMaps: string[];
  thpMadvise: number;
  thpAfterRead: number;
  thpAfterWrite: number;
  thpWriteFirst: number;
}

function runProbe(): Probe | string {
  try {
    return withTempDir('probe', (dir) => {
      const exe = join(dir, 'probe');
      execFileSync('cc', ['-O1', '-std=c11', '-o', exe, join(import.meta.dirname, 'linux', 'probe.c')], { stdio: 'pipe' });
      return JSON.parse(execFileSync(exe, { encoding: 'utf8', timeout: 30_000 })) as Probe;
    });
  } catch (e) {
    return (e as Error).message.split('\n')[0]!;
  }
}

const probe = runProbe();
const kernel = typeof probe === 'string' ? undefined : probe;
if (!kernel) console.warn(`linux-kernel tests skipped: ${String(probe)}`);

/** Maps lines as "start-end perms" relative to `base`, clipped to [0, len) (neighbours outside the range differ between a process and a test). */
function clip(lines: string[], len: number): string[] {
  return lines.map((l) => {
    const [range, perms] = l.split(' ');
    const [s, e] = range!.split('-').map((x) => parseInt(x, 16));
    return `${Math.max(0, s!).toString(16)}-${Math.min(len, e!).toString(16)} ${perms}`;
  });
}

function vmsimMaps(s: AddressSpace, base: number, len: number): string[] {
  const out: string[] = [];
  for (const line of s.maps().trim().split('\n')) {
    const [range, perms] = line.split(' ');
    const [a, b] = range!.split('-').map((x) => parseInt(x, 16));
    if (b! <= base || a! >= base + len) continue;
    out.push(`${(a! - base).toString(16)}-${(b! - base).toString(16)} ${perms}`);
  }
  return clip(out, len);
}

describe.skipIf(!kernel).each(BACKENDS)('vmsim against this machine’s kernel (%s)', (backend) => {
  const k = kernel!;

  it('mprotect over a hole changes the regions before the hole, then fails with ENOMEM; starting in a hole changes nothing', () => {
    expect(k.holeErrno).toBe(12); // ENOMEM
    const m = new Machine({ memory: '64MiB', backend });
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 4 * PAGE, prot: 'rw' });
    s.munmap(a + 2 * PAGE, PAGE);
    expect(() => s.mprotect(a, 4 * PAGE, 'r')).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(vmsimMaps(s, a, 4 * PAGE)).toEqual(clip(k.holeMaps, 4 * PAGE));
    expect(k.startHoleErrno).toBe(12);
    expect(() => s.mprotect(a + 2 * PAGE, 2 * PAGE, 'none')).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(vmsimMaps(s, a, 4 * PAGE)).toEqual(clip(k.startHoleMaps, 4 * PAGE));
    // And the page tables follow the regions: the first page is read-only now.
    s.read(a, 1);
    expect(() => s.write(a, [1])).toThrow(expect.objectContaining({ cause: 'SEGV_ACCERR' }));
  });

  it.skipIf(!kernel || kernel.thpWriteFirst === 0)('THP: a read fault maps the huge zero page; a write then gets a fresh huge page; a first write gets one at once', () => {
    const m = new Machine({ memory: '64MiB', backend });
    const s = m.createAddressSpace();
    const raw = s.mmap({ length: 2 * HUGE, prot: 'rw', hugePages: true });
    const h = Math.ceil(raw / HUGE) * HUGE;
    const used0 = m.physical.usedFrames;
    expect(s.load(h + 100, 1)).toBe(0);
    // Linux: AnonHugePages 0 kB after the read (the huge zero page is not anonymous memory).
    expect(k.thpAfterRead).toBe(0);
    const t = s.translate(h + 100)!;
    expect(t.pageSize).toBe(HUGE);
    expect(t.flags.writable).toBe(false);
    expect(t.software.cow).toBe(true);
    expect(m.physical.usedFrames - used0).toBeLessThan(512 + 8); // the huge zero page once, a few tables
    const z = t.physical - 100;
    s.store(h + 100, 1, 1);
    // Linux: AnonHugePages 2048 kB after the write: a fresh huge page replaced the huge zero page.
    expect(k.thpAfterWrite).toBe(2048);
    const w = s.translate(h + 100)!;
    expect(w.pageSize).toBe(HUGE);
    expect(w.physical - 100).not.toBe(z);
    expect(s.load(h + HUGE - 1, 1)).toBe(0);
    expect(k.thpWriteFirst).toBe(2048);
  });
});
