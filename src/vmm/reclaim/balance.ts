/**
 * How much of each LRU list a reclaim pass scans (mm/vmscan.c, the lists of a node without
 * MGLRU): prepare_scan_control's decisions, then get_scan_count's balance between anonymous
 * and file pages at a scan priority (DEF_PRIORITY 12 down to 0: each list is scanned
 * size >> priority pages, so a pass that frees too little looks at twice as much next time):
 * - no swap to write to (none, or every slot taken): file pages only (SCAN_FILE);
 * - priority 0 with swappiness above 0: both lists by size (SCAN_EQUAL);
 * - file_is_tiny — the file pages and free pages together at or below the high watermark, with
 *   inactive anonymous pages to scan and the anonymous lists not asking for deactivation:
 *   anonymous pages only (SCAN_ANON);
 * - cache_trim_mode — enough inactive file pages at this priority and no file refaults since
 *   the last reclaim (nor a low inactive file list): file pages only (SCAN_FILE);
 * - otherwise proportionally (SCAN_FRACT, calculate_pressure_balance): each type's share is
 *   swappiness (anonymous) or 200 - swappiness (file) times (total cost + 1) over its own cost
 *   + 1, where a type's cost is the recent I/O and rotations of reclaiming it (lru_note_cost:
 *   a page written 32, a page scanned but not reclaimed 1, halved whenever both exceed a
 *   quarter of the LRU pages), each counted once more in the total so that at least a third of
 *   the pressure reaches each type before swappiness.
 * DEACTIVATE_FILE (may_deactivate): file pages were activated by refaults since the last
 * reclaim, or the inactive file list is low (inactive_is_low: inactive × int_sqrt(10 × GiB of
 * both lists) < active); likewise for anonymous pages (vmsim keeps no anonymous shadow entries:
 * only the list sizes count there).
 */

/** DEF_PRIORITY: the first scan priority (lists >> 12). */
export const DEF_PRIORITY = 12;
/** MAX_SWAPPINESS. */
export const MAX_SWAPPINESS = 200;

/** Pages on the four evictable LRU lists. */
export interface LruSizes {
  inactiveAnon: number;
  activeAnon: number;
  inactiveFile: number;
  activeFile: number;
}

/** What prepare_scan_control reads of the machine. */
export interface ScanInputs {
  sizes: LruSizes;
  /** Free pages and the high watermark (file_is_tiny compares with it). */
  free: number;
  highWmark: number;
  /** File pages were activated by refaults since the last reclaim ended (refaults != snapshot). */
  fileRefaulted: boolean;
  /** The running costs of reclaiming each type (lru_note_cost). */
  anonCost: number;
  fileCost: number;
}

/** The parts of scan_control get_scan_count reads. */
export interface ScanControl {
  priority: number;
  /** DEACTIVATE_ANON (1) | DEACTIVATE_FILE (2). */
  mayDeactivate: number;
  cacheTrimMode: boolean;
  fileIsTiny: boolean;
  anonCost: number;
  fileCost: number;
}

export const DEACTIVATE_ANON = 1;
export const DEACTIVATE_FILE = 2;

/** inactive_is_low: the inactive list holds less than 1/ratio of the active one. */
export function inactiveIsLow(inactive: number, active: number): boolean {
  const gb = Math.floor((inactive + active) / 262144);
  const ratio = gb > 0 ? Math.floor(Math.sqrt(10 * gb)) : 1;
  return inactive * ratio < active;
}

/** prepare_scan_control (global reclaim) at `priority`. */
export function prepareScanControl(priority: number, i: ScanInputs): ScanControl {
  const s = i.sizes;
  let mayDeactivate = 0;
  if (inactiveIsLow(s.inactiveAnon, s.activeAnon)) mayDeactivate |= DEACTIVATE_ANON;
  if (i.fileRefaulted || inactiveIsLow(s.inactiveFile, s.activeFile)) mayDeactivate |= DEACTIVATE_FILE;
  const cacheTrimMode = Math.floor(s.inactiveFile / 2 ** priority) > 0 && (mayDeactivate & DEACTIVATE_FILE) === 0;
  const file = s.activeFile + s.inactiveFile;
  const fileIsTiny = file + i.free <= i.highWmark && (mayDeactivate & DEACTIVATE_ANON) === 0 && Math.floor(s.inactiveAnon / 2 ** priority) > 0;
  return { priority, mayDeactivate, cacheTrimMode, fileIsTiny, anonCost: i.anonCost, fileCost: i.fileCost };
}

/** get_scan_count's choice. */
export type ScanBalance = 'equal' | 'fract' | 'anon' | 'file';

/** Pages to scan on each list: [inactive anon, active anon, inactive file, active file], and the balance chosen. */
export interface ScanCount {
  nr: [number, number, number, number];
  balance: ScanBalance;
}

/** get_scan_count: `canReclaimAnon` — swap has a free slot (can_reclaim_anon_pages). */
export function getScanCount(sc: ScanControl, sizes: LruSizes, swappiness: number, canReclaimAnon: boolean): ScanCount {
  let balance: ScanBalance;
  let fraction: [number, number] = [1, 1];
  let denominator = 1;
  if (!canReclaimAnon) balance = 'file';
  else if (sc.priority === 0 && swappiness > 0) balance = 'equal';
  else if (sc.fileIsTiny) balance = 'anon';
  else if (sc.cacheTrimMode) balance = 'file';
  else {
    balance = 'fract';
    // calculate_pressure_balance (64-bit integer arithmetic; exact in doubles at these sizes).
    let total = sc.anonCost + sc.fileCost;
    const anonCost = total + sc.anonCost;
    const fileCost = total + sc.fileCost;
    total = anonCost + fileCost;
    const ap = Math.floor((swappiness * (total + 1)) / (anonCost + 1));
    const fp = Math.floor(((MAX_SWAPPINESS - swappiness) * (total + 1)) / (fileCost + 1));
    fraction = [ap, fp];
    denominator = ap + fp;
  }
  const lists = [sizes.inactiveAnon, sizes.activeAnon, sizes.inactiveFile, sizes.activeFile];
  const nr = lists.map((size, lru) => {
    const file = lru >= 2 ? 1 : 0;
    let scan = Math.floor(size / 2 ** sc.priority);
    if (balance === 'fract') scan = denominator === 0 ? 0 : Math.floor((scan * fraction[file]!) / denominator);
    else if (balance === 'file' || balance === 'anon') {
      if ((balance === 'file') !== (file === 1)) scan = 0;
    }
    return scan;
  }) as [number, number, number, number];
  return { nr, balance };
}
