/**
 * Writeback of dirty file pages in simulated time (mm/page-writeback.c, fs/fs-writeback.c):
 * - the dirty limits of domain_dirty_limits: dirty_ratio and dirty_background_ratio percent
 *   (in PAGE_SIZE/100 fixed point, as the kernel computes them) of the dirtyable memory, free
 *   pages above the reserve plus the file LRU pages (global_dirtyable_memory); a background
 *   limit at or above the hard one is halved;
 * - the flusher (wb_workfn): background writeback while the dirty pages exceed the background
 *   limit (started by a writer that passes it), the periodic "kupdate" writeback of files dirty
 *   for longer than dirty_expire_centisecs, run every dirty_writeback_centisecs once a file is
 *   dirty (wb_wakeup_delayed), and writeback of everything when reclaim asks for it
 *   (WB_REASON_VMSCAN). Oldest dirty file first, its pages in offset order from where the
 *   flusher last wrote in it (mapping->writeback_index, range_cyclic), wrapping to offset 0;
 * - writers throttled above the hard limit: a writer that dirties a page while the dirty pages
 *   exceed dirty_ratio waits until the flusher has brought them back to it (Linux's
 *   balance_dirty_pages also slows writers proportionally between the "freerun" ceiling
 *   (limit + background) / 2 and the limit; vmsim throttles only above the limit).
 * The disk writes one page in DISK_WRITE_NS (20 µs, about 200 MB/s) of simulated time; the
 * flusher is a thread that runs between the machine's steps: whenever the VMM is entered
 * (a fault, a system call, a file operation, machine.sleep), it first catches up with the time
 * that passed. Reads take no simulated time.
 */
import { NS_PER_CENTISEC, type SimClock } from '../sim-clock.js';
import type { VmTunables } from '../vm-tunables.js';
import type { PageCache } from './page-cache.js';
import type { CachePage } from './cache-page.js';
import { nextDirtyPage, pageWrittenBack, type RegularFile } from './regular-file.js';

/** Simulated time the disk takes to write one page. */
export const DISK_WRITE_NS = 20_000;

/** The dirty limits in pages (what /proc/vmstat's nr_dirty_threshold and nr_dirty_background_threshold show). */
export interface DirtyLimits {
  background: number;
  limit: number;
}

/** What the flusher needs of the machine. */
export interface FlusherContext {
  readonly clock: SimClock;
  readonly tunables: VmTunables;
  /** Free frames now. */
  freePages(): number;
  /** totalreserve_pages: the free pages the kernel keeps (the high watermark). */
  reservePages(): number;
}

/** SWAP_CLUSTER_MAX: reclaim that waits for writeback waits for this many pages. */
const RECLAIM_WAIT_PAGES = 32;

/** The machine's writeback. */
export class Flusher {
  /** The flusher's own clock: the time up to which it has run (behind `now` by less than a page write while busy). */
  private ft = 0;
  /** When it next wakes for periodic writeback (undefined: nothing dirty, asleep). */
  private nextWake: number | undefined;
  /** When periodic writeback last ran (wb->last_old_flush). */
  private lastOldFlush = 0;
  /** Periodic writeback writes files dirtied at or before this time. */
  private kupdateCutoff = -Infinity;
  /** Background writeback is running (until the dirty pages are back under the background limit). */
  private background = false;
  /** Pages still to write for reclaim's wake-up (WB_REASON_VMSCAN). */
  private writeAll = 0;
  /** Writers throttled above the dirty limit, and the simulated time they waited (ns). */
  throttled = 0;
  throttledNs = 0;

  constructor(
    private ctx: FlusherContext,
    private readonly cache: PageCache,
  ) {
    this.wire();
  }

  /** The page cache tells this flusher when a file goes from clean to dirty. */
  private wire(): void {
    this.cache.onFirstDirty = () => {
      // wb_wakeup_delayed: the first dirty inode arms the periodic wake-up.
      const interval = this.interval;
      if (this.nextWake === undefined && interval > 0) this.nextWake = this.ctx.clock.now() + interval;
    };
  }

  /** @internal A restored machine (src/snapshot): its context, and the page cache's hook pointing at this flusher. */
  rewire(ctx: FlusherContext): void {
    this.ctx = ctx;
    this.wire();
  }

  private get interval(): number {
    return this.ctx.tunables.dirtyWritebackCentisecs * NS_PER_CENTISEC;
  }

  private get expire(): number {
    return this.ctx.tunables.dirtyExpireCentisecs * NS_PER_CENTISEC;
  }

  /** domain_dirty_limits over global_dirtyable_memory. */
  limits(): DirtyLimits {
    const t = this.ctx.tunables;
    const free = this.ctx.freePages();
    const dirtyable = free - Math.min(free, this.ctx.reservePages()) + this.cache.lru.inactiveSize + this.cache.lru.activeSize + 1;
    const ratio = Math.floor((t.dirtyRatio * 4096) / 100);
    const bgRatio = Math.floor((t.dirtyBackgroundRatio * 4096) / 100);
    const limit = Math.floor((ratio * dirtyable) / 4096);
    let background = Math.floor((bgRatio * dirtyable) / 4096);
    if (background >= limit) background = Math.floor(limit / 2);
    return { background, limit };
  }

  /** The next page the flusher writes now, or undefined when it has nothing to do. */
  private nextPage(): CachePage | undefined {
    const files = this.cache.dirtyFiles;
    if (files.size === 0) return undefined;
    if (this.background && this.cache.nrDirty <= this.limits().background) this.background = false;
    const oldest = files.values().next().value!;
    if (this.writeAll > 0 || this.background || oldest.dirtiedWhen <= this.kupdateCutoff) return nextDirtyPage(oldest);
    return undefined;
  }

  /** Writes one page at the flusher's time. */
  private writeOne(p: CachePage): void {
    this.cache.writePages([p]);
    pageWrittenBack(p.inode as RegularFile, p);
    if (this.writeAll > 0) this.writeAll--;
    this.ft += DISK_WRITE_NS;
  }

  /** Runs the flusher up to now: the pages it had time to write are written. Cheap when nothing is dirty. */
  catchUp(): void {
    const now = this.ctx.clock.now();
    for (;;) {
      if (this.cache.dirtyFiles.size === 0) {
        this.ft = Math.max(this.ft, now);
        this.nextWake = undefined;
        this.writeAll = 0;
        this.background = false;
        return;
      }
      const p = this.nextPage();
      if (p) {
        // Busy: the page is not written yet, and having looked it up moves nothing (writeback_index
        // moves past a page only when it is written).
        if (this.ft + DISK_WRITE_NS > now) return;
        this.writeOne(p);
        continue;
      }
      // Idle: the periodic wake-ups due by now, straight to the first that finds an expired file.
      let w = this.nextWake;
      if (w === undefined || w > now) {
        this.ft = Math.max(this.ft, now);
        return;
      }
      const interval = this.interval;
      const oldest = this.cache.dirtyFiles.values().next().value!;
      const due = oldest.dirtiedWhen + this.expire;
      if (due > w && interval > 0) w += Math.ceil((due - w) / interval) * interval;
      if (w > now) {
        this.nextWake = w;
        this.ft = Math.max(this.ft, now);
        return;
      }
      this.ft = Math.max(this.ft, w);
      // wb_check_old_data_flush: at most once per interval, files dirty since before w - expire go.
      if (w >= this.lastOldFlush + interval) {
        this.lastOldFlush = w;
        this.kupdateCutoff = w - this.expire;
      }
      this.nextWake = interval > 0 ? w + interval : undefined;
    }
  }

  /**
   * balance_dirty_pages after a writer dirtied a page: background writeback starts above the
   * background limit, and above the hard limit the writer waits (simulated time passes) until
   * the flusher has written enough.
   */
  balance(): void {
    this.catchUp();
    const l = this.limits();
    if (this.cache.nrDirty > l.background) this.background = true;
    if (this.cache.nrDirty <= l.limit) return;
    this.throttled++;
    const start = this.ctx.clock.now();
    this.ft = Math.max(this.ft, start);
    while (this.cache.nrDirty > this.limits().limit) {
      const p = this.nextPage();
      if (!p) break;
      this.writeOne(p);
    }
    const waited = this.ft - start;
    this.ctx.clock.advance(waited);
    this.throttledNs += waited;
  }

  /** Reclaim met only dirty pages (wakeup_flusher_threads, WB_REASON_VMSCAN): everything dirty now is to be written. */
  wakeForReclaim(): void {
    this.catchUp();
    this.writeAll = this.cache.nrDirty;
  }

  /**
   * Reclaim waits for writeback progress (reclaim_throttle, VMSCAN_THROTTLE_WRITEBACK: woken
   * after SWAP_CLUSTER_MAX pages were written, or after HZ/10): the flusher writes up to 32
   * pages, and their time passes for the caller. Returns pages written.
   */
  waitForWriteback(): number {
    const start = Math.max(this.ft, this.ctx.clock.now());
    this.ft = start;
    let n = 0;
    while (n < RECLAIM_WAIT_PAGES) {
      const p = this.nextPage();
      if (!p) break;
      this.writeOne(p);
      n++;
    }
    this.ctx.clock.advance(this.ft - start);
    return n;
  }

  /**
   * fsync / msync(MS_SYNC): the dirty pages of `f` in [first, last] are written now and the
   * caller waits for them (their write time passes). Returns pages written.
   */
  syncRange(f: RegularFile, first: number, last: number): number {
    this.catchUp();
    const pages: CachePage[] = [];
    for (const p of f.dirtyPages) if (p.index >= first && p.index <= last) pages.push(p);
    pages.sort((a, b) => a.index - b.index);
    this.cache.writePages(pages);
    this.ctx.clock.advance(pages.length * DISK_WRITE_NS);
    this.ft = Math.max(this.ft, this.ctx.clock.now());
    return pages.length;
  }
}
