/**
 * The mappings a program starts with under valgrind, read from something real: valgrind is
 * started with --vgdb-stop-at=startup, so each traced image waits, loaded but before its first
 * instruction, until a vgdb command arrives. Meanwhile the recorder reads the kernel's
 * /proc/PID/maps of that process, which holds both the program's mappings and valgrind's, and
 * asks valgrind itself (through vgdb: `v.info scheduler`, `v.info location`) where the client
 * stack and the brk segment are; the vgdb command also lets the program go.
 *
 * What is the program's: file mappings other than valgrind's tool binary (the process's own
 * /proc/PID/exe) and vgdb's shared-memory file — that is, the executable and its loader;
 * the anonymous mapping right after one of them (the bss the loader maps); the brk segment
 * (valgrind's: one rwx page at the brk base); the client stack valgrind reports; and any other
 * anonymous segment valgrind says is the client's. Everything
 * else — valgrind's binary and heap, its own stacks and arenas above 0x1002000000, the host
 * [stack], [vvar], [vsyscall] — is valgrind's and not in the trace.
 */
import { spawn } from 'node:child_process';
import { readFile, readlink, stat } from 'node:fs/promises';
import type { MapEvent, MapKind } from '../trace/trace-events.js';
import { trackChild } from '../live-children.js';

/** One line of /proc/PID/maps. */
export interface ProcMapsEntry {
  start: number;
  end: number;
  /** 'rwxp' as printed. */
  perms: string;
  offset: number;
  /** Device as the kernel encodes dev_t (major << 8 | minor for small numbers). */
  dev: number;
  inode: number;
  /** The pathname column ('' for anonymous memory). */
  path: string;
}

/** A mapping of the image, as a MAP event holds it. */
export type ImageMapping = Omit<MapEvent, 'type' | 'pid' | 'at' | 'byteOffset'>;

/** The program's starting mappings, and what was left out as valgrind's. */
export interface StartupImage {
  mappings: ImageMapping[];
  /** Mappings of the process that are valgrind's, not the program's. */
  excluded: number;
  /** The client stack range valgrind reported, [lo, hi). */
  stack?: [number, number];
  /** The brk segment's base and limit. */
  brk?: { base: number; limit: number };
}

const MAPS_LINE = /^([0-9a-f]+)-([0-9a-f]+) ([-r][-w][-x][ps]) ([0-9a-f]+) ([0-9a-f]+):([0-9a-f]+) (\d+)\s*(.*)$/;

/** The lines of a /proc/PID/maps text. */
export function parseProcMaps(text: string): ProcMapsEntry[] {
  const out: ProcMapsEntry[] = [];
  for (const line of text.split('\n')) {
    const m = MAPS_LINE.exec(line);
    if (!m) continue;
    const major = parseInt(m[5]!, 16);
    const minor = parseInt(m[6]!, 16);
    out.push({
      start: parseInt(m[1]!, 16),
      end: parseInt(m[2]!, 16),
      perms: m[3]!,
      offset: parseInt(m[4]!, 16),
      dev: (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12),
      inode: Number(m[7]),
      path: m[8]!.trim(),
    });
  }
  return out;
}

/** What vgdb said: the client stack range and, per asked address, valgrind's description. */
export interface VgdbAnswers {
  stack?: [number, number];
  brk?: { base: number; limit: number };
  /** Addresses valgrind places in an anonymous segment of the client's (its SkAnonC). */
  clientAnon?: Set<number>;
}

/** Reads `v.info scheduler` and `v.info location` answers (only thread 1's stack: an image starts with one thread). */
export function parseVgdbAnswers(text: string): VgdbAnswers {
  const out: VgdbAnswers = {};
  const st = /client stack range: \[0x([0-9A-Fa-f]+) 0x([0-9A-Fa-f]+)\]/.exec(text);
  if (st) out.stack = [parseInt(st[1]!, 16), parseInt(st[2]!, 16) + 1];
  for (const m of text.matchAll(/Address 0x([0-9a-fA-F]+) is (.*)$/gm)) {
    const where = m[2]!;
    if (/ anonymous segment/.test(where)) (out.clientAnon ??= new Set()).add(parseInt(m[1]!, 16));
    const limit = /brk data segment(?: limit)? 0x([0-9a-fA-F]+)(?:-0x([0-9a-fA-F]+))?/.exec(where);
    if (!limit) continue;
    const addr = parseInt(m[1]!, 16);
    // "0 bytes after the brk data segment limit L" (an empty break) or "in the brk data segment B-E".
    out.brk = limit[2] !== undefined ? { base: parseInt(limit[1]!, 16), limit: parseInt(limit[2]!, 16) + 1 } : { base: addr, limit: parseInt(limit[1]!, 16) };
  }
  return out;
}

/**
 * The program's mappings among a held process's `entries`: `toolExe` is valgrind's binary
 * (the process's /proc/PID/exe), `vgdbPrefix` where vgdb's files live.
 */
export function classifyStartup(entries: readonly ProcMapsEntry[], toolExe: string, vgdbPrefix: string, answers: VgdbAnswers): StartupImage {
  const mappings: ImageMapping[] = [];
  let excluded = 0;
  const isClientFile = (e: ProcMapsEntry | undefined) => !!e && e.path !== '' && !e.path.startsWith('[') && e.path !== toolExe && !e.path.startsWith(vgdbPrefix);
  let prev: ProcMapsEntry | undefined;
  let prevClient = false;
  for (const e of entries) {
    let kind: MapKind | undefined;
    let start = e.start;
    let end = e.end;
    if (isClientFile(e)) kind = 'file';
    else if (e.path === '') {
      const s = answers.stack;
      if (answers.brk && e.start === answers.brk.base) kind = 'brk';
      else if (s && e.start < s[1] && e.end > s[0]) {
        kind = 'stack';
        start = Math.max(e.start, s[0]);
        end = Math.min(e.end, s[1]);
      } else if ((prevClient && prev && prev.end === e.start && isClientFile(prev)) || answers.clientAnon?.has(e.start)) kind = 'anon'; // the bss after a segment
    }
    prev = e;
    prevClient = kind !== undefined;
    if (!kind) {
      excluded++;
      continue;
    }
    const m: ImageMapping = { start, end, prot: e.perms.slice(0, 3), shared: e.perms[3] === 's', kind, offset: kind === 'file' ? e.offset : 0, dev: kind === 'file' ? e.dev : 0, inode: kind === 'file' ? e.inode : 0 };
    if (kind === 'file') m.path = e.path;
    if (kind === 'brk') m.brk = answers.brk!.limit;
    mappings.push(m);
  }
  const out: StartupImage = { mappings, excluded };
  if (answers.stack) out.stack = answers.stack;
  if (answers.brk) out.brk = answers.brk;
  return out;
}

/** Options of readStartupImage. */
export interface StartupOptions {
  /** The vgdb executable. */
  vgdb: string;
  /** valgrind's --vgdb-prefix. */
  vgdbPrefix: string;
  /** Longest wait for vgdb, ms. */
  timeoutMs?: number;
}

/** Reads a held image's mappings and releases it (the vgdb command is what lets it run). */
export async function readStartupImage(pid: number, o: StartupOptions): Promise<StartupImage> {
  const [mapsText, toolExe] = await Promise.all([readFile(`/proc/${pid}/maps`, 'utf8'), readlink(`/proc/${pid}/exe`)]);
  const entries = parseProcMaps(mapsText);
  // Answers to vgdb, not into the log (which the recorder may not be reading while the image is held).
  const ask = ['v.set', 'gdb_output', '-c', 'v.info', 'scheduler'];
  for (const e of entries) if (e.path === '' && e.start < 2 ** 47) ask.push('-c', 'v.info', 'location', `0x${e.start.toString(16)}`);
  ask.push('-c', 'v.set', 'mixed_output');
  const said = await runVgdb(o.vgdb, [`--vgdb-prefix=${o.vgdbPrefix}`, `--pid=${pid}`, ...ask], o.timeoutMs ?? 20_000);
  const image = classifyStartup(entries, toolExe, o.vgdbPrefix, parseVgdbAnswers(said));
  if (!image.stack) throw new Error(`vgdb did not report the client stack of process ${pid}: ${said.trim().split('\n').slice(-3).join(' / ')}`);
  await Promise.all(
    image.mappings.map(async (m) => {
      if (m.kind !== 'file' || !m.path) return;
      const st = await stat(m.path).catch(() => undefined);
      if (st) m.size = st.size;
    }),
  );
  return image;
}

/** Lets a held process go without asking anything (a forked child: valgrind holds it at "startup" too). */
export async function releaseHeld(pid: number, o: StartupOptions): Promise<void> {
  await runVgdb(o.vgdb, [`--vgdb-prefix=${o.vgdbPrefix}`, `--pid=${pid}`, 'v.set', 'gdb_output', '-c', 'v.info', 'n_errs_found', '-c', 'v.set', 'mixed_output'], o.timeoutMs ?? 20_000);
}

/** Runs vgdb; a process whose FIFOs are not there yet is asked again a few times. */
async function runVgdb(vgdb: string, args: string[], timeoutMs: number): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await runVgdbOnce(vgdb, args, timeoutMs);
    } catch (e) {
      if (attempt >= 20 || !/no FIFO found/.test((e as Error).message)) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function runVgdbOnce(vgdb: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(vgdb, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT' ? new Error(`recording needs vgdb (valgrind's gdbserver client, in Debian's valgrind package), which was not found as ${vgdb}`) : e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`vgdb ${signal ? `was killed by ${signal}` : `exited with ${code}`}${signal === 'SIGKILL' ? ` (no answer in ${timeoutMs} ms)` : ''}: ${(err || out).trim().split('\n').slice(-2).join(' / ')}`));
    });
  });
}
