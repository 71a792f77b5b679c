/**
 * An invariant auditor over the page tables of live address spaces, through the public API
 * only (space.root, physical.read, physical.refCount): every table is an allocated frame with
 * one reference, reached once; every leaf names allocated frames; each frame's reference count
 * is the number of leaves that map it, plus at most one holder outside the tables (the zero
 * page, a shared memory object, a frame the user allocated); every root links the same kernel half.
 */
import type { Machine, MmuSpace } from '../../src/index.js';

/** What the audit found: problems (empty when the invariants hold) and a summary. */
export interface AuditReport {
  problems: string[];
  tables: number;
  leaves: number;
}

const PRESENT = 1;
const PS = 0x80;

/** Audits the tables of `spaces` (the live spaces of `m`). */
export function auditTables(m: Machine, spaces: readonly MmuSpace[]): AuditReport {
  const problems: string[] = [];
  const leafRefs = new Map<number, number>();
  const tableSeen = new Set<number>();
  let leaves = 0;
  const entries = (tablePa: number): DataView => {
    const b = m.physical.read(tablePa, 4096);
    return new DataView(b.buffer, b.byteOffset, 4096);
  };
  const frameOf = (dv: DataView, i: number) => (dv.getUint32(i * 8, true) >>> 12) + (dv.getUint32(i * 8 + 4, true) & 0xfffff) * 2 ** 20;
  const walk = (tablePa: number, level: number, from: number, to: number, where: string): void => {
    const dv = entries(tablePa);
    for (let i = from; i < to; i++) {
      const lo = dv.getUint32(i * 8, true);
      if (!(lo & PRESENT)) continue;
      const pfn = frameOf(dv, i);
      if (pfn * 4096 >= m.physical.size) {
        problems.push(`${where}[${i}] names frame ${pfn} beyond RAM`);
        continue;
      }
      if (level === 1 || (level < 4 && lo & PS)) {
        const n = level === 1 ? 1 : level === 2 ? 512 : 262144;
        const base = pfn - (pfn % n);
        leaves++;
        for (let f = base; f < base + n; f++) leafRefs.set(f, (leafRefs.get(f) ?? 0) + 1);
        continue;
      }
      if (tableSeen.has(pfn)) {
        problems.push(`${where}[${i}]: table ${pfn} is reached twice`);
        continue;
      }
      tableSeen.add(pfn);
      if (m.physical.refCount(pfn * 4096) !== 1) problems.push(`table ${pfn} (${where}[${i}]) has refcount ${m.physical.refCount(pfn * 4096)}, want 1`);
      walk(pfn * 4096, level - 1, 0, 512, `${where}[${i}]`);
    }
  };
  let kernel: string | undefined;
  for (const s of spaces) {
    if (m.physical.refCount(s.root) !== 1) problems.push(`root ${s.root} has refcount ${m.physical.refCount(s.root)}`);
    tableSeen.add(s.root / 4096);
    walk(s.root, 4, 0, 256, `root ${s.root / 4096}`);
    const k = Buffer.from(m.physical.read(s.root + 256 * 8, 256 * 8)).toString('hex');
    if (kernel === undefined) {
      kernel = k;
      // The shared kernel half, once.
      const dv = entries(s.root);
      for (let i = 256; i < 512; i++) {
        const pdpt = frameOf(dv, i);
        if (!tableSeen.has(pdpt)) {
          tableSeen.add(pdpt);
          walk(pdpt * 4096, 3, 0, 512, `kernel pdpt ${pdpt}`);
        }
      }
    } else if (k !== kernel) problems.push(`root ${s.root / 4096} links a different kernel half`);
  }
  for (const [f, n] of leafRefs) {
    const rc = m.physical.refCount(f * 4096);
    if (rc < n || rc > n + 1) problems.push(`frame ${f}: refcount ${rc}, mapped by ${n} leaves (want ${n} or ${n + 1})`);
    if (tableSeen.has(f)) problems.push(`frame ${f} is both a table and mapped as data`);
  }
  return { problems, tables: tableSeen.size, leaves };
}
