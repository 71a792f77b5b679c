/**
 * Reclaim of page cache pages (mm/vmscan.c for the file LRU lists of a node without MGLRU):
 * - shrink_active_list refills the inactive list while it is low (inactive_is_low): pages from
 *   the active tail are deactivated to the inactive head with PG_workingset set, except
 *   referenced executable pages, which get another trip around the active list;
 * - shrink_inactive_list takes SWAP_CLUSTER_MAX pages from the inactive tail and decides each
 *   as shrink_folio_list does (folio_check_references: a page mapped by more than one young
 *   entry, or young again after PG_referenced, or young and executable, is activated; young
 *   once: PG_referenced and another trip; mlocked: activated; otherwise reclaimed): a mapped
 *   page is unmapped from every mapping through its file's i_mmap (its dirty bits pass to the
 *   page); a clean one is dropped without I/O, leaving a workingset shadow entry; a dirty one is
 *   never written from here (Linux writes file pages only through the flusher): it gets
 *   PG_reclaim and is activated, and when every page of a batch was dirty the flusher is woken
 *   to write everything back (WB_REASON_VMSCAN) — a page written back with PG_reclaim then
 *   rotates to the inactive tail, to be dropped by the next pass. A page some other holder
 *   references (a raw space mapping its frame) stays.
 */
import type { FileLists } from '../reclaimer.js';
import type { FrameFrees, PageCache } from '../file/page-cache.js';
import type { Flusher } from '../file/flusher.js';
import { PG, type CachePage } from '../file/cache-page.js';
import { Rmap } from './rmap.js';
import { MIN_NR_GENS } from './file-lru-gen.js';
import { evictBatch, Fate, type BatchResult, type EvictionSource, type PipelineContext } from './pipeline.js';
import type { Flushed } from '../../machine/tlb-flush.js';
import type { Frames } from '../../machine/frames.js';
import { batchF64 } from './batch-arrays.js';

/** SWAP_CLUSTER_MAX. */
const BATCH = 32;

/** /proc/vmstat counters of file reclaim. */
export interface FileReclaimCounters {
  pgscan_file: number;
  pgsteal_file: number;
  pgscan_kswapd: number;
  pgscan_direct: number;
  pgsteal_kswapd: number;
  pgsteal_direct: number;
  /** Active pages scanned by shrink_active_list. */
  pgrefill: number;
  /** Dirty pages reclaim met and left to writeback (PG_reclaim set). */
  nr_vmscan_immediate_reclaim: number;
}

/** What file reclaim needs of the machine. */
export interface FileReclaimContext extends PipelineContext {
  readonly frames: Frames;
  readonly pageCache: PageCache;
  readonly flusher: Flusher;
  /** lru_note_cost for the file LRU. */
  noteCost(file: boolean, nrIo: number, nrRotated: number): void;
  /** Machine-wide counters the scan and steal also add to. */
  readonly reclaim: { pgscan_kswapd: number; pgscan_direct: number; pgsteal_kswapd: number; pgsteal_direct: number };
}

/** The file LRU as a reclaim domain. */
export class FileReclaim implements FileLists {
  readonly domain = 'file' as const;
  readonly counters: FileReclaimCounters = { pgscan_file: 0, pgsteal_file: 0, pgscan_kswapd: 0, pgscan_direct: 0, pgsteal_kswapd: 0, pgsteal_direct: 0, pgrefill: 0, nr_vmscan_immediate_reclaim: 0 };

  constructor(private readonly ctx: FileReclaimContext) {}

  /** Pages on the file LRU lists. */
  lruPages(): number {
    const lru = this.ctx.pageCache.lru;
    return lru.activeSize + lru.inactiveSize;
  }

  /** Pages on the active list. */
  activePages(): number {
    return this.ctx.pageCache.lru.activeSize;
  }

  /** The lists as get_scan_count sees them (under the multi-generation LRU every page is evictable from the oldest generation on: all inactive). */
  listSizes(): { inactive: number; active: number } {
    const lru = this.ctx.pageCache.lru;
    if (lru.gen) return { inactive: lru.inactiveSize + lru.activeSize, active: 0 };
    return { inactive: lru.inactiveSize, active: lru.activeSize };
  }

  refaultActivations(): number {
    return this.ctx.pageCache.workingset.counters.workingset_activate_file;
  }

  /**
   * shrink_inactive_list over up to `n` pages of the inactive tail (the reclaimer's scan): pages
   * reclaimed. When every page taken was dirty, the flusher was woken and reclaim waits for a
   * batch of writeback (reclaim_throttle).
   */
  shrinkInactiveList(n: number, who: 'kswapd' | 'direct'): number {
    const batch = this.isolate(Math.min(n, BATCH));
    if (batch.length === 0) return 0;
    const r = this.shrinkInactive(batch, who);
    if (r.freed === 0 && r.dirty === batch.length) this.ctx.flusher.waitForWriteback();
    return r.freed;
  }

  /** shrink_active_list over up to `n` pages of the active tail. */
  shrinkActiveList(n: number): void {
    this.shrinkActive(Math.min(n, BATCH));
  }

  /**
   * Reclaims up to `count` file pages: refill the inactive list while it is low, then shrink
   * its tail a batch at a time; gives up after scanning the lists twice over. When a pass finds
   * only dirty pages, the flusher writes and this waits for it (reclaim_throttle). Returns pages freed.
   */
  evict(count: number, _incoming: number | undefined, who: 'kswapd' | 'direct'): number {
    const lru = this.ctx.pageCache.lru;
    let freed = 0;
    let budget = 2 * (lru.activeSize + lru.inactiveSize) + BATCH;
    while (freed < count && budget > 0 && lru.activeSize + lru.inactiveSize > 0) {
      if (!lru.gen && (lru.inactiveIsLow() || lru.inactiveSize === 0)) budget -= this.shrinkActive(BATCH);
      const batch = this.isolate(Math.min(BATCH, count - freed));
      if (batch.length === 0) {
        if (lru.gen) budget -= BATCH; // aging made nothing evictable (all young): try again, within the budget
        continue;
      }
      budget -= batch.length;
      const r = this.shrinkInactive(batch, who);
      freed += r.freed;
      if (r.freed === 0 && r.dirty === batch.length) this.ctx.flusher.waitForWriteback();
    }
    return freed;
  }

  /**
   * isolate_lru_folios from the inactive tail; under the multi-generation LRU, from the oldest
   * generation after aging when only MIN_NR_GENS are left (should_run_aging), past the pages
   * sort_folio keeps (dirty ones wake the flusher when nothing else is found).
   */
  private isolate(n: number): CachePage[] {
    const lru = this.ctx.pageCache.lru;
    if (!lru.gen) return lru.fromTail(false, n);
    const young = (pages: CachePage[]): Uint8Array => {
      const pfns = batchF64(pages.length);
      for (let k = 0; k < pages.length; k++) pfns[k] = pages[k]!.pfn;
      const rm = Rmap.ofInodePages(pages, pfns).walk(true, false);
      return Uint8Array.from(rm.young, (y) => (y > 0 ? 1 : 0));
    };
    const sorted = { dirty: 0, protected: 0 };
    if (lru.generations <= MIN_NR_GENS) lru.age(young);
    let batch = lru.oldestTail(n, sorted);
    if (batch.length === 0 && lru.generations <= MIN_NR_GENS) {
      lru.age(young);
      batch = lru.oldestTail(n, sorted);
    }
    if (batch.length === 0 && sorted.dirty > 0) {
      this.ctx.flusher.wakeForReclaim();
      this.ctx.flusher.waitForWriteback();
    }
    return batch;
  }

  /** shrink_active_list over up to n pages of the active tail; returns pages scanned. */
  private shrinkActive(n: number): number {
    const lru = this.ctx.pageCache.lru;
    const batch = lru.fromTail(true, n);
    if (batch.length === 0) return 0;
    this.counters.pgrefill += batch.length;
    const pfns = batchF64(batch.length);
    for (let k = 0; k < batch.length; k++) pfns[k] = batch[k]!.pfn;
    const ref = Rmap.ofInodePages(batch, pfns).walk(true);
    let rotated = 0;
    for (let k = 0; k < batch.length; k++) {
      const p = batch[k]!;
      if (ref.young[k]! > 0 && ref.exec[k]) {
        lru.rotateActive(p);
        rotated++;
      } else lru.deactivate(p);
    }
    if (rotated > 0) this.ctx.noteCost(true, 0, rotated);
    return batch.length;
  }

  /**
   * MADV_PAGEOUT of page cache pages only the calling process maps (reclaim_pages →
   * reclaim_folio_list): through the pipeline with references ignored; a dirty page is marked
   * for immediate reclaim and activated (the flusher writes it), a clean one dropped with a
   * shadow entry. Counted as direct reclaim (as vmsim counts MADV_PAGEOUT of anonymous memory).
   * Returns pages reclaimed.
   */
  pageOut(pages: CachePage[]): number {
    const n = pages.length;
    if (n === 0) return 0;
    this.counters.pgscan_file += n;
    this.counters.pgscan_direct += n, this.ctx.reclaim.pgscan_direct += n;
    const { reclaimed } = runBatch(this.ctx, new FileBatch(this.ctx, this.counters, pages, true));
    this.counters.pgsteal_file += reclaimed;
    this.counters.pgsteal_direct += reclaimed, this.ctx.reclaim.pgsteal_direct += reclaimed;
    return reclaimed;
  }

  /** shrink_inactive_list over one isolated batch: shrink_folio_list is the eviction pipeline. */
  private shrinkInactive(batch: CachePage[], who: 'kswapd' | 'direct'): { freed: number; dirty: number } {
    const n = batch.length;
    this.counters.pgscan_file += n;
    if (who === 'kswapd') this.counters.pgscan_kswapd += n, this.ctx.reclaim.pgscan_kswapd += n;
    else this.counters.pgscan_direct += n, this.ctx.reclaim.pgscan_direct += n;
    const src = new FileBatch(this.ctx, this.counters, batch);
    const { reclaimed: freed } = runBatch(this.ctx, src);
    this.counters.pgsteal_file += freed;
    if (who === 'kswapd') this.counters.pgsteal_kswapd += freed, this.ctx.reclaim.pgsteal_kswapd += freed;
    else this.counters.pgsteal_direct += freed, this.ctx.reclaim.pgsteal_direct += freed;
    this.ctx.noteCost(true, 0, n - freed);
    if (src.unqueuedDirty === n) this.ctx.flusher.wakeForReclaim();
    return { freed, dirty: src.unqueuedDirty };
  }
}

/** evictBatch of a file batch; the frames of the pages it dropped are let go in one call at the end (even when it throws). */
function runBatch(ctx: FileReclaimContext, src: FileBatch): BatchResult {
  try {
    return evictBatch(ctx, src);
  } finally {
    ctx.frames.unrefList(src.frees.pfns, src.frees.n);
  }
}

/** A batch of inactive file pages in the pipeline (shrink_folio_list's file cases). */
class FileBatch implements EvictionSource {
  readonly needsRefs = true;
  readonly swapEntries = false;
  readonly n: number;
  /** Pages dirty in the batch (by flag or entry): all of them wakes the flusher. */
  unqueuedDirty = 0;
  /** Frames of the pages dropped, whose cache references go after the batch (runBatch). */
  readonly frees: FrameFrees;

  constructor(
    private readonly ctx: FileReclaimContext,
    private readonly counters: FileReclaimCounters,
    private readonly pages: CachePage[],
    /** MADV_PAGEOUT: folio_check_references is skipped (reclaim_folio_list's ignore_references). */
    private readonly ignoreReferences = false,
  ) {
    this.n = pages.length;
    this.frees = { pfns: batchF64(this.n), n: 0 };
  }

  rmap(): Rmap {
    const pfns = batchF64(this.n);
    for (let k = 0; k < this.n; k++) pfns[k] = this.pages[k]!.pfn;
    return Rmap.ofInodePages(this.pages, pfns).walk(true);
  }

  /** folio_check_references, then what else keeps a file page (a holder the reverse map does not know). */
  classify(k: number, rm: Rmap, refs: number): Fate {
    const lru = this.ctx.pageCache.lru;
    const p = this.pages[k]!;
    if (p.has(PG.DIRTY) || rm.dirty[k]) this.unqueuedDirty++;
    if (this.ignoreReferences) {
      if (rm.locked[k] || refs !== 1 + rm.mapped[k]!) {
        lru.activate(p);
        return Fate.KEEP;
      }
      return Fate.DROP;
    }
    if (lru.gen) {
      // folio_check_references under lru_gen: mlocked or young twice (lru_gen_set_refs) activates, young once keeps.
      if (rm.locked[k]) {
        lru.activate(p);
        return Fate.KEEP;
      }
      if (rm.young[k]! > 0) {
        if (!p.has(PG.REFERENCED) && !p.has(PG.WORKINGSET)) {
          p.flags |= PG.REFERENCED;
          p.refs = 0;
          lru.keep(p);
        } else {
          p.flags = (p.flags & ~PG.REFERENCED) | PG.WORKINGSET;
          p.refs = 0;
          lru.activate(p);
        }
        return Fate.KEEP;
      }
      if (refs !== 1 + rm.mapped[k]!) {
        lru.activate(p);
        return Fate.KEEP;
      }
      return Fate.DROP;
    }
    const referencedFolio = p.has(PG.REFERENCED);
    p.flags &= ~PG.REFERENCED;
    if (rm.locked[k]) {
      lru.activate(p); // mlocked: Linux moves it to the unevictable list
      return Fate.KEEP;
    }
    if (rm.young[k]! > 0) {
      p.flags |= PG.REFERENCED;
      if (referencedFolio || rm.young[k]! > 1 || rm.exec[k]) lru.activate(p);
      else lru.keep(p);
      return Fate.KEEP;
    }
    if (refs !== 1 + rm.mapped[k]!) {
      // Held by someone the reverse map does not know (a raw space mapping its frame).
      lru.activate(p);
      return Fate.KEEP;
    }
    return Fate.DROP;
  }

  wrote(): void {
    // File pages are never written from reclaim.
  }

  putBack(k: number): void {
    this.ctx.pageCache.lru.keep(this.pages[k]!);
  }

  /** Unmapped: a dirty page waits for the flusher (PG_reclaim, activated); a clean one is dropped, leaving a shadow entry. */
  commit(k: number, _fate: Fate, _slot: number, rm: Rmap, proof: Flushed): boolean {
    const cache = this.ctx.pageCache;
    const p = this.pages[k]!;
    if (rm.dirty[k]) cache.markDirty(p);
    if (p.has(PG.DIRTY)) {
      p.flags |= PG.RECLAIM;
      this.counters.nr_vmscan_immediate_reclaim++;
      cache.lru.activate(p);
      return false;
    }
    cache.remove(p, true, proof, this.frees);
    return true;
  }
}
