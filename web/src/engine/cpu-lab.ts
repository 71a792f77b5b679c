/**
 * The CPU lab: a process script (script.ts) on a machine with several CPUs, watched line by
 * line — every flush request (Linux's flush_tlb_mm_range) with what it did on each CPU and
 * which rule decided it, every context switch with the ASID it took and whether it flushed,
 * and each CPU's state after the line: the task it runs, the address space CR3 holds, its six
 * ASID slots, its TLB's entries and its counters.
 *
 * The library counts IPIs and flushes per CPU; to tell which request each count belongs to,
 * the lab wraps the machine's two decision points (ArchTlb's flushRange and switchMm) and
 * reads the counters and the CPUs' state around each call. It observes: every decision is the
 * library's own.
 */
import { FLUSH_ALL, TLB_NR_DYN_ASIDS, type Cpu, type CpuStats, type MmContext, type ShootdownCost } from './lib.js';
import type { Command } from './script.js';
import { ProcessLab, type LabObserver } from './process-lab.js';
import { TlbFlag } from '../../../src/core/constants.js';

/** What a CPU did for one flush request. */
export interface CpuFlushOutcome {
  cpu: number;
  /** What it was doing when the request came: "runs t1 (p1)", "idle, p1 loaded (lazy)"... */
  state: string;
  /** In the mm's cpumask when the request came. */
  inMask: boolean;
  /** The CPU the kernel ran the call on. */
  initiator: boolean;
  /** How the request reached it. */
  decision: 'local' | 'ipi' | 'lazy-skipped' | 'other-mm-skipped' | 'not-in-mask' | 'none';
  /** INVLPGs it ran (a partial flush). */
  invlpg: number;
  /** It flushed its whole current PCID. */
  fullFlush: boolean;
  /** flush_tlb_func moved it from lazy mode to init_mm. */
  toInitMm: boolean;
  /** flush_tlb_func took it out of the mm's cpumask (it runs another mm). */
  leftMask: boolean;
  /** Cycles the cost model charged it: the initiator's, or the IPI handler's. */
  cycles: number;
  /** Why, in words. */
  why: string;
  /** The Linux function whose rule decided it. */
  rule: string;
}

/** One flush request (flush_tlb_mm_range) and what it did on every CPU. */
export interface FlushRequest {
  /** Index of the script line that made it. */
  line: number;
  initiator: number;
  /** The process whose address space it flushes. */
  mm: string;
  start: number;
  /** End of the range; FLUSH_ALL (-1) for the whole address space. */
  end: number;
  strideShift: number;
  freedTables: boolean;
  /** Pages at the stride ((end - start) >> stride_shift); undefined for the whole address space. */
  pages?: number;
  ceiling: number;
  /** A full flush: the whole address space was asked for, or more pages than the ceiling. */
  full: boolean;
  /** The mm's tlb_gen before and after. */
  gen: [number, number];
  cpus: CpuFlushOutcome[];
  /** The initiator's cycles in the cost model, term by term, and the counter's total. */
  cost: { terms: [string, number][]; total: number };
}

/** A context switch (switch_mm_irqs_off) on one CPU. */
export interface SwitchEvent {
  line: number;
  cpu: number;
  /** Address space loaded before and after ("p1", "init_mm"). */
  from: string;
  to: string;
  wasLazy: boolean;
  asid: number;
  pcid: number;
  flushed: boolean;
  why: string;
  rule: string;
}

/** One of a CPU's six ASID slots (cpu_tlbstate.ctxs[]). */
export interface AsidSlot {
  asid: number;
  pcid: number;
  /** The address space it holds ("init_mm", "p1"), undefined when empty. */
  holder?: string;
  /** The tlb_gen it caught up to, and its mm's now. */
  gen: number;
  mmGen?: number;
}

/** A valid entry of a CPU's TLB. */
export interface TlbEntryView {
  va: number;
  pageSize: number;
  pa: number;
  pcid: number;
  /** The address space its PCID stands for on this CPU. */
  owner?: string;
  writable: boolean;
  user: boolean;
  nx: boolean;
  dirty: boolean;
  global: boolean;
  /**
   * It can still translate: its PCID is loaded on a CPU that runs a task, or a switch back to
   * its space would use the slot without a flush. An entry of a slot behind its space's generation is dead weight: the
   * switch that could reach it flushes it first (why Linux may skip lazy CPUs).
   */
  usable: boolean;
}

/** One CPU after a line. */
export interface CpuSnapshot {
  index: number;
  /** Name of the task it runs; undefined when idle. */
  running?: string;
  /** The address space CR3 holds. */
  loaded: string;
  lazy: boolean;
  asid: number;
  pcid: number;
  /** CR3's table address. */
  cr3: number;
  slots: AsidSlot[];
  tlb: TlbEntryView[];
  /** The processes whose mm_cpumask holds this CPU. */
  masks: string[];
  stats: CpuStats;
}

const SIZE_OF_CLASS = [4096, 2 ** 21, 2 ** 30];
const plural = (n: number, one: string, many = one + 's') => `${n} ${n === 1 ? one : many}`;

/** The CPUs' state the lab reads before a decision. */
interface CpuBefore {
  loaded: MmContext;
  lazy: boolean;
  running?: string;
  /** The process of the task it runs. */
  proc?: string;
  sd: CpuStats;
  asid: number;
}

/** The lab after the first `steps` lines, with every flush request and context switch they made. */
export class CpuLab implements LabObserver {
  /** The process lab it watches (set as soon as its machine exists: lines run inside its constructor). */
  lab!: ProcessLab;
  readonly requests: FlushRequest[] = [];
  readonly switches: SwitchEvent[] = [];
  /** Each CPU's counters when the last line began (the view shows what the line added). */
  before: CpuStats[] = [];
  private line = -1;
  private depth = 0;

  /** `backend`: the page runs 'js'; tests run the same script on 'native' to check the page against it. */
  constructor(
    readonly commands: Command[],
    steps: number,
    backend: 'js' | 'native' | 'auto' = 'js',
  ) {
    new ProcessLab(commands, steps, backend, this);
    if (this.line < 0) this.before = this.stats();
  }

  /** LabObserver: wraps the machine's flush requests and context switches. */
  attach(lab: ProcessLab): void {
    this.lab = lab;
    const arch = lab.machine.arch;
    const flushRange = arch.flushRange.bind(arch);
    const switchMm = arch.switchMm.bind(arch);
    arch.flushRange = (mm, start, end, strideShift, freedTables) => {
      const before = this.cpuState(lab);
      const gen = mm.tlbGen;
      const mask = Uint8Array.from(mm.cpumask);
      const initiator = lab.machine.selected;
      this.depth++;
      try {
        flushRange(mm, start, end, strideShift, freedTables);
      } finally {
        this.depth--;
      }
      this.requests.push(this.explainFlush(lab, { mm, start, end, strideShift, freedTables, gen, mask, initiator, before }));
    };
    arch.switchMm = (cpu, next) => {
      // A switch inside a flush (a lazy CPU moved to init_mm) is part of that flush's outcome.
      if (this.depth > 0) return switchMm(cpu, next);
      const prev = cpu.loaded;
      const wasLazy = cpu.lazy;
      const prevAsid = cpu.asid;
      const slots = this.slots(cpu);
      const switchFlushes = cpu.stats().switchFlushes;
      switchMm(cpu, next);
      this.switches.push(this.explainSwitch(lab, cpu, prev, next, wasLazy, prevAsid, slots, cpu.stats().switchFlushes > switchFlushes));
    };
  }

  /** LabObserver: line `index` begins. */
  step(index: number): void {
    this.line = index;
    this.before = this.stats();
  }

  /** The machine. */
  get machine() {
    return this.lab.machine;
  }

  /** The flush requests and context switches line `line` made. */
  eventsOf(line: number): { requests: FlushRequest[]; switches: SwitchEvent[] } {
    return { requests: this.requests.filter((r) => r.line === line), switches: this.switches.filter((s) => s.line === line) };
  }

  /** Every CPU now. */
  cpus(): CpuSnapshot[] {
    const m = this.lab.machine;
    return m.cpuArray.map((cpu) => ({
      index: cpu.index,
      ...(cpu.current ? { running: this.taskName(cpu.current) } : {}),
      loaded: this.mmName(cpu.loaded),
      lazy: cpu.lazy,
      asid: cpu.asid,
      pcid: cpu.tag,
      cr3: cpu.loaded.rootFrame * 4096,
      slots: this.slots(cpu),
      tlb: this.tlbEntries(cpu),
      masks: this.lab.procs.filter((p) => !p.space.destroyed && p.space.mm.cpumask[cpu.index] === 1).map((p) => p.name),
      stats: cpu.stats(),
    }));
  }

  /** Releases the machine. */
  dispose(): void {
    this.lab.dispose();
  }

  // ---------------------------------------------------------------- reading the machine

  private stats(): CpuStats[] {
    return this.lab.machine.cpuArray.map((c) => c.stats());
  }

  private cpuState(lab: ProcessLab): CpuBefore[] {
    return lab.machine.cpuArray.map((c) => {
      const t = c.current;
      const proc = t === undefined ? undefined : (lab.threads.find((x) => x.thread === t)?.proc.name ?? lab.nameOf(t));
      return { loaded: c.loaded, lazy: c.lazy, ...(t ? { running: this.taskName(t) } : {}), ...(proc ? { proc } : {}), sd: c.stats(), asid: c.asid };
    });
  }

  private mms(): Map<number, { name: string; mm: MmContext }> {
    const out = new Map<number, { name: string; mm: MmContext }>();
    out.set(this.lab.machine.initMm.ctxId, { name: 'init_mm', mm: this.lab.machine.initMm });
    for (const p of this.lab.procs) out.set(p.space.mm.ctxId, { name: p.name + (p.gone ? ' (gone)' : ''), mm: p.space.mm });
    return out;
  }

  private mmName(mm: MmContext): string {
    return this.mms().get(mm.ctxId)?.name ?? `mm ${mm.ctxId}`;
  }

  private taskName(task: unknown): string {
    const name = this.lab.nameOf(task) ?? 'a task';
    const t = this.lab.threads.find((x) => x.thread === task);
    return t ? `${name} (thread of ${t.proc.name})` : name;
  }

  private slots(cpu: Cpu): AsidSlot[] {
    const mms = this.mms();
    const out: AsidSlot[] = [];
    const pcide = this.lab.machine.pcidEnabled;
    for (let asid = 0; asid < TLB_NR_DYN_ASIDS; asid++) {
      const pcid = pcide ? asid + 1 : 0;
      const h = cpu.asids.holder(pcid);
      const owner = h ? mms.get(h.ctxId) : undefined;
      out.push({ asid, pcid, ...(owner ? { holder: owner.name, mmGen: owner.mm.tlbGen } : {}), gen: h?.gen ?? 0 });
      if (!pcide) break;
    }
    return out;
  }

  private tlbEntries(cpu: Cpu): TlbEntryView[] {
    const t = cpu.tlbState;
    const mms = this.mms();
    const out: TlbEntryView[] = [];
    for (let e = 0; e < t.key.length; e++) {
      const f = t.flags[e]!;
      if ((f & TlbFlag.VALID) === 0) continue;
      // key = ((vpn * 4 + sizeClass) * 8192 + tag), tag the PCID (src/core/tlb-state.ts).
      const key = t.key[e]!;
      const pcid = key % 8192;
      const q = Math.floor(key / 8192);
      const size = SIZE_OF_CLASS[q % 4]!;
      const va = Math.floor(q / 4) * size;
      const h = cpu.asids.holder(pcid);
      const owner = h ? mms.get(h.ctxId) : undefined;
      // A lazy CPU runs no user code: its loaded PCID's entries count only once a switch back would keep them.
      const usable = (pcid === cpu.tag && !cpu.lazy) || (owner !== undefined && !owner.mm.dead && h!.gen >= owner.mm.tlbGen);
      out.push({ va, pageSize: size, pa: t.pbase[e]!, pcid, ...(owner ? { owner: owner.name } : {}), writable: (f & TlbFlag.WRITABLE) !== 0, user: (f & TlbFlag.USER) !== 0, nx: (f & TlbFlag.NX) !== 0, dirty: (f & TlbFlag.DIRTY) !== 0, global: (f & TlbFlag.GLOBAL) !== 0, usable });
    }
    return out.sort((a, b) => a.pcid - b.pcid || a.va - b.va);
  }

  // ---------------------------------------------------------------- explanations

  private explainFlush(lab: ProcessLab, r: { mm: MmContext; start: number; end: number; strideShift: number; freedTables: boolean; gen: number; mask: Uint8Array; initiator: number; before: CpuBefore[] }): FlushRequest {
    const m = lab.machine;
    const sd = m.shootdown;
    const name = this.mmName(r.mm);
    const whole = r.end === FLUSH_ALL;
    const pages = whole ? undefined : Math.floor((r.end - r.start) / 2 ** r.strideShift);
    const full = whole || pages! > sd.ceiling;
    const after = this.stats();
    const remotePath = r.mask.some((bit, i) => bit === 1 && i !== r.initiator);
    const cpus: CpuFlushOutcome[] = m.cpuArray.map((cpu, i) => {
      const b = r.before[i]!;
      const a = after[i]!;
      const d = (k: 'ipisReceived' | 'lazySkipped' | 'otherMmSkipped') => a[k] - b.sd[k];
      const invlpg = a.flushes.single - b.sd.flushes.single;
      const fullFlush = a.flushes.full > b.sd.flushes.full;
      const toInitMm = b.loaded !== m.initMm && cpu.loaded === m.initMm && b.loaded === r.mm;
      const leftMask = r.mask[i] === 1 && r.mm.cpumask[i] === 0;
      const initiator = i === r.initiator;
      const cycles = initiator ? a.cycles.initiator - b.sd.cycles.initiator : a.cycles.handler - b.sd.cycles.handler;
      const state = b.running ? `runs ${b.running}` : b.loaded === m.initMm ? 'idle (init_mm loaded)' : `idle, ${this.mmName(b.loaded)} loaded (lazy)`;
      const work = invlpg > 0 ? `${plural(invlpg, 'INVLPG')} (flush_tlb_one_user per page): it was exactly one generation behind and this is the newest request` : fullFlush ? `a full flush of its PCID (flush_tlb_local): ${full ? 'the request is a full flush' : `it was more than one generation behind ${name}, so a partial flush would not catch it up`}` : '';
      const base = { cpu: i, state, inMask: r.mask[i] === 1, initiator, invlpg, fullFlush, toInitMm, leftMask, cycles };
      if (initiator) {
        const where = b.proc === name ? (b.running === name ? `${name}'s main thread runs here, so its system call runs here` : `no CPU runs ${name}'s main thread: the call runs on the lowest-numbered CPU running one of its threads`) : `no task of ${name} runs: the call runs on CPU 0 (a kernel thread there)`;
        if (d('lazySkipped') > 0) return { ...base, decision: 'lazy-skipped', why: `${where}; lazy on ${name}: should_flush_tlb skips it`, rule: 'should_flush_tlb' };
        if (work) return { ...base, decision: 'local', why: `${where}: flush_tlb_func on itself, no IPI — ${work}`, rule: 'flush_tlb_func (local)' };
        return { ...base, decision: 'local', why: `${where}; ${b.loaded === r.mm ? 'already caught up' : `${name} is not loaded here`}: nothing to flush locally`, rule: 'flush_tlb_mm_range' };
      }
      if (r.mask[i] === 0) return { ...base, decision: 'not-in-mask', why: `not in mm_cpumask(${name}): it has not run ${name} (or left the mask when an IPI found it running another process), so it holds no usable entry of ${name} — no IPI`, rule: 'native_flush_tlb_multi (mm_cpumask)' };
      if (d('lazySkipped') > 0) return { ...base, decision: 'lazy-skipped', why: `lazy (idle, ${name} still loaded) and the request frees no page table: should_flush_tlb skips it. Its ASID slot is now behind ${name}'s tlb_gen, so switching back to ${name} flushes first`, rule: 'should_flush_tlb (is_lazy)' };
      if (d('otherMmSkipped') > 0) return { ...base, decision: 'other-mm-skipped', why: `runs ${this.mmName(b.loaded)}, not ${name} (it stays in ${name}'s cpumask until an IPI trims it): should_flush_tlb skips it; its slot for ${name} is behind, so a switch back flushes`, rule: 'should_flush_tlb' };
      if (d('ipisReceived') > 0) {
        const why = leftMask
          ? `IPI (the request has freed_tables, so every CPU in the mask gets one); it runs ${this.mmName(b.loaded)}: flush_tlb_func takes it out of mm_cpumask(${name}) and returns`
          : toInitMm
            ? `IPI although lazy: the request has freed_tables, and a lazy CPU could still walk a freed table speculatively; flush_tlb_func switches it to init_mm (cheaper than a flush)`
            : work
              ? `IPI (it runs ${name}): flush_tlb_func — ${work}`
              : `IPI; flush_tlb_func finds it caught up already: nothing to flush`;
        return { ...base, decision: 'ipi', why, rule: leftMask || toInitMm ? 'native_flush_tlb_multi (freed_tables) → flush_tlb_func' : 'native_flush_tlb_multi → flush_tlb_func' };
      }
      return { ...base, decision: 'none', why: 'in the mask, but no IPI was sent', rule: 'native_flush_tlb_multi' };
    });
    // The cost model (docs/multiprocessor.md): the initiator sends the IPIs and waits for the slowest target.
    const c: ShootdownCost = sd.cost;
    const targets = cpus.filter((o) => o.decision === 'ipi');
    const own = cpus[r.initiator]!;
    const terms: [string, number][] = [];
    if (targets.length > 0) {
      terms.push([`ipiSend`, c.ipiSend]);
      if (targets.length > 1) terms.push([`${targets.length - 1} × ipiPerTarget (${c.ipiPerTarget})`, (targets.length - 1) * c.ipiPerTarget]);
      const slowest = targets.reduce((x, o) => (o.cycles > x.cycles ? o : x));
      terms.push([`the slowest target's handler (CPU ${slowest.cpu}: ipiHandler ${c.ipiHandler} + its flush ${slowest.cycles - c.ipiHandler})`, slowest.cycles]);
    }
    if (remotePath && own.invlpg > 0) terms.push([`its own ${own.invlpg} × invlpg (${c.invlpg})`, own.invlpg * c.invlpg]);
    else if (remotePath && (own.fullFlush || own.toInitMm)) terms.push([own.fullFlush ? 'its own full flush (flushFull)' : 'its own switch to init_mm (flushFull)', c.flushFull]);
    return { line: this.line, initiator: r.initiator, mm: name, start: r.start, end: r.end, strideShift: r.strideShift, freedTables: r.freedTables, ...(pages !== undefined ? { pages } : {}), ceiling: sd.ceiling, full, gen: [r.gen, r.mm.tlbGen], cpus, cost: { terms, total: own.cycles } };
  }

  private explainSwitch(lab: ProcessLab, cpu: Cpu, prev: MmContext, next: MmContext, wasLazy: boolean, prevAsid: number, slots: AsidSlot[], flushed: boolean): SwitchEvent {
    const m = lab.machine;
    const from = this.mmName(prev);
    const to = this.mmName(next);
    const asid = cpu.asid;
    const pcid = cpu.tag;
    const c = this.commands[this.line];
    const implicit = c && c.op !== 'run' && next !== m.initMm ? `${c.op === 'write' || c.op === 'read' ? `${c.proc} ran on no CPU: its access scheduled it on CPU ${cpu.index} first. ` : ''}` : '';
    const base = { line: this.line, cpu: cpu.index, from, to, wasLazy, asid, pcid, flushed };
    let why: string;
    if (!m.pcidEnabled) why = `no PCIDs: every CR3 load flushes the TLB`;
    else if (prev === next) {
      if (!wasLazy) why = `a thread of the process already loaded: same address space, same ASID — nothing to do`;
      else if (!flushed) why = `back from lazy mode to ${to}; ASID ${asid} is up to date with ${to}'s tlb_gen (${next.tlbGen}): no flush`;
      else why = `back from lazy mode to ${to}, which changed meanwhile (its tlb_gen is ${next.tlbGen}, ASID ${asid} had caught up to ${slots[prevAsid]?.gen}): flush at the same ASID`;
    } else if (next === m.initMm) why = `switches to init_mm (the kernel's own tables): ${from} is gone or being torn down`;
    else {
      const held = slots.find((s) => s.holder === to);
      if (held && !flushed) why = `${to} still holds ASID ${held.asid} (PCID ${held.pcid}), caught up to its tlb_gen ${next.tlbGen}: no flush — its TLB entries survived the other processes`;
      else if (held) why = `${to} holds ASID ${held.asid}, but the slot is behind (tlb_gen ${held.gen} < ${next.tlbGen}): flush`;
      else {
        const evicted = slots[asid]?.holder;
        why = `${to} holds none of this CPU's ${TLB_NR_DYN_ASIDS} ASIDs: it takes ASID ${asid} (PCID ${pcid}), the next one round robin (next_asid), and flushes it${evicted ? `; ${evicted} held that slot and loses its TLB entries (its next switch here takes a slot anew and flushes)` : ''}`;
      }
    }
    return { ...base, why: implicit + why, rule: 'switch_mm_irqs_off → choose_new_asid' };
  }
}
