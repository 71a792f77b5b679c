/**
 * How one CPU tags the address spaces it runs: its PCIDs (Linux calls them ASIDs) and, per
 * tag, the flush generation its TLB has caught up to. Two models:
 * - 'linux' (default): Linux's per-CPU dynamic ASIDs (arch/x86/mm/tlb.c, 6.18:
 *   choose_new_asid, initialize_tlbstate_and_flush): TLB_NR_DYN_ASIDS = 6 slots per CPU, each
 *   remembering the mm (ctx_id) and tlb_gen it holds; a switch to an mm that owns a slot
 *   flushes only when the slot is behind its tlb_gen, a switch to one that owns none takes the
 *   next slot round robin (next_asid) and flushes it. The PCID is the ASID + 1 (kern_pcid).
 *   With INVLPGB, an mm that has a global ASID uses it on every CPU and never flushes on a switch.
 * - 'static': each address space keeps one PCID (1..4095) on every CPU for its life (vmsim's
 *   model before the multiprocessor; spaces beyond 4095 share PCID 0, flushed at every switch);
 *   per CPU a generation per space says when a switch must flush.
 */
import type { MmContext } from './mm-context.js';

/** Linux's TLB_NR_DYN_ASIDS (arch/x86/include/asm/tlbflush.h). */
export const TLB_NR_DYN_ASIDS = 6;
/** Linux's MAX_ASID_AVAILABLE without page-table isolation: (1 << 12) - 2. */
export const MAX_ASID_AVAILABLE = (1 << 12) - 2;

/** choose_new_asid's answer. */
export interface AsidChoice {
  asid: number;
  needFlush: boolean;
}

/** One CPU's ASID state (cpu_tlbstate.ctxs, next_asid) in one of the two models. */
export interface CpuAsids {
  /** initialize_tlbstate_and_flush: init_mm holds the first tag; returns its ASID. */
  boot(initMm: MmContext): number;
  /** choose_new_asid(next, next_tlb_gen). */
  choose(mm: MmContext, gen: number): AsidChoice;
  /** After a flushing switch: the tag now holds `mm` at generation `gen` (ctxs[asid] = { ctx_id, tlb_gen }). */
  record(asid: number, mm: MmContext, gen: number): void;
  /** The generation the tag `asid` has caught up to (ctxs[asid].tlb_gen). */
  genOf(asid: number, mm: MmContext): number;
  /** Sets it (flush_tlb_func's last step). */
  setGen(asid: number, mm: MmContext, gen: number): void;
  /** The PCID written to CR3 for `asid` (kern_pcid), 0 without PCIDs. */
  pcid(asid: number): number;
  /** is_global_asid: an INVLPGB-maintained ASID (never behind). */
  isGlobal(asid: number): boolean;
  /** The PCIDs that may tag entries of user spaces on this CPU (a kernel-half change must reach them all). */
  liveTags(): number[];
  /** The mm whose entries tag `pcid` holds and may still use without a flush, with the generation it caught up to; undefined when none. */
  holder(pcid: number): { ctxId: number; gen: number } | undefined;
  /** PCID of `mm` on this CPU now, 0 when it holds none. */
  pcidOf(mm: MmContext): number;
}

/** Linux's dynamic ASIDs: six slots per CPU, reused round robin. */
export class LinuxAsids implements CpuAsids {
  private readonly ctxId = new Float64Array(TLB_NR_DYN_ASIDS);
  private readonly gens = new Float64Array(TLB_NR_DYN_ASIDS);
  private nextAsid = 1;

  constructor(
    private readonly pcide: boolean,
    private readonly invlpgb: boolean,
  ) {}

  boot(initMm: MmContext): number {
    this.ctxId.fill(0);
    this.ctxId[0] = initMm.ctxId;
    this.gens[0] = initMm.tlbGen;
    this.nextAsid = 1;
    return 0;
  }

  choose(mm: MmContext, gen: number): AsidChoice {
    if (!this.pcide) return { asid: 0, needFlush: true };
    // TLB consistency for global ASIDs is kept by INVLPGB: always up to date.
    if (this.invlpgb && mm.globalAsid !== 0) return { asid: mm.globalAsid, needFlush: false };
    for (let asid = 0; asid < TLB_NR_DYN_ASIDS; asid++) {
      if (this.ctxId[asid] !== mm.ctxId) continue;
      return { asid, needFlush: this.gens[asid]! < gen };
    }
    let asid = this.nextAsid++;
    if (asid >= TLB_NR_DYN_ASIDS) {
      asid = 0;
      this.nextAsid = 1;
    }
    return { asid, needFlush: true };
  }

  record(asid: number, mm: MmContext, gen: number): void {
    if (asid >= TLB_NR_DYN_ASIDS) return;
    this.ctxId[asid] = mm.ctxId;
    this.gens[asid] = gen;
  }

  genOf(asid: number): number {
    return this.gens[asid]!;
  }

  setGen(asid: number, _mm: MmContext, gen: number): void {
    if (asid < TLB_NR_DYN_ASIDS) this.gens[asid] = gen;
  }

  pcid(asid: number): number {
    return this.pcide ? asid + 1 : 0;
  }

  isGlobal(asid: number): boolean {
    return asid >= TLB_NR_DYN_ASIDS;
  }

  liveTags(): number[] {
    if (!this.pcide) return [0];
    const tags: number[] = [];
    for (let asid = 0; asid < TLB_NR_DYN_ASIDS; asid++) if (this.ctxId[asid] !== 0) tags.push(asid + 1);
    return tags;
  }

  holder(pcid: number): { ctxId: number; gen: number } | undefined {
    const asid = this.pcide ? pcid - 1 : 0;
    if (asid < 0 || asid >= TLB_NR_DYN_ASIDS || this.ctxId[asid] === 0) return undefined;
    return { ctxId: this.ctxId[asid]!, gen: this.gens[asid]! };
  }

  pcidOf(mm: MmContext): number {
    if (!this.pcide) return 0;
    if (this.invlpgb && mm.globalAsid !== 0) return mm.globalAsid + 1;
    for (let asid = 0; asid < TLB_NR_DYN_ASIDS; asid++) if (this.ctxId[asid] === mm.ctxId) return asid + 1;
    return 0;
  }
}

/** The static model: a space's PCID is fixed (mm.staticPcid); this CPU remembers the generation it caught up to per space. */
export class StaticAsids implements CpuAsids {
  /** ctx_id → the generation this CPU's entries of that space caught up to. */
  private readonly gens = new Map<number, number>();
  /** PCID → ctx_id of the space that owns it (kept for the auditor). */
  private readonly owners = new Map<number, number>();

  constructor(private readonly pcide: boolean) {}

  boot(): number {
    this.gens.clear();
    this.owners.clear();
    return 0;
  }

  choose(mm: MmContext, gen: number): AsidChoice {
    const pcid = this.pcide ? mm.staticPcid : 0;
    // PCID 0 is shared (the idle tables, spaces beyond 4095, no PCIDs): it always flushes.
    if (pcid === 0) return { asid: 0, needFlush: true };
    const caught = this.gens.get(mm.ctxId);
    // A PCID no space of this CPU used since it was handed out holds no entries (destroy flushes it everywhere).
    if (caught === undefined) {
      this.record(pcid, mm, gen);
      return { asid: pcid, needFlush: false };
    }
    return { asid: pcid, needFlush: caught < gen };
  }

  record(asid: number, mm: MmContext, gen: number): void {
    if (asid === 0) return;
    this.gens.set(mm.ctxId, gen);
    this.owners.set(asid, mm.ctxId);
  }

  genOf(_asid: number, mm: MmContext): number {
    return this.gens.get(mm.ctxId) ?? mm.tlbGen;
  }

  setGen(asid: number, mm: MmContext, gen: number): void {
    if (asid !== 0) this.gens.set(mm.ctxId, gen);
  }

  pcid(asid: number): number {
    return this.pcide ? asid : 0;
  }

  isGlobal(): boolean {
    return false;
  }

  liveTags(): number[] {
    return [0, ...this.owners.keys()];
  }

  holder(pcid: number): { ctxId: number; gen: number } | undefined {
    const ctxId = this.owners.get(pcid);
    if (ctxId === undefined) return undefined;
    const gen = this.gens.get(ctxId);
    return gen === undefined ? undefined : { ctxId, gen };
  }

  /** Forgets a destroyed space (its PCID was flushed on every CPU). */
  forget(mm: MmContext): void {
    this.gens.delete(mm.ctxId);
    if (this.owners.get(mm.staticPcid) === mm.ctxId) this.owners.delete(mm.staticPcid);
  }

  pcidOf(mm: MmContext): number {
    return this.pcide ? mm.staticPcid : 0;
  }
}
