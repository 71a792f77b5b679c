/**
 * /proc's files against this machine's kernel: test/vmm/linux/procfs.c maps, touches, forks,
 * mlocks and madvises at fixed offsets from a base and prints its own smaps blocks, pagemap
 * bits and /proc/self/status; vmsim does the same calls at its own base and must print the same
 * blocks (addresses relative to the base, device and inode numbers and object names aside), the
 * same pagemap flags and the same status changes. Skipped where no C compiler exists.
 *
 * Where this machine's kernel has no CONFIG_MEM_SOFT_DIRTY (no "sd" in VmFlags, pagemap bit 55
 * never set), vmsim's soft-dirty marks (it models a kernel with soft-dirty, as distributions
 * build them) are left out of the comparison; soft-dirty itself is tested on the kernel's rules
 * in test/vmm/procfs.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Machine, type AddressSpace } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { runLinuxProbe } from '../support/linux-probe.js';

const P = 4096;
const HUGE = 2 ** 21;
const SPAN = 8 * 2 ** 20;

interface Probe {
  failed: number;
  base: number;
  pagemap: Record<string, number[]>;
  status0: string[];
  status1: string[];
  smaps: string[][];
}

const REGIONS: [string, number, number][] = [
  ['A', 0, 8], ['B', 16, 4], ['C', 32, 4], ['D', 48, 4], ['E', 64, 4], ['F', 80, 8], ['G', 96, 4], ['H', 112, 4], ['S', 128, 4], ['P', 144, 4], ['N', 160, 4], ['T', 512, 1024],
];
const STATUS = ['VmSize', 'VmLck', 'VmHWM', 'VmRSS', 'RssAnon', 'RssFile', 'RssShmem', 'VmData', 'VmStk', 'VmExe', 'VmLib', 'VmSwap'];

const kernel = runLinuxProbe<Probe>('procfs');
if (!kernel) console.warn('procfs-linux tests skipped: no C compiler, or the probe failed');

/** The smaps block with its header relative to `base`: device, inode and object names normalised. */
function normalise(block: string[], base: number, softDirty: boolean): string[] {
  const [header, ...rest] = block;
  const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) (\S+) (\S+) (\d+)\s*(.*)$/.exec(header!)!;
  const rel = (h: string) => (parseInt(h, 16) - base).toString(16);
  const path = m[7]!.replace(/^\/dev\/shm\/\S+/, '/dev/shm/OBJECT');
  const shared = m[5] !== '00:00';
  const out = [`${rel(m[1]!)}-${rel(m[2]!)} ${m[3]} ${m[4]} ${shared ? 'DEV INODE' : `${m[5]} ${m[6]}`} ${path}`.trim()];
  for (const l of rest) out.push(softDirty || !l.startsWith('VmFlags:') ? l : l.replace(/ sd /, ' '));
  return out;
}

function statusKB(lines: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(l);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** vmsim doing what procfs.c does; returns the space, the child kept alive, and the base. */
function runVmsim(backend: 'js' | 'native'): { m: Machine; s: AddressSpace; base: number; before: Record<string, number> } {
  const m = new Machine({ memory: '64MiB', backend });
  // mlock's state lives in the resident set today: a limit far above what the test maps.
  const s = m.createAddressSpace({ residentLimit: 8192 });
  const base = 0x200000000;
  const before = { ...s.status() } as unknown as Record<string, number>;
  const map = (off: number, pages: number, prot: string, extra: object = {}) => s.mmap({ addr: base + off * P, length: pages * P, prot, noReplace: true, ...extra });
  const write = (va: number, v = 1) => s.write(va, new Uint8Array([v]));
  const read = (va: number) => s.read(va, 1);
  const d = map(48, 4, 'rw');
  for (let i = 0; i < 4; i++) write(d + i * P);
  s.fork(); // the child keeps D's pages shared (it stays alive until the machine goes)
  write(d + 3 * P, 2);
  const a = map(0, 8, 'rw');
  write(a);
  write(a + P);
  read(a + 2 * P);
  s.madvise(a + P, P, 'dontneed');
  read(map(16, 4, 'r'));
  const c = map(32, 4, 'rw', { shared: true });
  write(c);
  read(c + P);
  const e = map(64, 4, 'rw');
  for (let i = 0; i < 4; i++) write(e + i * P);
  s.mlock(e, 4 * P);
  const f = map(80, 8, 'rw');
  for (let i = 0; i < 8; i++) write(f + i * P);
  s.madvise(f, 4 * P, 'free');
  write(f + P, 2);
  map(96, 4, '');
  read(map(112, 4, 'rx'));
  const obj = m.createSharedMemory('procfs-probe', 4 * P);
  write(map(128, 4, 'rw', { shared: true, object: obj }));
  const pr = map(144, 3, 'rw', { object: obj, offset: P });
  read(pr);
  write(pr + P, 2);
  obj.unlink();
  write(map(160, 4, 'rw', { noReserve: true }));
  const t = map(512, 1024, 'rw', { hugePages: true });
  write(t);
  read(t + HUGE);
  return { m, s, base, before };
}

describe.skipIf(!kernel)('/proc files against this machine\'s kernel', () => {
  const k = kernel!;
  const kbase = k.base;
  const softDirty = k.smaps.some((b) => b.some((l) => l.startsWith('VmFlags:') && / sd /.test(l)));
  // THP may fall back to 4 KiB pages on a fragmented host: the huge page's figures are then not comparable.
  const thpBlock = k.smaps.find((b) => b[0]!.startsWith((kbase + 512 * P).toString(16)));
  const thp = thpBlock?.includes('AnonHugePages:      2048 kB') ?? false;
  if (!thp) console.warn('procfs-linux: the kernel did not back the MADV_HUGEPAGE region with a huge page; its figures are not compared');

  it('the probe ran every call', () => expect(k.failed).toBe(0));

  for (const backend of BACKENDS) {
    describe(backend, () => {
      const { m, s, base, before } = runVmsim(backend);
      const mine = s.smaps().filter((e) => e.start >= base && e.end <= base + SPAN);
      const text = s.smaps({ format: 'text' });

      it('smaps: every region block as the kernel prints it', () => {
        const theirs = k.smaps.map((b) => normalise(b, kbase, softDirty)).filter((b) => thp || !b[0]!.startsWith('200000-'));
        const ours = mine
          .map((e) => normalise(text.slice(text.indexOf(e.maps)).split('\n').slice(0, 25), base, softDirty))
          .filter((b) => thp || !b[0]!.startsWith('200000-'));
        expect(ours).toEqual(theirs);
      });

      it('pagemap: present, swapped, file, exclusive (and soft-dirty where the kernel has it) per page', () => {
        const mask = softDirty ? 0x1ff : 0x1fe;
        for (const [name, off, pages] of REGIONS) {
          if (name === 'T' && !thp) continue;
          const words = s.pagemap(base + off * P, pages);
          const flags = Array.from(words, (w) => Number(w >> 55n) & mask);
          expect(`${name}: ${flags.join(',')}`).toBe(`${name}: ${k.pagemap[name]!.map((v) => v & mask).join(',')}`);
        }
      });

      it('status: the memory lines change as the kernel\'s do', () => {
        const k0 = statusKB(k.status0);
        const k1 = statusKB(k.status1);
        const after = s.status() as unknown as Record<string, number>;
        // The probe's own libc code may fault in file pages meanwhile (fault-around: 64 kB at a
        // time, depending on where the C library landed); vmsim has no files. Those pages are
        // left out of the kernel's RSS figures, and vmsim's RssFile stays 0.
        const file = k1.RssFile! - k0.RssFile!;
        for (const f of STATUS) {
          if (!thp && ['VmHWM', 'VmRSS', 'RssAnon'].includes(f)) continue;
          const theirs = f === 'RssFile' ? 0 : k1[f]! - k0[f]! - (f === 'VmRSS' || f === 'VmHWM' ? file : 0);
          expect(`${f} +${after[f]! - before[f]!}`).toBe(`${f} +${theirs}`);
        }
        m.dispose();
      });
    });
  }
});
