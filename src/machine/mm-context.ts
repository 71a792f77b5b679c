/**
 * What the TLB code knows of one address space, as Linux keeps it in mm_struct and
 * mm->context (arch/x86/include/asm/mmu.h): a context id never reused (ctx_id), the flush
 * generation (tlb_gen), the CPUs that may hold its translations (mm_cpumask) and, with AMD's
 * INVLPGB, its global ASID. init_mm (the kernel's idle tables) has one too.
 */

/** Linux's mm->context for one address space. */
export class MmContext {
  /** The root frame the CPUs load into CR3 for it. */
  readonly rootFrame: number;
  /** mm->context.ctx_id: unique for the machine's life (a CPU's ASID slot names its mm by it). */
  readonly ctxId: number;
  /** mm->context.tlb_gen: bumped by every flush request (inc_mm_tlb_gen). */
  tlbGen = 0;
  /** mm_cpumask: 1 for each CPU that may hold its translations (set when a CPU switches to it, cleared lazily). */
  readonly cpumask: Uint8Array;
  /** How many bits of cpumask are set. */
  cpusInMask = 0;
  /** The global ASID (INVLPGB), 0 when it has none. */
  globalAsid = 0;
  /** mm->context.asid_transition: some CPU may still run it with a dynamic ASID. */
  asidTransition = false;
  /** Remote flushes so far (flush_tlb_multi), for consider_global_asid's sampling. */
  remoteFlushes = 0;
  /** The fixed PCID of the 'static' ASID model (0 when it has none). */
  staticPcid = 0;
  /** The space this context belongs to (undefined for init_mm). */
  readonly owner: unknown;
  /** Set when the space is destroyed: its ASID slots on every CPU are dead. */
  dead = false;

  constructor(rootFrame: number, ctxId: number, cpus: number, owner?: unknown) {
    this.rootFrame = rootFrame;
    this.ctxId = ctxId;
    this.cpumask = new Uint8Array(cpus);
    this.owner = owner;
  }

  /** cpumask_set_cpu. */
  setCpu(cpu: number): void {
    if (this.cpumask[cpu] === 0) {
      this.cpumask[cpu] = 1;
      this.cpusInMask++;
    }
  }

  /** cpumask_clear_cpu. */
  clearCpu(cpu: number): void {
    if (this.cpumask[cpu] === 1) {
      this.cpumask[cpu] = 0;
      this.cpusInMask--;
    }
  }

  /** cpumask_any_but(mm_cpumask(mm), cpu) < nr_cpu_ids: another CPU is in the mask. */
  anyBut(cpu: number): boolean {
    return this.cpusInMask - this.cpumask[cpu]! > 0;
  }
}
