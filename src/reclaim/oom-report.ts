/**
 * What an OOM kill reports, as the kernel log does (its own file so that the machine's options
 * can name the event without the MMU level importing the VMM; src/vmm/oom-killer.ts makes it).
 */
/** Which limit ran out, as the kernel log's constraint= says: CONSTRAINT_NONE ('global') or CONSTRAINT_MEMCG ('memcg'). */
export type OomConstraint = 'global' | 'memcg';

/** An OOM kill, as the kernel log reports it. */
export interface OomKill {
  /** The killed process's address space (destroyed by then). */
  space: object;
  /** 'global': the machine ran out; 'memcg': the process's resident limit did (constraint=CONSTRAINT_MEMCG). */
  constraint: OomConstraint;
  /** Its oom_badness points: rss + swap + pgtables + oomScoreAdj × ⌊totalPages / 1000⌋. */
  points: number;
  /** Its VmRSS and VmSwap in pages. */
  rss: number;
  swap: number;
  /** Its page-table pages (the log's pgtables, in pages). */
  pgtables: number;
  oomScoreAdj: number;
  /** The pages the points are relative to: RAM + swap (global), or residentLimit + swap (memcg, mem_cgroup_get_max). */
  totalPages: number;
}

