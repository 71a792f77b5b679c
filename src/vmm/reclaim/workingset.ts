/**
 * Workingset detection (mm/workingset.c): an evicted page cache page leaves a shadow entry in
 * its file's page cache holding the node's nonresident age at its eviction. The age counts
 * evictions and activations (workingset_age_nonresident). When the page is read in again
 * (a refault), the distance — how many pages were evicted or activated since — is compared
 * with the workingset it competed with (the active file list, plus the anonymous lists while
 * swap has room): a page that would have stayed resident had the workingset had that much more
 * memory comes back active (workingset_activate_file), and one that was active before its
 * eviction restores PG_workingset (workingset_restore_file).
 */
import { PG, type CachePage } from '../file/cache-page.js';

/** /proc/vmstat's workingset_* counters. */
export interface WorkingsetCounters {
  workingset_refault_anon: number;
  workingset_refault_file: number;
  workingset_activate_anon: number;
  workingset_activate_file: number;
  workingset_restore_anon: number;
  workingset_restore_file: number;
  workingset_nodereclaim: number;
}

/** The sizes the refault distance is compared with, read when needed. */
export interface LruSizes {
  /** NR_ACTIVE_FILE. */
  activeFile(): number;
  /** The anonymous lists, and free swap pages (mem_cgroup_get_nr_swap_pages): anonymous pages compete only while swap has room. */
  anon(): { activeAnon: number; inactiveAnon: number; swapFree: number };
}

/** The node's nonresident age and the shadow entries' encoding. */
export class Workingset {
  /** lruvec->nonresident_age. */
  private age = 0;
  readonly counters: WorkingsetCounters = {
    workingset_refault_anon: 0,
    workingset_refault_file: 0,
    workingset_activate_anon: 0,
    workingset_activate_file: 0,
    workingset_restore_anon: 0,
    workingset_restore_file: 0,
    workingset_nodereclaim: 0,
  };

  /** workingset_eviction: the shadow entry of a page being evicted (the age, and PG_workingset in bit 0). */
  eviction(p: CachePage): number {
    const shadow = this.age * 2 + (p.has(PG.WORKINGSET) ? 1 : 0);
    this.age++;
    return shadow;
  }

  /** workingset_activation: a page activated by use ages the nonresident clock. */
  activation(): void {
    this.age++;
  }

  /**
   * workingset_refault for a file page: counts the refault and, when its distance is within the
   * workingset, marks the page active (and PG_workingset when it was before). Returns whether
   * it was activated; `noteCost` is lru_note_cost_refault for a restored page.
   */
  refaultFile(p: CachePage, shadow: number, sizes: LruSizes, noteCost: () => void): boolean {
    this.counters.workingset_refault_file++;
    const eviction = Math.floor(shadow / 2);
    const wasWorkingset = shadow % 2 === 1;
    const distance = this.age - eviction;
    let workingset = sizes.activeFile();
    if (distance > workingset) {
      const a = sizes.anon();
      if (a.swapFree > 0) workingset += a.activeAnon + a.inactiveAnon;
    }
    if (distance > workingset) return false;
    p.flags |= PG.ACTIVE;
    this.age++;
    this.counters.workingset_activate_file++;
    if (wasWorkingset) {
      p.flags |= PG.WORKINGSET;
      noteCost();
      this.counters.workingset_restore_file++;
    }
    return true;
  }
}
