/**
 * The memory lines of /proc/PID/status (task_mem in fs/proc/task_mmu.c) and /proc/PID/statm
 * (task_statm, proc_pid_statm): sizes from the regions, RSS by kind and swap entries counted
 * from the page tables (the zero pages are not RSS, as in Linux), the high-water marks kept at
 * the points Linux keeps them.
 *
 * What a vmsim process lacks is derived: the text (start_code..end_code, set by exec from the
 * ELF file in Linux) is the span of the regions of kind 'code'; VmLib is the rest of the
 * executable mappings, as Linux computes it (exec_vm less the text), 0 when that is negative
 * (Linux's unsigned subtraction would wrap).
 */
import { userTablePages } from '../../machine/table-pages.js';
import type { ProcSpace } from './proc-state.js';
import { rssCounts } from './rss-counts.js';
import { lockedVmPages } from './lock-state.js';
import { VM_GROWSDOWN, isDataMapping, isExecMapping, regionVmFlags } from './vm-flags-text.js';

/** /proc/PID/status's memory lines, in kB, keyed by the kernel's names (in its order). */
export interface ProcStatus {
  VmPeak: number;
  VmSize: number;
  VmLck: number;
  VmPin: number;
  VmHWM: number;
  VmRSS: number;
  RssAnon: number;
  RssFile: number;
  RssShmem: number;
  VmData: number;
  VmStk: number;
  VmExe: number;
  VmLib: number;
  VmPTE: number;
  VmSwap: number;
  /** hugetlb_report_usage's line, printed right after VmSwap (vmsim has no hugetlbfs: 0). */
  HugetlbPages: number;
}

/** /proc/PID/statm, in pages, named as proc(5) names the columns. */
export interface ProcStatm {
  /** total_vm (VmSize). */
  size: number;
  /** RSS: anonymous + file + shmem pages. */
  resident: number;
  /** File and shmem pages (RssFile + RssShmem). */
  shared: number;
  /** Text pages (VmExe). */
  text: number;
  /** Always 0 (unused since Linux 2.6). */
  lib: number;
  /** data_vm + stack_vm (VmData + VmStk). */
  data: number;
  /** Always 0 (unused since Linux 2.6). */
  dt: number;
}

interface Figures {
  totalVm: number;
  dataVm: number;
  stackVm: number;
  execVm: number;
  textPages: number;
  anon: number;
  file: number;
  shmem: number;
  swap: number;
}

function figures(vm: ProcSpace): Figures {
  let totalVm = 0;
  let dataVm = 0;
  let stackVm = 0;
  let execVm = 0;
  let codeStart = Infinity;
  let codeEnd = -Infinity;
  for (const r of vm.regions) {
    const pages = (r.end - r.start) / 4096;
    const flags = regionVmFlags(r);
    totalVm += pages;
    if (isDataMapping(flags)) dataVm += pages;
    if ((flags & VM_GROWSDOWN) !== 0) stackVm += pages;
    if (isExecMapping(flags)) execVm += pages;
    if (r.kind === 'code') {
      codeStart = Math.min(codeStart, r.start);
      codeEnd = Math.max(codeEnd, r.end);
    }
  }
  const c = rssCounts(vm);
  return { totalVm, dataVm, stackVm, execVm, textPages: codeEnd > codeStart ? (codeEnd - codeStart) / 4096 : 0, anon: c.anon, file: c.file, shmem: c.shmem, swap: c.swap };
}

/** /proc/PID/status's memory lines of `vm`. */
export function procStatus(vm: ProcSpace): ProcStatus {
  const f = figures(vm);
  const rss = f.anon + f.file + f.shmem;
  const text = f.textPages * 4;
  return {
    VmPeak: Math.max(vm.proc.hiwaterVm, f.totalVm) * 4,
    VmSize: f.totalVm * 4,
    VmLck: lockedVmPages(vm) * 4,
    VmPin: 0,
    VmHWM: Math.max(vm.proc.hiwaterRss, rss) * 4,
    VmRSS: rss * 4,
    RssAnon: f.anon * 4,
    RssFile: f.file * 4,
    RssShmem: f.shmem * 4,
    VmData: f.dataVm * 4,
    VmStk: f.stackVm * 4,
    VmExe: text,
    VmLib: Math.max(0, f.execVm * 4 - text),
    VmPTE: userTablePages(vm.ctx.frames, vm.pages.root) * 4,
    VmSwap: f.swap * 4,
    HugetlbPages: 0,
  };
}

/** /proc/PID/statm of `vm`. */
export function procStatm(vm: ProcSpace): ProcStatm {
  const f = figures(vm);
  const shared = f.file + f.shmem;
  return { size: f.totalVm, resident: shared + f.anon, shared, text: f.textPages, lib: 0, data: f.dataVm + f.stackVm, dt: 0 };
}

/** The memory lines as /proc/PID/status prints them ("VmPeak:\t    1234 kB"). */
export function formatStatus(s: ProcStatus): string {
  let out = '';
  for (const [k, v] of Object.entries(s)) {
    const n = String(v);
    out += `${k}:\t${n.length >= 8 ? n : '        '.slice(n.length) + n} kB\n`;
  }
  return out;
}

/** The line of /proc/PID/statm ("size resident shared text lib data dt"). */
export function formatStatm(s: ProcStatm): string {
  return `${s.size} ${s.resident} ${s.shared} ${s.text} ${s.lib} ${s.data} ${s.dt}\n`;
}
