/**
 * /proc/PID/smaps and /proc/PID/smaps_rollup as Linux 6.x prints them (show_smap, __show_smap,
 * show_smaps_rollup in fs/proc/task_mmu.c): the fields in the kernel's order, values in kB,
 * Pss from fixed-point totals. Per region, smaps has no Pss_Anon/Pss_File/Pss_Shmem (the kernel
 * prints them only in the rollup) and no ProtectionKey (printed only where the CPU has
 * protection keys enabled). vmsim models a kernel with CONFIG_MEM_SOFT_DIRTY, so VmFlags shows
 * "sd" on regions that have VM_SOFTDIRTY (all of them until clear_refs 4).
 */
import type { RegionRecord } from '../region.js';
import type { ProcSpace } from './proc-state.js';
import { SharedMemoryObject } from '../shared-memory.js';
import type { RegularFile } from '../file/regular-file.js';
import { MAPS_PAD, formatMapsLine, hexAddress, mapsPathname, type ObjectName, type ProcessLayout } from '../maps-format.js';
import { addMemSizeStats, gatherMemSizeStats, newMemSizeStats, type MemSizeStats } from './mem-size-stats.js';
import { VM_HUGEPAGE, VM_SOFTDIRTY, formatVmFlags, regionVmFlags, vmFlagNames } from './vm-flags-text.js';
import { TextWriter, label } from './text-writer.js';

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
export function objectNames(vm: ProcSpace): ObjectName {
  return (id) => {
    const o = vm.ctx.object(id);
    if (!o) return undefined;
    return o instanceof SharedMemoryObject ? { name: o.name, linked: o.isLinked } : { path: (o as RegularFile).path, linked: o.isLinked };
  };
}

/** The vm_flags of a region as smaps shows them: the record's, plus the soft-dirty state. */
export function smapsVmFlags(vm: ProcSpace, r: RegionRecord): number {
  let f = regionVmFlags(r);
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

/** What smaps needs of each region: the records, their statistics and smaps' vm_flags. */
function collect(vm: ProcSpace): { regions: RegionRecord[]; stats: MemSizeStats[]; flags: number[] } {
  const regions = [...vm.regions];
  return { regions, stats: gatherMemSizeStats(vm, regions), flags: regions.map((r) => smapsVmFlags(vm, r)) };
}

/** /proc/PID/smaps of `vm`, one entry per region. */
export function smaps(vm: ProcSpace): SmapsEntry[] {
  const { regions, stats, flags } = collect(vm);
  const names = objectNames(vm);
  return regions.map((r, i) => ({
    maps: formatMapsLine(r, names, vm.layout),
    start: r.start,
    end: r.end,
    Size: kB(r.end - r.start),
    KernelPageSize: 4,
    MMUPageSize: 4,
    ...totals(stats[i]!),
    THPeligible: thpEligible(r, flags[i]!),
    VmFlags: vmFlagNames(flags[i]!),
  }));
}

/** /proc/PID/smaps_rollup of `vm`. */
export function smapsRollup(vm: ProcSpace): SmapsRollup {
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

// The text, written as bytes with no object per field: the labels as the kernel's format
// strings spell them (SEQ_PUT_DEC pads the value to 8 columns; Private_Hugetlb has a longer
// label and 7), each value followed by " kB\n".
const TOTALS = ['Rss', 'Pss', 'Pss_Dirty', 'Shared_Clean', 'Shared_Dirty', 'Private_Clean', 'Private_Dirty', 'Referenced', 'Anonymous', 'KSM', 'LazyFree', 'AnonHugePages', 'ShmemPmdMapped', 'FilePmdMapped', 'Shared_Hugetlb', 'Private_Hugetlb', 'Swap', 'SwapPss', 'Locked'] as const;
const ROLLUP_SPLIT = ['Pss_Anon', 'Pss_File', 'Pss_Shmem'] as const;
const labelOf = (f: string): Uint8Array => label(f === 'Private_Hugetlb' ? 'Private_Hugetlb: ' : `${f}:`.padEnd(16));
const TOTAL_LABELS = TOTALS.map(labelOf);
const SPLIT_LABELS = ROLLUP_SPLIT.map(labelOf);
const SIZE_LABELS = ['Size', 'KernelPageSize', 'MMUPageSize'].map(labelOf);
const KB_NL = label(' kB\n');
const NL = label('\n');
const THP = label('THPeligible:    ');

/** Reused scratch: the totals of one block in TOTALS order. */
const values = new Float64Array(TOTALS.length);

function fillFromStats(st: MemSizeStats): void {
  values[0] = kB(st.resident);
  values[1] = pssKB(st.pss);
  values[2] = pssKB(st.pssDirty);
  values[3] = kB(st.sharedClean);
  values[4] = kB(st.sharedDirty);
  values[5] = kB(st.privateClean);
  values[6] = kB(st.privateDirty);
  values[7] = kB(st.referenced);
  values[8] = kB(st.anonymous);
  values[9] = 0;
  values[10] = kB(st.lazyfree);
  values[11] = kB(st.anonymousThp);
  values[12] = 0;
  values[13] = 0;
  values[14] = 0;
  values[15] = 0;
  values[16] = kB(st.swap);
  values[17] = pssKB(st.swapPss);
  values[18] = pssKB(st.pssLocked);
}

function fillFromTotals(t: SmapsTotals): void {
  for (let i = 0; i < TOTALS.length; i++) values[i] = t[TOTALS[i]!];
}

function field(w: TextWriter, l: Uint8Array, v: number, width: number): void {
  w.bytes(l);
  w.decimal(v, width);
  w.bytes(KB_NL);
}

/** The __show_smap() block from `values` (with the rollup's Pss split after Pss_Dirty). */
function writeTotals(w: TextWriter, split?: readonly number[]): void {
  for (let i = 0; i < TOTALS.length; i++) {
    field(w, TOTAL_LABELS[i]!, values[i]!, i === 15 ? 7 : 8);
    if (i === 2 && split) for (let k = 0; k < 3; k++) field(w, SPLIT_LABELS[k]!, split[k]!, 8);
  }
}

/** The VmFlags line of each vm_flags word met (a space has few distinct ones). */
const vmFlagLines = new Map<number, Uint8Array>();

function vmFlagsLine(flags: number): Uint8Array {
  let l = vmFlagLines.get(flags);
  if (l === undefined) vmFlagLines.set(flags, (l = label(formatVmFlags(vmFlagNames(flags)) + '\n')));
  return l;
}

/** A region's maps line as formatMapsLine prints it, written as bytes (the hex columns digit by digit). */
function writeMapsLine(w: TextWriter, r: RegionRecord, names: ObjectName, layout: ProcessLayout): void {
  const start = w.length;
  w.hex(r.start, 8);
  w.byte(45); // '-'
  w.hex(r.end, 8);
  w.byte(32);
  w.byte(r.prot & 1 ? 114 : 45);
  w.byte(r.prot & 2 ? 119 : 45);
  w.byte(r.prot & 4 ? 120 : 45);
  w.byte(r.shared ? 115 : 112);
  w.byte(32);
  const obj = r.backing.type === 'object' ? r.backing : undefined;
  w.hex(obj ? obj.offset : 0, 8);
  w.bytes(obj ? DEV_OBJECT : DEV_NONE);
  w.decimal(obj ? obj.objectId : 0, 0);
  w.byte(32);
  const name = mapsPathname(r, names, layout);
  if (name !== '') {
    w.padTo(start + MAPS_PAD);
    w.byte(32);
    w.text(name);
  }
}
const DEV_OBJECT = label(' 00:01 ');
const DEV_NONE = label(' 00:00 ');

/** One region's block: maps line, page sizes, totals (in `values`), THPeligible, VmFlags. */
function writeEntry(w: TextWriter, r: RegionRecord, names: ObjectName, layout: ProcessLayout, thp: number, flags: number): void {
  writeMapsLine(w, r, names, layout);
  w.bytes(NL);
  const sizeKB = kB(r.end - r.start);
  field(w, SIZE_LABELS[0]!, sizeKB, 8);
  field(w, SIZE_LABELS[1]!, 4, 8);
  field(w, SIZE_LABELS[2]!, 4, 8);
  writeTotals(w);
  w.bytes(THP);
  w.decimal(thp, 8);
  w.bytes(NL);
  w.bytes(vmFlagsLine(flags));
}

/** The text of /proc/PID/smaps of `vm`, written straight from the statistics (no entry objects). */
export function smapsText(vm: ProcSpace): string {
  const { regions, stats, flags } = collect(vm);
  const names = objectNames(vm);
  const w = new TextWriter(1200 * regions.length + 1024); // a block is ~1.1 KB
  for (let i = 0; i < regions.length; i++) {
    const r = regions[i]!;
    fillFromStats(stats[i]!);
    writeEntry(w, r, names, vm.layout, thpEligible(r, flags[i]!), flags[i]!);
  }
  return w.toString();
}

/** The text of /proc/PID/smaps_rollup. */
export function formatSmapsRollup(r: SmapsRollup): string {
  const w = new TextWriter();
  w.text(r.maps);
  w.bytes(NL);
  fillFromTotals(r);
  writeTotals(w, [r.Pss_Anon, r.Pss_File, r.Pss_Shmem]);
  return w.toString();
}
