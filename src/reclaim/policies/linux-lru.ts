/**
 * Linux's two LRU lists (mm/vmscan.c before MGLRU), for anonymous pages. A faulted page
 * enters the head of the inactive list (`lru_cache_add_inactive_or_unevictable`, Linux 5.9+).
 * Reclaim keeps `inactive * inactive_ratio >= active` by moving pages from the tail of the
 * active list to the inactive head, clearing their Accessed bit (`shrink_active_list`: for
 * anonymous pages a reference does not keep them active). It then scans the inactive tail:
 * a referenced page is activated (A cleared, moved to the active head: `folio_check_references`
 * returns PAGEREF_ACTIVATE for a referenced swap-backed page), an unreferenced one is reclaimed.
 */
import { ACCESSED, type AccessBits, type ReclaimPolicy } from '../policy.js';
import { PageList } from '../page-list.js';
import { Scratch } from '../scratch.js';

/** SWAP_CLUSTER_MAX: the batch Linux isolates from an LRU list at a time. */
const SWAP_CLUSTER_MAX = 32;

/** Active/inactive lists with Linux's inactive ratio. */
export class LinuxLruPolicy implements ReclaimPolicy {
  readonly name = 'linux';
  readonly kind = 'ad-bits' as const;
  readonly active = new PageList();
  readonly inactive = new PageList();
  /** Pages moved to the active list (Linux's pgactivate) and back (pgdeactivate). */
  pgactivate = 0;
  pgdeactivate = 0;
  private readonly scratch = new Scratch();

  /** `inactiveRatio`: Linux's int_sqrt(10 * GiB of memory), or 1 below 1 GiB. */
  constructor(private readonly inactiveRatio = 1) {}

  get size(): number {
    return this.active.size + this.inactive.size;
  }
  insert(key: number): void {
    this.inactive.pushHead(key);
  }
  remove(key: number): void {
    if (!this.inactive.remove(key)) this.active.remove(key);
  }
  /** MADV_COLD: to the inactive tail (deactivate_page / lru_deactivate_fn). */
  deactivate(key: number): void {
    if (this.inactive.remove(key) || this.active.remove(key)) this.inactive.pushTail(key);
  }
  select(count: number, bits: AccessBits, out: Float64Array): number {
    const s = this.scratch;
    let n = 0;
    while (n < count && this.size > 0) {
      this.balance(bits);
      const len = this.inactive.fromTail(s.keys, Math.min(SWAP_CLUSTER_MAX, this.inactive.size));
      bits.read(s.keys, len, s.bits);
      let activated = 0;
      for (let i = 0; i < len && n < count; i++) {
        const key = s.keys[i]!;
        this.inactive.remove(key);
        if ((s.bits[i]! & ACCESSED) !== 0) {
          this.active.pushHead(key);
          s.keys[activated++] = key;
        } else {
          out[n++] = key;
        }
      }
      this.pgactivate += activated;
      if (activated > 0) bits.clearAccessed(s.keys, activated);
    }
    return n;
  }

  /** shrink_active_list until the inactive list is not low (inactive_is_low). */
  private balance(bits: AccessBits): void {
    const want = this.active.size - this.inactive.size * this.inactiveRatio;
    if (want <= 0 && this.inactive.size > 0) return;
    const s = this.scratch;
    const moveCount = Math.max(1, Math.ceil(want / (1 + this.inactiveRatio)));
    s.ensure(moveCount);
    const len = this.active.fromTail(s.keys, Math.min(moveCount, this.active.size));
    for (let i = 0; i < len; i++) {
      this.active.remove(s.keys[i]!);
      this.inactive.pushHead(s.keys[i]!);
    }
    this.pgdeactivate += len;
    if (len > 0) bits.clearAccessed(s.keys, len);
  }
}
