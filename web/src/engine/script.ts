/**
 * The process lab's little language: one library call per line, so a scenario is a short
 * text that fits in a URL and steps are lines. Each line maps to one call of the library's
 * API (the page shows that call beside the line):
 *
 *   machine memory=16MiB swap=1MiB zswap tlb=64 cpus=4 ceiling=33   (first line only; the machine's options)
 *   p1 = spawn [limit=PAGES] [policy=NAME] [adj=N] machine.createAddressSpace(...)
 *   mmap p1 ADDR LENGTH PROT [shared] [name=X]    p1.mmap({ addr, length, prot, fixed: true, ... })
 *   write p1|t1 ADDR [LENGTH]                     p1.write(addr, bytes): one byte per page touched (t1: a thread)
 *   read p1|t1 ADDR [LENGTH]                      p1.read(addr, 1) for each page
 *   p2 = fork p1                                  p1.fork()
 *   munmap p1 ADDR LENGTH                         p1.munmap(addr, length)
 *   mprotect p1 ADDR LENGTH PROT                  p1.mprotect(addr, length, prot)
 *   madvise p1 ADDR LENGTH dontneed|free|cold     p1.madvise(addr, length, 'dontneed')
 *   t1 = thread p1                                p1.createThread()
 *   run CPU p1|t1                                 machine.cpu(CPU).run(t1): a context switch
 *   idle CPU                                      machine.cpu(CPU).idle(): lazy TLB mode
 *   exit p1|t1                                    p1.destroy(), t1.exit()
 *
 * Numbers are decimal or 0x hex, with an optional K/M/G suffix (KiB/MiB/GiB).
 */
import { type MachineOptions, type PolicyName, isPolicyName } from './lib.js';

/** A parsed line. */
export type Command =
  | { op: 'machine'; options: MachineOptions; text: string }
  | { op: 'spawn'; name: string; limit?: number; policy?: PolicyName; adj?: number; text: string }
  | { op: 'mmap'; proc: string; addr: number; length: number; prot: string; shared: boolean; label?: string; text: string }
  | { op: 'write' | 'read'; proc: string; addr: number; length: number; text: string }
  | { op: 'fork'; name: string; proc: string; text: string }
  | { op: 'munmap'; proc: string; addr: number; length: number; text: string }
  | { op: 'mprotect'; proc: string; addr: number; length: number; prot: string; text: string }
  | { op: 'madvise'; proc: string; addr: number; length: number; advice: Advice; text: string }
  | { op: 'thread'; name: string; proc: string; text: string }
  | { op: 'run'; cpu: number; task: string; text: string }
  | { op: 'idle'; cpu: number; text: string }
  | { op: 'exit'; proc: string; thread: boolean; text: string };

/** The advice madvise takes in a script (the ones that need no swap). */
export type Advice = 'dontneed' | 'free' | 'cold';
const ADVICE: readonly string[] = ['dontneed', 'free', 'cold'];
/** The most CPUs a script's machine may have (the page draws each one). */
export const MAX_SCRIPT_CPUS = 8;

/** A line the parser refused: which line and why. */
export class ScriptError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/** Parses a size or address: 0x1000, 4096, 16K, 2M, 1G. */
export function parseNumber(t: string | undefined, what: string, line: number): number {
  const m = /^(0x[0-9a-f_]+|\d[\d_]*)([kmg]?)(i?b)?$/i.exec(t ?? '');
  if (!m) throw new ScriptError(line, `${what} must be a number like 0x10000, 4096 or 16K, got ${JSON.stringify(t ?? '')}`);
  const base = m[1]!.toLowerCase().startsWith('0x') ? parseInt(m[1]!.slice(2).replace(/_/g, ''), 16) : Number(m[1]!.replace(/_/g, ''));
  const v = base * ({ '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 } as Record<string, number>)[m[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(v)) throw new ScriptError(line, `${what} ${t} is too large`);
  return v;
}

const NAME = /^[a-z][a-z0-9_]{0,15}$/i;

/** Parses the script; ScriptError names the first bad line. Blank lines and # comments are skipped. */
export function parseScript(text: string): Command[] {
  const out: Command[] = [];
  const threads = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const t = raw.replace(/#.*/, '').trim();
    if (t === '') return;
    const w = t.split(/\s+/);
    const task = (s: string | undefined) => {
      if (!s || !NAME.test(s)) throw new ScriptError(line, `expected a process name like p1, got ${JSON.stringify(s ?? '')}`);
      return s;
    };
    // System calls are the process's (the library's calls are on the address space), not a thread's.
    const proc = (s: string | undefined) => {
      if (threads.has(task(s))) throw new ScriptError(line, `${s} is a thread: ${w[0]} is a call of its process (the one it was made from)`);
      return s!;
    };
    const kv = (words: string[]) => Object.fromEntries(words.filter((x) => x.includes('=')).map((x) => x.split('=', 2) as [string, string]));
    if (w[1] === '=') {
      const name = task(w[0]);
      if (w[2] === 'spawn') {
        const o = kv(w.slice(3));
        for (const k of Object.keys(o)) if (!['limit', 'policy', 'adj'].includes(k)) throw new ScriptError(line, `spawn takes limit=, policy= and adj=, not ${k}=`);
        if (o.policy !== undefined && !isPolicyName(o.policy)) throw new ScriptError(line, `unknown policy ${JSON.stringify(o.policy)}`);
        if (o.policy !== undefined && o.limit === undefined) throw new ScriptError(line, 'policy= needs limit= (the resident limit it works under)');
        const adj = o.adj === undefined ? undefined : Number(o.adj);
        if (adj !== undefined && !(Number.isInteger(adj) && adj >= -1000 && adj <= 1000)) throw new ScriptError(line, `adj= must be a whole number from -1000 to 1000, got ${o.adj}`);
        out.push({ op: 'spawn', name, ...(o.limit !== undefined ? { limit: parseNumber(o.limit, 'limit', line) } : {}), ...(o.policy !== undefined ? { policy: o.policy as PolicyName } : {}), ...(adj !== undefined ? { adj } : {}), text: t });
      } else if (w[2] === 'fork') out.push({ op: 'fork', name, proc: proc(w[3]), text: t });
      else if (w[2] === 'thread') out.push({ op: 'thread', name, proc: proc(w[3]), text: t });
      else throw new ScriptError(line, `after "${name} =" comes spawn, fork or thread, got ${JSON.stringify(w[2] ?? '')}`);
      if (w[2] === 'thread') threads.add(name);
      else threads.delete(name);
      return;
    }
    switch (w[0]) {
      case 'machine': {
        if (out.length > 0) throw new ScriptError(line, 'machine must be the first line');
        const o: MachineOptions = { backend: 'js' };
        for (const x of w.slice(1)) {
          const [k, v] = x.split('=', 2) as [string, string | undefined];
          if (k === 'memory' && v) o.memory = parseNumber(v, 'memory', line);
          else if (k === 'swap' && v) o.swap = { ...(o.swap ?? {}), size: parseNumber(v, 'swap', line) };
          else if (k === 'zswap' && v === undefined) o.swap = { size: o.swap?.size ?? 2 ** 20, ...(o.swap ?? {}), zswap: true };
          else if (k === 'tlb' && v) o.tlb = { entries: parseNumber(v, 'tlb', line) };
          else if (k === 'cpus' && v) {
            o.cpus = parseNumber(v, 'cpus', line);
            if (o.cpus < 1 || o.cpus > MAX_SCRIPT_CPUS) throw new ScriptError(line, `cpus= must be 1 to ${MAX_SCRIPT_CPUS} here (the page draws every CPU), got ${v}`);
          } else if (k === 'ceiling' && v) o.shootdown = { ceiling: parseNumber(v, 'ceiling', line) };
          else throw new ScriptError(line, `machine takes memory=, swap=, zswap, tlb=, cpus= and ceiling=, not ${JSON.stringify(x)}`);
        }
        out.push({ op: 'machine', options: o, text: t });
        return;
      }
      case 'mmap': {
        const rest = w.slice(5);
        const o = kv(rest);
        for (const x of rest) if (x !== 'shared' && !x.startsWith('name=')) throw new ScriptError(line, `mmap takes shared and name=, not ${JSON.stringify(x)}`);
        out.push({ op: 'mmap', proc: proc(w[1]), addr: parseNumber(w[2], 'address', line), length: parseNumber(w[3], 'length', line), prot: prot(w[4], line), shared: rest.includes('shared'), ...(o.name ? { label: o.name } : {}), text: t });
        return;
      }
      case 'write':
      case 'read':
        out.push({ op: w[0], proc: task(w[1]), addr: parseNumber(w[2], 'address', line), length: w[3] === undefined ? 1 : parseNumber(w[3], 'length', line), text: t });
        return;
      case 'munmap':
        out.push({ op: 'munmap', proc: proc(w[1]), addr: parseNumber(w[2], 'address', line), length: parseNumber(w[3], 'length', line), text: t });
        return;
      case 'mprotect':
        out.push({ op: 'mprotect', proc: proc(w[1]), addr: parseNumber(w[2], 'address', line), length: parseNumber(w[3], 'length', line), prot: prot(w[4], line), text: t });
        return;
      case 'madvise': {
        const advice = (w[4] ?? '').toLowerCase().replace(/^madv_/, '');
        if (!ADVICE.includes(advice)) throw new ScriptError(line, `madvise takes dontneed, free or cold, got ${JSON.stringify(w[4] ?? '')}`);
        out.push({ op: 'madvise', proc: proc(w[1]), addr: parseNumber(w[2], 'address', line), length: parseNumber(w[3], 'length', line), advice: advice as Advice, text: t });
        return;
      }
      case 'run':
        out.push({ op: 'run', cpu: cpuNumber(w[1], line), task: task(w[2]), text: t });
        return;
      case 'idle':
        out.push({ op: 'idle', cpu: cpuNumber(w[1], line), text: t });
        return;
      case 'exit':
        out.push({ op: 'exit', proc: task(w[1]), thread: threads.has(w[1]!), text: t });
        return;
      default:
        throw new ScriptError(line, `unknown command ${JSON.stringify(w[0])} (machine, spawn, mmap, write, read, fork, munmap, mprotect, madvise, thread, run, idle, exit)`);
    }
  });
  return out;
}

/** A CPU number: 2 or cpu2. */
function cpuNumber(t: string | undefined, line: number): number {
  const m = /^(?:cpu)?(\d{1,3})$/i.exec(t ?? '');
  if (!m) throw new ScriptError(line, `expected a CPU number like 0 or cpu1, got ${JSON.stringify(t ?? '')}`);
  return Number(m[1]);
}

function prot(p: string | undefined, line: number): string {
  if (p === undefined || !/^(none|-|[rwx]{1,3})$/.test(p)) throw new ScriptError(line, `protection must be letters of rwx or none, got ${JSON.stringify(p ?? '')}`);
  return p === '-' ? 'none' : p;
}

/** The library call a command makes, as a line of TypeScript. */
export function apiCall(c: Command): string {
  const h = (n: number) => '0x' + n.toString(16);
  switch (c.op) {
    case 'machine':
      return `const machine = new Machine(${literal(c.options)})`;
    case 'spawn':
      return `const ${c.name} = machine.createAddressSpace(${c.limit !== undefined || c.adj !== undefined ? `{ ${[c.limit !== undefined ? `residentLimit: ${c.limit}` : '', c.policy ? `policy: '${c.policy}'` : '', c.adj !== undefined ? `oomScoreAdj: ${c.adj}` : ''].filter(Boolean).join(', ')} }` : ''})`;
    case 'mmap':
      return `${c.proc}.mmap({ addr: ${h(c.addr)}, length: ${c.length}, prot: '${c.prot}', fixed: true${c.shared ? ', shared: true' : ''}${c.label ? `, name: '${c.label}'` : ''} })`;
    case 'write':
      return c.length <= 4096 ? `${c.proc}.write(${h(c.addr)}, [1])` : `for (let a = ${h(c.addr)}; a < ${h(c.addr + c.length)}; a += 4096) ${c.proc}.write(a, [1])`;
    case 'read':
      return c.length <= 4096 ? `${c.proc}.read(${h(c.addr)}, 1)` : `for (let a = ${h(c.addr)}; a < ${h(c.addr + c.length)}; a += 4096) ${c.proc}.read(a, 1)`;
    case 'fork':
      return `const ${c.name} = ${c.proc}.fork()`;
    case 'munmap':
      return `${c.proc}.munmap(${h(c.addr)}, ${c.length})`;
    case 'mprotect':
      return `${c.proc}.mprotect(${h(c.addr)}, ${c.length}, '${c.prot}')`;
    case 'madvise':
      return `${c.proc}.madvise(${h(c.addr)}, ${c.length}, '${c.advice}')`;
    case 'thread':
      return `const ${c.name} = ${c.proc}.createThread()`;
    case 'run':
      return `machine.cpu(${c.cpu}).run(${c.task})`;
    case 'idle':
      return `machine.cpu(${c.cpu}).idle()`;
    case 'exit':
      return c.thread ? `${c.proc}.exit()` : `${c.proc}.destroy()`;
  }
}

/** An options object as TypeScript source: { memory: 8388608, swap: { size: 262144 } }. */
function literal(v: unknown): string {
  if (v !== null && typeof v === 'object') return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${literal(x)}`).join(', ')} }`;
  return typeof v === 'string' ? `'${v}'` : String(v);
}
