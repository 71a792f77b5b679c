/**
 * What /proc needs of a process beyond its regions and page tables: the high-water marks Linux
 * keeps in the mm (hiwater_vm, hiwater_rss: VmPeak, VmHWM) and the soft-dirty state once
 * clear_refs 4 ran.
 */
import { SoftDirty } from './soft-dirty.js';
import type { PageTable } from '../../machine/page-table.js';
import type { RegionMap } from '../region-map.js';
import type { ResidentSet } from '../resident-set.js';
import type { VmmContext } from '../vmm-context.js';
import type { ProcessLayout } from '../maps-format.js';

/** What /proc reads of a process (a VirtualMemory): regions, page tables, the machine's VMM state, its resident set and /proc state. */
export interface ProcSpace {
  readonly regions: RegionMap;
  readonly pages: PageTable;
  readonly ctx: VmmContext;
  readonly resident: ResidentSet | undefined;
  readonly proc: ProcState;
  /** mm->locked_vm: pages of the locked regions (VmLck). */
  readonly lockedVm: number;
  /** Where the heap and the initial stack are (maps lines name them by position). */
  readonly layout: ProcessLayout;
}

/** Per-process /proc state (VirtualMemory.proc). */
export class ProcState {
  /** hiwater_vm: the largest total_vm (pages) seen before a munmap lowered it. */
  hiwaterVm = 0;
  /** hiwater_rss: the largest RSS (pages) seen before an unmap lowered it (clear_refs 5 resets it). */
  hiwaterRss = 0;
  /** Soft-dirty tracking, from the first clear_refs 4 on (undefined: every region has VM_SOFTDIRTY). */
  softDirty: SoftDirty | undefined;

  /** A fork child's state: marks start anew (dup_mm sets them to the child's own figures); VM_SOFTDIRTY is inherited. */
  forkChild(): ProcState {
    const c = new ProcState();
    c.softDirty = this.softDirty?.clone();
    return c;
  }
}
