/**
 * Overcommit accounting as mm/util.c's __vm_enough_memory does it: every accountable request
 * (a private writable mapping, a shared anonymous one, the heap, the stack, mprotect making
 * private memory writable, mremap growing it, a fork child's copies) is added to Committed_AS
 * first, then checked by vm.overcommit_memory's mode:
 * - 0 (OVERCOMMIT_GUESS, the default): only a single request larger than RAM + swap fails;
 * - 1 (OVERCOMMIT_ALWAYS): nothing fails;
 * - 2 (OVERCOMMIT_NEVER): Committed_AS must stay below CommitLimit (RAM × overcommit_ratio% +
 *   swap, or overcommit_kbytes + swap) less the admin reserve (a vmsim process is not root)
 *   and, for a process, min(total_vm / 32, the user reserve).
 * A failed request is uncharged again and is ENOMEM. Regions that are charged carry VM_ACCOUNT
 * (vm-flags.ts); what leaves (munmap, exit, exec) is uncharged.
 */
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { PROT_WRITE } from './pte-attrs.js';

/** The overcommit sysctls: vm.overcommit_memory (mode), vm.overcommit_ratio, vm.overcommit_kbytes. */
export interface OvercommitOptions {
  /** vm.overcommit_memory: 0 heuristic (default), 1 always, 2 never. */
  mode?: 0 | 1 | 2;
  /** vm.overcommit_ratio: percent of RAM in CommitLimit under mode 2 (default 50). */
  ratio?: number;
  /** vm.overcommit_kbytes: CommitLimit's RAM part in kB instead of the ratio, when not 0 (default 0). */
  kbytes?: number;
}

/** /proc/meminfo's commit lines, in kB. */
export interface CommitInfo {
  CommitLimit: number;
  Committed_AS: number;
}

/** The machine-wide commit state. */
export class Overcommit {
  mode: 0 | 1 | 2 = 0;
  ratio = 50;
  kbytes = 0;
  /** vm_committed_as, in pages. */
  committed = 0;
  /** admin_reserve_kbytes and user_reserve_kbytes as pages (set at boot from the free memory, as init_admin_reserve / init_user_reserve). */
  readonly adminReserve: number;
  readonly userReserve: number;

  constructor(
    /** RAM pages (totalram_pages). */
    private readonly ramPages: number,
    /** Swap pages now (total_swap_pages). */
    private readonly swapPages: () => number,
    freePagesAtBoot: number,
  ) {
    const freeKb = freePagesAtBoot * 4;
    this.adminReserve = Math.floor(Math.min(freeKb / 32, 8192) / 4);
    this.userReserve = Math.floor(Math.min(freeKb / 32, 131072) / 4);
  }

  /** Sets the sysctls; each is checked before any changes (EINVAL naming it). */
  configure(o: OvercommitOptions | undefined, what = 'overcommit'): void {
    if (o === undefined) return;
    if (o === null || typeof o !== 'object') throw new VmmError('EINVAL', `${what} must be an object, got ${describe(o)}`);
    for (const k of Object.keys(o)) if (k !== 'mode' && k !== 'ratio' && k !== 'kbytes') throw new VmmError('EINVAL', `${what}: unknown option ${JSON.stringify(k)}`);
    const mode = o.mode ?? this.mode;
    const ratio = o.ratio ?? this.ratio;
    const kbytes = o.kbytes ?? this.kbytes;
    if (mode !== 0 && mode !== 1 && mode !== 2) throw new VmmError('EINVAL', `${what}.mode (vm.overcommit_memory) must be 0, 1 or 2, got ${describe(o.mode)}`);
    if (!Number.isSafeInteger(ratio) || ratio < 0) throw new VmmError('EINVAL', `${what}.ratio (vm.overcommit_ratio) must be a non-negative integer, got ${describe(o.ratio)}`);
    if (!Number.isSafeInteger(kbytes) || kbytes < 0) throw new VmmError('EINVAL', `${what}.kbytes (vm.overcommit_kbytes) must be a non-negative integer, got ${describe(o.kbytes)}`);
    this.mode = mode;
    this.ratio = ratio;
    this.kbytes = kbytes;
  }

  /** vm_commit_limit(), in pages. */
  get limit(): number {
    const ram = this.kbytes !== 0 ? Math.floor(this.kbytes / 4) : Math.floor((this.ramPages * this.ratio) / 100);
    return ram + this.swapPages();
  }

  /** /proc/meminfo's CommitLimit and Committed_AS (kB). */
  info(): CommitInfo {
    return { CommitLimit: this.limit * 4, Committed_AS: Math.max(0, this.committed) * 4 };
  }

  /**
   * __vm_enough_memory: charges `pages` for a process whose total_vm is `totalVm` pages (undefined:
   * no process, e.g. a shared object's own charge); ENOMEM (nothing charged) when the mode refuses.
   */
  charge(pages: number, totalVm: number | undefined, op: string): void {
    this.committed += pages;
    if (this.mode === 1) return;
    if (this.mode === 0) {
      if (pages > this.ramPages + this.swapPages()) {
        this.committed -= pages;
        throw new VmmError('ENOMEM', `${op}: ${pages} pages are more than this machine's RAM and swap (${this.ramPages + this.swapPages()} pages) could ever back (overcommit heuristic, vm.overcommit_memory 0)`);
      }
      return;
    }
    let allowed = this.limit - this.adminReserve;
    if (totalVm !== undefined) allowed -= Math.min(Math.floor(totalVm / 32), this.userReserve);
    if (this.committed < allowed) return;
    this.committed -= pages;
    throw new VmmError('ENOMEM', `${op}: committing ${pages} more pages would reach the commit limit (Committed_AS ${this.committed} pages, CommitLimit ${this.limit} less reserves = ${allowed}; vm.overcommit_memory 2)`);
  }

  /** vm_unacct_memory. */
  uncharge(pages: number): void {
    this.committed -= pages;
  }
}

/** True when a new mapping is charged (accountable_mapping): private writable, unless MAP_NORESERVE is honoured. */
export function accountable(prot: number, shared: boolean, noReserve: boolean): boolean {
  return !shared && (prot & PROT_WRITE) !== 0 && !noReserve;
}
