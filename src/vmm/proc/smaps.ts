/**
 * /proc/PID/smaps and /proc/PID/smaps_rollup as Linux 6.x prints them (show_smap, __show_smap,
 * show_smaps_rollup in fs/proc/task_mmu.c): the fields in the kernel's order, values in kB,
 * Pss from fixed-point totals. Per region, smaps has no Pss_Anon/Pss_File/Pss_Shmem (the kernel
 * prints them only in the rollup) and no ProtectionKey (printed only where the CPU has
 * protection keys enabled). vmsim models a kernel with CONFIG_MEM_SOFT_DIRTY, so VmFlags shows
 * "sd" on regions that have VM_SOFTDIRTY (all of them until clear_refs 4).
 */
import type { RegionRecord } from '../region.js';
import type { VirtualMemory } from '../virtual-memory.js';
import { formatMapsLine, hexAddress, type ObjectName } from '../maps-format.js';
import { addMemSizeStats, gatherMemSizeStats, newMemSizeStats, type MemSizeStats } from './mem-size-stats.js';
import { VM_HUGEPAGE, VM_LOCKED, VM_SOFTDIRTY, formatVmFlags, regionVmFlags, vmFlagNames } from './vm-flags-text.js';
import { isLockedRange } from './lock-state.js';

/** The fields smaps and smaps_rollup share (kB), in the kernel's order. */
export interface SmapsTotals {
  Rss: number;
  Pss: number;
  Pss_Dirty: number;
  Shared_Clean: number;
  Shared_Dirty: number;
  Private_Clean: number;
  Private_Dirty: number;
  Referenced: number;
  Anonymous: number;
  KSM: number;
  LazyFree: number;
  AnonHugePages: number;
  ShmemPmdMapped: number;
  FilePmdMapped: number;
  Shared_Hugetlb: number;
  Private_Hugetlb: number;
  Swap: number;
  SwapPss: number;
  Locked: number;
}

/** One region of /proc/PID/smaps: its maps line, then the kernel's fields (sizes in kB). */
export interface SmapsEntry extends SmapsTotals {
  /** The region's /proc/PID/maps line (the block's first line, without the newline). */
  readonly maps: string;
  readonly start: number;
  readonly end: number;
  Size: number;
  KernelPageSize: number;
  MMUPageSize: number;
  /** 1 when a transparent huge page may back part of the region (MADV_HUGEPAGE and an aligned 2 MiB block inside). */
  THPeligible: 0 | 1;
  /** The VmFlags mnemonics, in the kernel's order ("rd", "wr", "mr", "mw", "me", "ac", ...). */
  VmFlags: string[];
}

/** /proc/PID/smaps_rollup: every region's figures added up, with the Pss split by kind. */
export interface SmapsRollup extends SmapsTotals {
  /** The rollup's first line ("start-end ---p 00000000 00:00 0 ... [rollup]"). */
  readonly maps: string;
  /** Start of the first region and end of the last (0 and 0 for a space without regions). */
  readonly start: number;
  readonly end: number;
  Pss_Anon: number;
  Pss_File: number;
  Pss_Shmem: number;
}

const kB = (bytes: number): number => Math.floor(bytes / 1024);
/** Pss fields are bytes << 12 (PSS_SHIFT). */
const pssKB = (fixed: number): number => Math.floor(fixed / 4096 / 1024);

function totals(st: MemSizeStats): SmapsTotals {
  return {
    Rss: kB(st.resident),
    Pss: pssKB(st.pss),
    Pss_Dirty: pssKB(st.pssDirty),
    Shared_Clean: kB(st.sharedClean),
    Shared_Dirty: kB(st.sharedDirty),
    Private_Clean: kB(st.privateClean),
    Private_Dirty: kB(st.privateDirty),
    Referenced: kB(st.referenced),
    Anonymous: kB(st.anonymous),
    KSM: 0,
    LazyFree: kB(st.lazyfree),
    AnonHugePages: kB(st.anonymousThp),
    ShmemPmdMapped: 0,
    FilePmdMapped: 0,
    Shared_Hugetlb: 0,
    Private_Hugetlb: 0,
    Swap: kB(st.swap),
    SwapPss: pssKB(st.swapPss),
    Locked: pssKB(st.pssLocked),
  };
}

/** The objects' names for the maps lines. */
export function objectNames(vm: VirtualMemory): ObjectName {
  return (id) => {
    const o = vm.ctx.object(id);
    return o && { name: o.name, linked: o.isLinked };
  };
}

/** The vm_flags of a region as smaps shows them: the record's, plus mlock and soft-dirty state. */
export function smapsVmFlags(vm: VirtualMemory, r: RegionRecord): number {
  let f = regionVmFlags(r);
  if (isLockedRange(vm, r.start, r.end)) f |= VM_LOCKED;
  const sd = vm.proc.softDirty;
  if (sd === undefined || !sd.allClean(r.start, r.end)) f |= VM_SOFTDIRTY;
  return f >>> 0;
}

/**
 * THPeligible (thp_vma_allowable_orders for smaps, THP "enabled" = madvise, as this machine's
 * kernel has it): private anonymous memory with VM_HUGEPAGE holding at least one aligned
 * 2 MiB block (checked against the kernel: 256 KiB or an unaligned 2 MiB region shows 0).
 */
function thpEligible(r: RegionRecord, flags: number): 0 | 1 {
  if (r.shared || r.backing.type !== 'anonymous' || (flags & VM_HUGEPAGE) === 0) return 0;
  const HUGE = 2 ** 21;
  const block = Math.ceil(r.start / HUGE) * HUGE;
  return block + HUGE <= r.end ? 1 : 0;
}

/** /proc/PID/smaps of `vm`, one entry per region. */
export function smaps(vm: VirtualMemory): SmapsEntry[] {
  const regions = [...vm.regions];
  const stats = gatherMemSizeStats(vm, regions);
  const names = objectNames(vm);
  return regions.map((r, i) => {
    const flags = smapsVmFlags(vm, r);
    return {
      maps: formatMapsLine(r, names),
      start: r.start,
      end: r.end,
      Size: kB(r.end - r.start),
      KernelPageSize: 4,
      MMUPageSize: 4,
      ...totals(stats[i]!),
      THPeligible: thpEligible(r, flags),
      VmFlags: vmFlagNames(flags),
    };
  });
}

/** /proc/PID/smaps_rollup of `vm`. */
export function smapsRollup(vm: VirtualMemory): SmapsRollup {
  const regions = [...vm.regions];
  const sum = newMemSizeStats();
  for (const st of gatherMemSizeStats(vm, regions)) addMemSizeStats(sum, st);
  const start = regions.length > 0 ? regions[0]!.start : 0;
  const end = regions.length > 0 ? regions[regions.length - 1]!.end : 0;
  const { Rss, Pss, Pss_Dirty, ...rest } = totals(sum);
  return {
    maps: `${hexAddress(start)}-${hexAddress(end)} ---p 00000000 00:00 0 `.padEnd(72, ' ') + ' [rollup]',
    start,
    end,
    Rss,
    Pss,
    Pss_Dirty,
    Pss_Anon: pssKB(sum.pssAnon),
    Pss_File: pssKB(sum.pssFile),
    Pss_Shmem: pssKB(sum.pssShmem),
    ...rest,
  };
}

/** seq_put_decimal_ull_width(m, label, kB, width) + " kB": a label padded as the kernel's literal, the value right-aligned. */
function line(label: string, value: number, width = 8): string {
  const v = String(value);
  return label + (v.length >= width ? v : '        '.slice(0, width - v.length) + v) + ' kB\n';
}

/** The __show_smap() block: Rss .. Locked (with the Pss split in rollup mode). */
function formatTotals(t: SmapsTotals, rollup?: SmapsRollup): string {
  let s = line('Rss:            ', t.Rss) + line('Pss:            ', t.Pss) + line('Pss_Dirty:      ', t.Pss_Dirty);
  if (rollup) s += line('Pss_Anon:       ', rollup.Pss_Anon) + line('Pss_File:       ', rollup.Pss_File) + line('Pss_Shmem:      ', rollup.Pss_Shmem);
  return (
    s +
    line('Shared_Clean:   ', t.Shared_Clean) +
    line('Shared_Dirty:   ', t.Shared_Dirty) +
    line('Private_Clean:  ', t.Private_Clean) +
    line('Private_Dirty:  ', t.Private_Dirty) +
    line('Referenced:     ', t.Referenced) +
    line('Anonymous:      ', t.Anonymous) +
    line('KSM:            ', t.KSM) +
    line('LazyFree:       ', t.LazyFree) +
    line('AnonHugePages:  ', t.AnonHugePages) +
    line('ShmemPmdMapped: ', t.ShmemPmdMapped) +
    line('FilePmdMapped:  ', t.FilePmdMapped) +
    line('Shared_Hugetlb: ', t.Shared_Hugetlb) +
    line('Private_Hugetlb: ', t.Private_Hugetlb, 7) +
    line('Swap:           ', t.Swap) +
    line('SwapPss:        ', t.SwapPss) +
    line('Locked:         ', t.Locked)
  );
}

/** The text of /proc/PID/smaps for `entries`, byte for byte as the kernel prints it. */
export function formatSmaps(entries: readonly SmapsEntry[]): string {
  const parts: string[] = [];
  for (const e of entries) {
    const thp = String(e.THPeligible);
    parts.push(
      e.maps + '\n' + line('Size:           ', e.Size) + line('KernelPageSize: ', e.KernelPageSize) + line('MMUPageSize:    ', e.MMUPageSize) + formatTotals(e) + 'THPeligible:    ' + '        '.slice(0, Math.max(0, 8 - thp.length)) + thp + '\n' + formatVmFlags(e.VmFlags) + '\n',
    );
  }
  return parts.join('');
}

/** The text of /proc/PID/smaps_rollup. */
export function formatSmapsRollup(r: SmapsRollup): string {
  return r.maps + '\n' + formatTotals(r, r);
}
