/**
 * The multi-generation LRU for page cache pages (mm/vmscan.c's lru_gen, include/linux/mm_inline.h;
 * Linux 6.18), used when the machine is built with `vm: { lruGen: true }` (the
 * /sys/kernel/mm/lru_gen/enabled of such a kernel). Pages live in generations numbered
 * min_seq..max_seq, two to MAX_NR_GENS (4) of them:
 * - lru_gen_folio_seq places a page: one activated by reclaim or a refault (PG_active) in the
 *   second youngest generation (the youngest with PG_workingset); one reclaim met dirty
 *   (PG_reclaim) there too; a page put back by reclaim, or rotated once its writeback ended,
 *   in the oldest; a new page three generations below the youngest (two with PG_workingset),
 *   never below min_seq;
 * - folio_mark_accessed (read(2)) counts uses instead of activating (lru_gen_inc_refs):
 *   PG_referenced, then the LRU_REFS counter up to 3, then PG_workingset;
 * - aging (inc_max_seq, when only MIN_NR_GENS generations are left to evict from): a new
 *   youngest generation, and every mapped page found young through its mappings moves there
 *   (the page-table walk; Accessed cleared);
 * - eviction takes the oldest generation from its tail (an empty oldest generation retires:
 *   min_seq + 1): sort_folio protects a page used through read(2) four times with PG_workingset
 *   (folio_inc_gen to the next generation), moves a dirty page to the next generation with
 *   PG_reclaim (the flusher writes it), and gives the rest to the eviction pipeline, where a
 *   page mapped by a young entry is activated (folio_check_references under lru_gen) and an
 *   unreferenced one is dropped;
 * - an eviction leaves a shadow entry holding min_seq and the page's uses (lru_gen_eviction); a
 *   refault within MAX_NR_GENS generations of max_seq is recent (lru_gen_test_recent): the page
 *   comes back active (workingset_activate_file) with its uses, and PG_workingset restored.
 * Not modelled: the PID controller between tiers (get_tier_idx: with no refault history it
 * protects no tier, which is what is used here), the per-type min_seq race with anonymous
 * pages (anonymous pages stay with their processes' policies; get_scan_count balances the two),
 * Bloom filters and look-around.
 * Active(file) is what lru_gen_is_active counts: the two youngest generations.
 */
import { CachePage, LruList, PG } from '../file/cache-page.js';
import { CachePageList } from './cache-page-list.js';

/** MIN_NR_GENS and MAX_NR_GENS. */
export const MIN_NR_GENS = 2;
export const MAX_NR_GENS = 4;
/** LRU_REFS counter's largest value (LRU_REFS_WIDTH 2). */
const MAX_REFS = 3;

/** The page cache's generations. */
export class FileLruGen {
  readonly gen = true as const;
  private readonly gens = new Map<number, CachePageList>();
  private minSeq = 0;
  private maxSeq = 1;
  /** Activations (pgactivate), deactivations (none here) and rotations at writeback's end. */
  pgactivate = 0;
  pgdeactivate = 0;
  pgrotated = 0;
  /** Generations made by aging (inc_max_seq) and retired (min_seq advanced). */
  agings = 0;
  retired = 0;

  constructor() {
    this.gens.set(0, new CachePageList());
    this.gens.set(1, new CachePageList());
  }

  /** min_seq and max_seq. */
  get seqs(): { min: number; max: number } {
    return { min: this.minSeq, max: this.maxSeq };
  }

  /** Pages in the two youngest generations (lru_gen_is_active: Active(file)). */
  get activeSize(): number {
    let n = 0;
    for (let s = Math.max(this.minSeq, this.maxSeq - 1); s <= this.maxSeq; s++) n += this.gens.get(s)!.size;
    return n;
  }
  /** The other generations (Inactive(file)). */
  get inactiveSize(): number {
    let n = 0;
    for (let s = this.minSeq; s < this.maxSeq - 1; s++) n += this.gens.get(s)!.size;
    return n;
  }

  /** lru_gen_folio_seq: the generation a page (re)enters the lists in. */
  private seqFor(p: CachePage, reclaiming: boolean): number {
    const ws = p.has(PG.WORKINGSET) ? 1 : 0;
    let gen: number;
    if (p.has(PG.ACTIVE)) gen = MIN_NR_GENS - ws;
    else if (reclaiming) gen = MAX_NR_GENS;
    else if (p.has(PG.RECLAIM) && p.has(PG.DIRTY)) gen = MIN_NR_GENS;
    else gen = MAX_NR_GENS - ws;
    return Math.max(this.maxSeq - gen + 1, this.minSeq);
  }

  /** lru_gen_add_folio: into its generation (PG_active only says where: cleared). */
  private place(p: CachePage, reclaiming: boolean, tail = false): void {
    const seq = this.seqFor(p, reclaiming);
    p.flags &= ~PG.ACTIVE;
    p.seq = seq;
    p.list = seq >= this.maxSeq - 1 ? LruList.ACTIVE : LruList.INACTIVE;
    if (tail) this.gens.get(seq)!.pushTail(p);
    else this.gens.get(seq)!.pushHead(p);
  }

  /** folio_add_lru. */
  add(p: CachePage): void {
    this.place(p, false);
  }

  /** The page leaves the lists (truncation, eviction). */
  remove(p: CachePage): void {
    if (p.seq < 0) return;
    this.gens.get(p.seq)!.unlink(p);
    p.seq = -1;
    p.list = LruList.NONE;
  }

  /** folio_mark_accessed under lru_gen: one more use (lru_gen_inc_refs). */
  markAccessed(p: CachePage): void {
    if (!p.has(PG.REFERENCED)) {
      p.flags |= PG.REFERENCED;
      p.refs = 0;
    } else if (p.refs < MAX_REFS) p.refs++;
    else p.flags |= PG.WORKINGSET;
  }

  /** Uses through read(2) counted for a page (folio_lru_refs: PG_referenced and the counter). */
  private refsOf(p: CachePage): number {
    return p.has(PG.REFERENCED) ? p.refs + 1 : 0;
  }

  /** Reclaim activates the page (FOLIOREF_ACTIVATE, mlocked, held): to the second youngest generation (the youngest with PG_workingset). */
  activate(p: CachePage): void {
    this.remove(p);
    p.flags |= PG.ACTIVE;
    this.place(p, false);
    this.pgactivate++;
  }

  /** A page reclaim put back: where it belongs, but never the oldest generation (evict_folios). */
  keep(p: CachePage): void {
    this.remove(p);
    if (this.seqFor(p, false) === this.minSeq) p.flags |= PG.ACTIVE;
    this.place(p, false);
  }

  /** MADV_COLD and the like: to the oldest generation's tail, its uses forgotten. */
  deactivate(p: CachePage): void {
    this.coldest(p);
  }

  rotateActive(p: CachePage): void {
    this.activate(p);
  }

  /** folio_rotate_reclaimable: a PG_reclaim page whose writeback ended goes to the oldest generation's tail. */
  rotateToTail(p: CachePage): void {
    this.remove(p);
    p.flags &= ~(PG.ACTIVE | PG.RECLAIM);
    this.place(p, true, true);
    this.pgrotated++;
  }

  /** folio_deactivate (MADV_COLD): back where a page neither active nor used belongs (lru_gen_add_folio). */
  deactivateCold(p: CachePage): void {
    this.remove(p);
    p.flags &= ~(PG.ACTIVE | PG.REFERENCED);
    p.refs = 0;
    this.place(p, false);
    this.pgdeactivate++;
  }

  /** MADV_COLD / deactivate_file_folio: the oldest generation's tail, not referenced. */
  coldest(p: CachePage): void {
    this.remove(p);
    p.flags &= ~(PG.ACTIVE | PG.REFERENCED);
    p.refs = 0;
    this.place(p, true, true);
  }

  /** No active list to scan: aging replaces shrink_active_list. */
  fromTail(activeList: boolean, n: number): CachePage[] {
    return activeList ? [] : this.oldestTail(n);
  }

  /** Never low: there is no inactive list to refill. */
  inactiveIsLow(): boolean {
    return false;
  }

  /** Generations left to evict from before aging is due (should_run_aging when MIN_NR_GENS). */
  get generations(): number {
    return this.maxSeq - this.minSeq + 1;
  }

  /** try_to_inc_min_seq: empty oldest generations retire while more than MIN_NR_GENS are left. */
  private retireEmpty(): void {
    while (this.generations > MIN_NR_GENS && this.gens.get(this.minSeq)!.size === 0) {
      this.gens.delete(this.minSeq++);
      this.retired++;
    }
  }

  /**
   * inc_max_seq and the walk: a new youngest generation, and every page `young` finds referenced
   * through a mapping (its Accessed bits cleared by it) moves there.
   */
  age(young: (pages: CachePage[]) => Uint8Array): void {
    this.retireEmpty();
    if (this.generations >= MAX_NR_GENS) return;
    this.maxSeq++;
    this.gens.set(this.maxSeq, new CachePageList());
    this.agings++;
    const mapped: CachePage[] = [];
    for (let s = this.minSeq; s < this.maxSeq; s++) for (let p = this.gens.get(s)!.head; p !== null; p = p.next) if (p.inode.attachments > 0) mapped.push(p);
    // The second youngest is active now: its pages' list says so.
    for (let p = this.gens.get(this.maxSeq - 1)!.head; p !== null; p = p.next) p.list = LruList.ACTIVE;
    for (let s = this.minSeq; s < this.maxSeq - 1; s++) for (let p = this.gens.get(s)!.head; p !== null; p = p.next) p.list = LruList.INACTIVE;
    if (mapped.length === 0) return;
    const y = young(mapped);
    for (let k = 0; k < mapped.length; k++) {
      if (!y[k]) continue;
      const p = mapped[k]!;
      this.gens.get(p.seq)!.unlink(p);
      p.seq = this.maxSeq;
      p.list = LruList.ACTIVE;
      this.gens.get(this.maxSeq)!.pushHead(p);
    }
  }

  /**
   * Up to n pages from the oldest generation's tail for the pipeline, after sort_folio: a page
   * used through read(2) to the full with PG_workingset is protected (to the next generation);
   * a dirty one goes to the next generation with PG_reclaim (`dirty` counts them). Retires empty
   * oldest generations as it goes; stops when only MIN_NR_GENS are left and the oldest is empty
   * (aging is due).
   */
  oldestTail(n: number, sorted?: { dirty: number; protected: number }): CachePage[] {
    const out: CachePage[] = [];
    let budget = 4 * n + 64;
    while (out.length < n && budget-- > 0) {
      this.retireEmpty();
      const oldest = this.gens.get(this.minSeq)!;
      // The pages already taken stay on the list until the pipeline decides: skip them.
      let p = oldest.tail;
      while (p !== null && out.includes(p)) p = p.prev;
      if (p === null) break;
      if (this.refsOf(p) === MAX_REFS + 1 && p.has(PG.WORKINGSET)) {
        this.incGen(p, false);
        if (sorted) sorted.protected++;
        continue;
      }
      if (p.has(PG.DIRTY)) {
        this.incGen(p, true);
        if (sorted) sorted.dirty++;
        continue;
      }
      out.push(p);
    }
    return out;
  }

  /** folio_inc_gen: to the generation after the oldest, uses forgotten; `reclaiming` sets PG_reclaim. */
  private incGen(p: CachePage, reclaiming: boolean): void {
    this.remove(p);
    p.flags &= ~PG.REFERENCED;
    p.refs = 0;
    if (reclaiming) p.flags |= PG.RECLAIM;
    const seq = Math.min(this.minSeq + 1, this.maxSeq);
    p.seq = seq;
    p.list = seq >= this.maxSeq - 1 ? LruList.ACTIVE : LruList.INACTIVE;
    this.gens.get(seq)!.pushHead(p);
  }

  /** lru_gen_eviction: the shadow entry (min_seq, the page's uses, PG_workingset). */
  eviction(p: CachePage): number {
    const refs = this.refsOf(p);
    const token = this.minSeq * 4 + Math.max(refs - 1, 0);
    return token * 2 + (p.has(PG.WORKINGSET) ? 1 : 0);
  }

  /**
   * lru_gen_refault: a refault within MAX_NR_GENS generations of max_seq is recent: the page
   * comes back active with its uses (and PG_workingset). Returns whether it was recent.
   */
  refault(p: CachePage, shadow: number, counters: { workingset_activate_file: number; workingset_restore_file: number; workingset_refault_file: number }): boolean {
    counters.workingset_refault_file++;
    const token = Math.floor(shadow / 2);
    const ws = shadow % 2 === 1;
    const seq = Math.floor(token / 4);
    if (Math.abs(this.maxSeq - seq) >= MAX_NR_GENS) return false;
    const refs = (token % 4) + 1;
    p.flags |= PG.ACTIVE | PG.REFERENCED;
    p.refs = Math.min(refs - 1, MAX_REFS);
    counters.workingset_activate_file++;
    if (ws) {
      p.flags |= PG.WORKINGSET;
      counters.workingset_restore_file++;
    }
    return true;
  }

  /** @internal Checks the generations' links and counts (tests). */
  check(): void {
    for (const [seq, g] of this.gens) {
      if (seq < this.minSeq || seq > this.maxSeq) throw new Error(`file MGLRU: generation ${seq} outside [${this.minSeq}, ${this.maxSeq}]`);
      let n = 0;
      let prev: CachePage | null = null;
      for (let p = g.head; p !== null; p = p.next) {
        if (p.prev !== prev) throw new Error('file MGLRU: broken back link');
        if (p.seq !== seq) throw new Error(`file MGLRU: page ${p.index} of inode ${p.inode.id} in generation ${seq} says ${p.seq}`);
        const active = seq >= this.maxSeq - 1;
        if ((p.list === LruList.ACTIVE) !== active) throw new Error(`file MGLRU: page ${p.index} list disagrees with its generation`);
        prev = p;
        n++;
      }
      if (prev !== g.tail || n !== g.size) throw new Error('file MGLRU: generation count or tail wrong');
    }
    if (this.generations < MIN_NR_GENS || this.generations > MAX_NR_GENS) throw new Error(`file MGLRU: ${this.generations} generations`);
  }
}
