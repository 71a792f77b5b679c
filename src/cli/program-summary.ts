/** The tables a recorded program's replay adds to the replay summary: its processes and threads, its CPUs, its calls against the recording. */
import type { ProgramResult } from '../replay/program/program-result.js';
import { formatCount, formatTable } from '../report/index.js';

/** The program's part of the summary. */
export function formatProgramSummary(p: ProgramResult): string {
  const out: string[] = [];
  const rows: string[][] = [];
  for (const q of p.processes) {
    const exit = q.exit === 'running' ? 'running' : q.exit === 'lost' ? 'lost' : 'status' in q.exit ? `exit ${q.exit.status}` : `signal ${q.exit.signal}`;
    rows.push([`${q.pid}`, q.parent ? `${q.parent}` : '', q.images[q.images.length - 1] || '(anonymous)', '', '', formatCount(q.accesses), formatCount(q.faults.minor), formatCount(q.faults.major), formatCount(q.faults.cow), formatCount(q.faults.segv + q.faults.sigbus), `${formatCount(q.resident.pages)} / ${formatCount(q.resident.peak)}`, formatCount(q.regions), exit]);
    for (const t of q.threads) rows.push(['', '', q.images.length > 1 ? `  image ${t.image}` : '', `${t.thread}`, `${t.cpu}`, formatCount(t.accesses), formatCount(t.faults.pageIns + t.faults.writeProtect), '', '', formatCount(t.faults.segv + t.faults.sigbus), '', '', '']);
  }
  out.push("processes and threads (minor/major/cow: the process's page faults by kind, a thread's row its faults resolved; resident: pages at exit / peak; regions at exit)");
  out.push(formatTable(rows, { header: ['pid', 'parent', 'program', 'thread', 'cpu', 'accesses', 'minor', 'major', 'cow', 'SIGSEGV', 'resident', 'regions', 'end'], align: ['right', 'right', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left'] }));
  out.push(
    formatTable(
      p.cpus.map((c) => [`${c.index}`, formatCount(c.tlb.hits), formatCount(c.tlb.misses), formatCount(c.ipisReceived), formatCount(c.tlbShootdowns), formatCount(c.flushes.single), formatCount(c.flushes.full), formatCount(c.switchFlushes)]),
      { header: ['cpu', 'TLB hits', 'misses', 'IPIs received', 'shootdowns', 'INVLPGs', 'full flushes', 'switch flushes'], align: ['right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'] },
    ),
  );
  const calls = Object.entries(p.syscalls).sort(([a], [b]) => a.localeCompare(b));
  out.push('system calls against the recording');
  out.push(formatTable(calls.map(([name, r]) => [name, formatCount(r.calls), formatCount(r.agree), formatCount(r.disagree)]), { header: ['call', 'replayed', 'agree', 'disagree'], align: ['left', 'right', 'right', 'right'] }));
  for (const d of p.disagreements.slice(0, 5)) out.push(`disagrees: ${d.call}(${d.args.join(', ')}) of ${d.pid}/${d.thread} at byte ${d.byteOffset}: recorded ${d.recorded}, replayed ${d.replayed}`);
  const skipped = Object.entries(p.notReplayed);
  if (skipped.length) out.push(`not replayed (no such call in this VMM, or a call that failed in the recording and cannot be tried here): ${skipped.map(([n, k]) => `${n} ${k}`).join(', ')}`);
  if (p.files) out.push(`${p.files} file(s) mapped through the page cache: a trace holds no file contents, so their pages read as zeros`);
  if (p.anonymousProcesses) out.push(`${p.anonymousProcesses} process(es) without a recorded image ran in the anonymous-memory fallback`);
  out.push(`placement: ${p.placement}`);
  return out.join('\n') + '\n';
}
