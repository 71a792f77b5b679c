/**
 * What the process lab's views show of memory, read from simulated RAM: each process's page
 * tables as a tree (the user half: PML4 entries 0–255), and who uses each physical frame.
 */
import { decodeSwapEntry, type Machine } from './lib.js';
import type { Proc } from './process-lab.js';

/** A node of a page-table tree: one present entry, or a leaf, or a swapped-out page. */
export interface TableNode {
  level: 4 | 3 | 2 | 1;
  index: number;
  /** Virtual address the entry covers from. */
  va: number;
  /** The raw entry. */
  entry: bigint;
  /** 'table' (points to the next level), 'page' (maps a frame), 'swap' (a swap entry). */
  type: 'table' | 'page' | 'swap';
  /** Frame the entry points to (table or page), or the swap slot. */
  target: number;
  pageSize: number;
  writable: boolean;
  accessed: boolean;
  dirty: boolean;
  cow: boolean;
  children: TableNode[];
}

/** One frame's users. */
export interface FrameUse {
  pfn: number;
  refCount: number;
  /** 'free', 'kernel' (boot tables, idle PML4, frames no process maps), 'zero' (the zero page), 'table', 'page', 'swapcache' (a page read back from swap that still has its slot). */
  kind: 'free' | 'kernel' | 'zero' | 'table' | 'page' | 'swapcache';
  /** The swap slot of a swap-cache frame. */
  slot?: number;
  /** PIDs whose tables or pages use it, with the virtual address of a page. */
  owners: { pid: number; va?: number }[];
}

const ENTRY_BYTES = 8;

/** The tree of `proc`'s page tables below its PML4 (user half only). */
export function tableTree(machine: Machine, proc: Proc): TableNode[] {
  return readTable(machine, proc.space.rootFrame, 4, 0, 256);
}

function readTable(machine: Machine, frame: number, level: 4 | 3 | 2 | 1, base: number, count = 512): TableNode[] {
  const bytes = machine.physical.read(frame * 4096, 4096);
  const dv = new DataView(bytes.buffer);
  const nodes: TableNode[] = [];
  const span = 2 ** (12 + 9 * (level - 1));
  for (let i = 0; i < count; i++) {
    const lo = dv.getUint32(i * ENTRY_BYTES, true);
    const hi = dv.getUint32(i * ENTRY_BYTES + 4, true);
    if (lo === 0 && hi === 0) continue;
    const entry = (BigInt(hi) << 32n) | BigInt(lo);
    const va = base + i * span;
    const present = (lo & 1) !== 0;
    const common = { level, index: i, va, entry, writable: (lo & 2) !== 0, accessed: (lo & 0x20) !== 0, dirty: (lo & 0x40) !== 0, cow: (lo & 0x200) !== 0 };
    if (!present) {
      const slot = level === 1 ? decodeSwapEntry(lo, hi) : -1;
      if (slot >= 0) nodes.push({ ...common, type: 'swap', target: slot, pageSize: 4096, children: [] });
      continue;
    }
    const target = Math.floor(Number(entry & 0x000f_ffff_ffff_f000n) / 4096);
    const large = level > 1 && level < 4 && (lo & 0x80) !== 0;
    if (level === 1 || large) nodes.push({ ...common, type: 'page', target, pageSize: span, children: [] });
    else nodes.push({ ...common, type: 'table', target, pageSize: span, children: readTable(machine, target, (level - 1) as 3 | 2 | 1, va) });
  }
  return nodes;
}

/** Every frame up to the highest one in use, with its users. */
export function frameUses(machine: Machine, procs: Proc[]): FrameUse[] {
  const total = machine.physical.totalFrames;
  const owners = new Map<number, FrameUse['owners']>();
  const kinds = new Map<number, 'table' | 'page'>();
  const add = (pfn: number, pid: number, kind: 'table' | 'page', va?: number) => {
    const list = owners.get(pfn) ?? [];
    if (!list.some((o) => o.pid === pid && o.va === va)) list.push({ pid, ...(va !== undefined ? { va } : {}) });
    owners.set(pfn, list);
    kinds.set(pfn, kind);
  };
  for (const p of procs) {
    if (p.gone || p.space.destroyed) continue;
    add(p.space.rootFrame, p.pid, 'table');
    const visit = (n: TableNode) => {
      if (n.type === 'table') {
        add(n.target, p.pid, 'table');
        n.children.forEach(visit);
      } else if (n.type === 'page') for (let k = 0; k < n.pageSize / 4096; k++) add(n.target + k, p.pid, 'page', n.va + k * 4096);
    };
    tableTree(machine, p).forEach(visit);
  }
  let last = 0;
  const refs: number[] = [];
  for (let f = 0; f < total; f++) {
    const r = f === 0 ? 1 : machine.physical.refCount(f * 4096);
    refs.push(r);
    if (r > 0) last = f;
  }
  const out: FrameUse[] = [];
  for (let f = 0; f <= Math.min(total - 1, last + 8); f++) {
    const r = refs[f]!;
    const o = owners.get(f) ?? [];
    const slot = machine.vmm.swapCache.slotOf(f);
    const kind: FrameUse['kind'] = machine.vmm.isZeroFrame(f) ? 'zero' : r <= 0 ? 'free' : (kinds.get(f) ?? (slot !== undefined ? 'swapcache' : 'kernel'));
    out.push({ pfn: f, refCount: Math.max(0, r), kind, owners: kind === 'zero' ? [] : o, ...(slot !== undefined ? { slot } : {}) });
  }
  return out;
}
