/**
 * The OOM killer (mm/oom_kill.c): oom_badness, victim selection, the kill and its report, for
 * the machine (global OOM: nothing left to reclaim) and for a memory cgroup (a process at its
 * resident limit with nothing evictable: mem_cgroup_out_of_memory, the cgroup being that one
 * process). Also /proc/PID/oom_score and the oom_score_adj rules.
 */
import { VmmError } from '../errors.js';
import type { OomConstraint, OomKill } from '../reclaim/oom-report.js';
import { describe } from '../address.js';
import type { FaultOutcome } from '../machine/fault.js';

/** OOM_SCORE_ADJ_MIN: a process with this oom_score_adj is never chosen. */
export const OOM_SCORE_ADJ_MIN = -1000;
/** OOM_SCORE_ADJ_MAX. */
export const OOM_SCORE_ADJ_MAX = 1000;

/** What the OOM killer needs of a process's resident set (implemented by ResidentSet). */
export interface OomCandidate {
  /** Resident + swapped + page-table pages: oom_badness before oom_score_adj. */
  badness(): number;
  /** VmRSS in pages. */
  rss(): number;
  /** VmSwap in pages. */
  readonly swappedPages: number;
  /** Its resident limit (the memory cgroup's memory.max, pages). */
  readonly config: { readonly limit: number };
  /** The process (what a kill reports and destroys). */
  readonly owner: object | undefined;
  countOomKill(): void;
}

/** The process side: its oom_score_adj and the machine's killer (an AddressSpace). */
export interface OomProcess {
  readonly oomScoreAdj: number;
  /** @internal */
  readonly oomKiller: OomKiller | undefined;
}

/** Validates an oom_score_adj value (EINVAL naming `name`). */
export function checkOomScoreAdj(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < OOM_SCORE_ADJ_MIN || value > OOM_SCORE_ADJ_MAX) {
    throw new VmmError('EINVAL', `${name} must be a whole number from ${OOM_SCORE_ADJ_MIN} to ${OOM_SCORE_ADJ_MAX}, got ${describe(value)}`);
  }
  return value;
}

/**
 * oom_badness: `points` (rss + swap entries + page-table pages) plus oom_score_adj in units
 * of totalPages / 1000 (integer division first, as the kernel's `adj *= totalpages / 1000`);
 * undefined for OOM_SCORE_ADJ_MIN (never chosen; the kernel's LONG_MIN).
 */
export function oomBadness(points: number, adj: number, totalPages: number): number | undefined {
  if (adj === OOM_SCORE_ADJ_MIN) return undefined;
  return points + adj * Math.floor(totalPages / 1000);
}

/** /proc/PID/oom_score (proc_oom_score): badness scaled into 0..2000, 0 for OOM_SCORE_ADJ_MIN; C's truncating division. */
export function oomScore(points: number, adj: number, totalPages: number): number {
  const b = oomBadness(points, adj, totalPages);
  if (b === undefined) return 0;
  return Math.max(0, Math.trunc(((1000 + Math.trunc((b * 1000) / totalPages)) * 2) / 3));
}

/** The oom_score_adj of a candidate's process (0 when it has none). */
function adjOf(c: OomCandidate): number {
  return (c.owner as Partial<OomProcess> | undefined)?.oomScoreAdj ?? 0;
}

/** The machine's OOM killer. */
export class OomKiller {
  /** OOM kills so far, oldest first. */
  readonly kills: OomKill[] = [];

  constructor(
    /** RAM + swap pages (the global totalpages). */
    private readonly totalPages: () => number,
    /** Swap pages (a memory cgroup's swap.max is unlimited: all of it). */
    private readonly swapPages: () => number,
    /** Destroys a victim's process. */
    private readonly kill: (c: OomCandidate) => void,
    private readonly onOomKill?: (k: OomKill) => void,
  ) {}

  /**
   * select_bad_process over `candidates` in their order (creation order, as for_each_process):
   * the highest badness, the last of equals (the kernel skips only a lower score); undefined
   * when every one has oom_score_adj -1000.
   */
  victim(candidates: Iterable<OomCandidate>): OomCandidate | undefined {
    const total = this.totalPages();
    let best: OomCandidate | undefined;
    let points = -Infinity;
    for (const c of candidates) {
      const p = oomBadness(c.badness(), adjOf(c), total);
      if (p === undefined || p < points) continue;
      best = c;
      points = p;
    }
    return best;
  }

  /** A global OOM kill of `c` (chosen by victim()). */
  killGlobal(c: OomCandidate): void {
    this.report(c, 'global', this.totalPages());
  }

  /**
   * mem_cgroup_out_of_memory for the cgroup that is `c`'s process alone: kills it unless its
   * oom_score_adj is -1000. Returns whether it was killed.
   */
  killMemcg(c: OomCandidate): boolean {
    if (adjOf(c) === OOM_SCORE_ADJ_MIN) return false;
    this.report(c, 'memcg', c.config.limit + this.swapPages());
    return true;
  }

  private report(c: OomCandidate, constraint: OomConstraint, totalPages: number): void {
    const base = c.badness();
    const rss = c.rss();
    const swap = c.swappedPages;
    const adj = adjOf(c);
    const k: OomKill = { space: c.owner ?? c, constraint, points: oomBadness(base, adj, totalPages)!, rss, swap, pgtables: base - rss - swap, oomScoreAdj: adj, totalPages };
    this.kills.push(k);
    c.countOomKill();
    this.kill(c);
    if (!this.onOomKill) return;
    try {
      this.onOomKill(k);
    } catch (e) {
      // The kill stands (the victim is gone, counted and reported); the fault that ran the killer fails with the callback's error.
      throw new VmmError('EINVAL', `onOomKill threw after the OOM killer killed a process (the kill stands): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }
}

/**
 * The outcome of a fault at a resident limit with nothing evictable: the memory cgroup OOM
 * killer kills the process (the access fails, ENOMEM), or cannot (oom_score_adj -1000: the
 * access fails, ENOMEM, nothing killed; Linux would retry the charge forever).
 */
export function memcgOutOfMemory(c: OomCandidate): FaultOutcome {
  const killer = (c.owner as Partial<OomProcess> | undefined)?.oomKiller;
  const reason = `resident limit reached (residentLimit ${c.config.limit} pages, nothing evictable: swap full or absent, or every resident page locked)`;
  if (killer?.killMemcg(c)) return { type: 'oom', reason, detail: 'the process was killed by the memory cgroup OOM killer' };
  return { type: 'oom', reason, detail: 'oomScoreAdj -1000: the memory cgroup OOM killer may not kill it, nothing was killed' };
}

export type { OomConstraint, OomKill } from '../reclaim/oom-report.js';
