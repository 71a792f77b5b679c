/** The pure-TypeScript reference core: the oracle of the differential tests and the portable backend. */
import type { Core, CoreConfig } from '../core.js';
import type { RamImage } from '../core-state.js';
import { Counter, Feature, Result, Status, GLOBAL_TAG, TlbFlag, TlbOp, TWO47, TWO48, CHUNK_BYTES } from '../constants.js';
import { Ram } from './ram.js';
import { Frames } from './frames.js';
import { FlushSpan, PageTables } from './page-table.js';
import { Cpu } from './cpu.js';
import { invalidateAddress, invalidateWhere } from './tlb.js';
import { HierarchyModel } from './hierarchy-model.js';
import { hierarchyConfigOk } from './check-config.js';
import { DUMP_ENTRY, HierOp, HierStat, Slot } from '../../tlb/layout.js';
import { listOk, refReclaimOps } from './reclaim.js';

const LEVEL_OF_SHIFT: Record<number, number> = { 12: 1, 21: 2, 30: 3 };

function isInt(v: number): boolean {
  return Number.isInteger(v);
}

/** A range [la, la + count * 2^shift) that is aligned, in bounds and inside one half. */
function rangeOk(la: number, count: number, shift: number): boolean {
  const size = 2 ** shift;
  if (!isInt(la) || !isInt(count) || la < 0 || count < 1 || la % size !== 0) return false;
  const end = la + count * size;
  return end <= TWO48 && !(la < TWO47 && end > TWO47);
}

/** The binding's argument checks (native/binding.cc), so both backends refuse the same values the same way. */
function num(v: unknown, name: string): number {
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number`);
  return v;
}
function bool(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be a boolean`);
  return v;
}
function typed<T>(v: unknown, type: new (n: number) => T, name: string): T {
  if (!(v instanceof type)) throw new TypeError(`${name} has the wrong typed-array type`);
  return v;
}
/** A linear address: an integer in [0, 2^48). */
function laOk(la: number): boolean {
  return isInt(la) && la >= 0 && la < TWO48;
}

/** Builds the reference core. */
export function createRefCore(config: CoreConfig): Core {
  const bytes = num(config.memoryBytes, 'memoryBytes');
  if (!isInt(bytes) || bytes < 2 ** 21 || bytes > 2 ** 40 || bytes % 4096 !== 0) throw new RangeError('memoryBytes must be a multiple of 4096 in [2 MiB, 1 TiB]');
  const ram = new Ram(bytes);
  if (config.eagerHostMemory) ram.commitAll();
  const frames = new Frames(bytes / 4096, ram);
  const from = config.from;
  if (from) {
    if (!(from.refs instanceof Uint32Array) || from.refs.length !== bytes / 4096) throw new RangeError('from.refs must have one count per frame');
    if (from.ram !== undefined && !(from.ram instanceof JsRamImage && from.ram.bytes === bytes)) throw new RangeError('from.ram is not a js core image of this size');
    if (from.ram instanceof JsRamImage) ram.loadChunks(from.ram.chunks());
    frames.load(from.refs);
  }
  const features = num(config.features, 'features') | 0;
  const result = config.result;
  const given = [{ tlb: config.tlb, counters: config.counters }, ...(config.otherCpus ?? [])];
  if (given.length > 256) throw new RangeError('at most 256 CPUs');
  // One context per CPU: its TLB arrays, counters, CR3 and walker, and its optional hierarchy.
  const cpus = given.map(({ tlb, counters }) => new Cpu(ram, tlb, counters, result, features));
  let cpu = cpus[0]!;
  if (from) {
    if (from.cpus.length !== cpus.length) throw new RangeError('from.cpus must have one state per CPU');
    from.cpus.forEach((c, i) => {
      cpus[i]!.root = c.root;
      cpus[i]!.tag = c.tag;
    });
    if (!isInt(from.selected) || from.selected < 0 || from.selected >= cpus.length) throw new RangeError('from.selected is not a CPU');
    cpu = cpus[from.selected]!;
  }
  const pt = new PageTables(ram, frames, cpu.counters, from !== undefined);
  const total = frames.total;
  const chunks = Math.ceil(bytes / CHUNK_BYTES);
  const rootOk = (r: number) => frames.usable(r);
  /** What a hierarchy needs of its CPU (HierCpu). */
  const hierCpu = (c: Cpu) => ({
    get root() {
      return c.root;
    },
    get tag() {
      return c.tag;
    },
    walkFor: (la: number, kind: number, flags: number) => c.walkFor(la, kind, flags),
    allowed: (kind: number, user: boolean, ac: boolean, u: boolean, w: boolean, nx: boolean) => c.allowed(kind, user, ac, u, w, nx),
    get walkPbase() {
      return c.walkPbase;
    },
    get walkFlags() {
      return c.walkFlags;
    },
    get walkSizeClass() {
      return c.walkSizeClass;
    },
    entryAt: (pa: number): [number, number] | undefined => (pa < 0 || pa + 8 > ram.bytes ? undefined : [ram.lo(pa), ram.hi(pa)]),
    nxe: (features & Feature.NXE) !== 0,
  });
  const pcide = (features & Feature.PCIDE) !== 0;
  let disposed = false;
  const live = () => {
    if (disposed) throw new Error('the core has been disposed');
  };
  // The TLB maintenance of one CPU, shared by the calls on the selected CPU and tlbOps: each
  // reaches the CPU's TLB and its hierarchy, as the instruction does (SDM Vol. 3A §4.10.4.1).
  const invlpgOn = (c: Cpu, pcid: number, la: number, count: number, shift: number) => {
    const step = 2 ** shift;
    for (let k = 0; k < count; k++) invalidateAddress(c.tlb, la + k * step, pcid);
    if (c.hier) for (let k = 0; k < count; k++) c.hier.invalidate(HierOp.INVLPG, pcid, la + k * step);
    c.counters[Counter.INVLPG]! += count;
  };
  const flushPcidOn = (c: Cpu, pcid: number) => {
    invalidateWhere(c.tlb, (key, f) => (f & TlbFlag.GLOBAL) === 0 && key % 8192 === pcid);
    c.hier?.invalidate(HierOp.INVPCID_CONTEXT, pcid, 0);
    c.counters[Counter.FLUSHES]!++;
  };
  const flushAllOn = (c: Cpu, includeGlobal: boolean) => {
    invalidateWhere(c.tlb, (key, f) => includeGlobal || ((f & TlbFlag.GLOBAL) === 0 && key % 8192 !== GLOBAL_TAG));
    c.hier?.invalidate(includeGlobal ? HierOp.INVPCID_ALL_GLOBAL : HierOp.INVPCID_ALL, 0, 0);
    c.counters[Counter.FLUSHES]!++;
  };
  const setCr3On = (c: Cpu, root: number, pcid: number, noFlush: boolean) => {
    c.setCr3(root, pcid, noFlush);
    // SDM §4.10.4.1: a CR3 load drops the new PCID's non-global translations and walk-cache entries (PCID 0 without PCIDE), unless bit 63 says not to.
    if (c.hier && !(pcide && noFlush)) c.hier.invalidate(HierOp.INVPCID_CONTEXT, c.tag, 0);
  };
  const tlbOpOk = (o: Float64Array, i: number): boolean => {
    const [op, c, a, b, cc, d] = o.subarray(i * TlbOp.FIELDS, (i + 1) * TlbOp.FIELDS) as unknown as number[];
    if (!isInt(c!) || c! < 0 || c! >= cpus.length) return false;
    if (op === TlbOp.INVLPG) return isInt(a!) && a! >= 0 && a! <= 4096 && laOk(b!) && isInt(cc!) && cc! >= 0 && cc! <= 1e9 && (d === 12 || d === 21 || d === 30) && b! % 2 ** d === 0 && b! + cc! * 2 ** d <= TWO48;
    if (op === TlbOp.FLUSH_PCID) return isInt(a!) && a! >= 0 && a! <= 4095;
    if (op === TlbOp.FLUSH_ALL) return a === 0 || a === 1;
    if (op === TlbOp.LOAD_CR3) return rootOk(a!) && isInt(b!) && b! >= 0 && b! <= 4095 && (cc === 0 || cc === 1);
    return false;
  };

  const reclaimOps = refReclaimOps(ram, frames, pt, result);
  /** Writes a range operation's FlushSpan into result[E..H] (core.ts Result). */
  const putSpan = (f: FlushSpan, unmap: boolean) => {
    const any = f.levels !== 0;
    result[Result.E] = unmap ? f.tables : f.leaves;
    result[Result.F] = any ? f.start : 0;
    result[Result.G] = any ? f.end : 0;
    result[Result.H] = f.levels;
  };

  return {
    backend: 'js',
    totalFrames: total,
    cpuCount: cpus.length,
    selectCpu: (i) => {
      live();
      num(i, 'cpu');
      if (!isInt(i) || i < 0 || i >= cpus.length) throw new RangeError('selectCpu: no such CPU');
      cpu = cpus[i]!;
      pt.setCounters(cpu.counters);
    },
    tlbOps: (ops, count) => {
      live();
      typed(ops, Float64Array, 'ops');
      num(count, 'count');
      if (!isInt(count) || count < 0 || count * TlbOp.FIELDS > ops.length) return Status.EINVAL;
      for (let i = 0; i < count; i++) if (!tlbOpOk(ops, i)) return Status.EINVAL;
      for (let i = 0; i < count; i++) {
        const o = i * TlbOp.FIELDS;
        const c = cpus[ops[o + 1]!]!;
        const a = ops[o + 2]!;
        switch (ops[o]) {
          case TlbOp.INVLPG:
            invlpgOn(c, a, ops[o + 3]!, ops[o + 4]!, ops[o + 5]!);
            break;
          case TlbOp.FLUSH_PCID:
            flushPcidOn(c, a);
            break;
          case TlbOp.FLUSH_ALL:
            flushAllOn(c, a === 1);
            break;
          default:
            setCr3On(c, a, ops[o + 3]!, ops[o + 4] === 1);
        }
      }
      return Status.OK;
    },
    ramChunk: (i) => {
      live();
      num(i, 'i');
      if (!isInt(i) || i < 0 || i >= chunks) throw new RangeError('chunk index out of range');
      return ram.chunk(i);
    },
    ramWindow: (i) => {
      live();
      num(i, 'i');
      if (!isInt(i) || i < 0 || i * 2 ** 21 >= bytes) throw new RangeError('window index out of range');
      const start = i * 2 ** 21 - Math.floor((i * 2 ** 21) / CHUNK_BYTES) * CHUNK_BYTES;
      const c = ram.chunk(Math.floor((i * 2 ** 21) / CHUNK_BYTES));
      return c.subarray(start, Math.min(c.length, start + 2 ** 21));
    },
    freeFrames: () => (live(), frames.free),
    allocFrame: () => (live(), frames.alloc()),
    allocFrames: (count, align) => (live(), frames.allocRun(num(count, 'count'), num(align, 'align'))),
    allocFrameList: (out, count) => (live(), frames.allocList(typed(out, Float64Array, 'out'), num(count, 'count'))),
    refFrame: (pfn) => (live(), frames.ref(num(pfn, 'pfn'))),
    unrefFrame: (pfn) => (live(), frames.unref(num(pfn, 'pfn'))),
    unrefFrameList: (list, count) => {
      live();
      typed(list, Float64Array, 'frames');
      num(count, 'count');
      if (!isInt(count) || count < 0 || count > list.length) return Status.EINVAL;
      return frames.unrefList(list, count);
    },
    refCount: (pfn) => {
      live();
      num(pfn, 'pfn');
      return isInt(pfn) && pfn >= 0 && pfn < total ? frames.refs[pfn]! : Status.EINVAL;
    },
    refCountList: (list, count, out) => {
      live();
      typed(list, Float64Array, 'frames');
      typed(out, Float64Array, 'out');
      num(count, 'count');
      if (!isInt(count) || count < 0 || count > list.length || count > out.length) return Status.EINVAL;
      for (let i = 0; i < count; i++) {
        const pfn = list[i]!;
        if (!isInt(pfn) || pfn < 0 || pfn >= total) return Status.EINVAL;
      }
      for (let i = 0; i < count; i++) out[i] = frames.refs[list[i]!]!;
      return Status.OK;
    },
    noteWritten: (pfn, count) => {
      live();
      num(pfn, 'pfn');
      num(count, 'count');
      // The reference core zeroes every frame it hands out: nothing to note.
    },
    copyFrame: (dst, src) => {
      live();
      num(dst, 'dst');
      num(src, 'src');
      if (!frames.usable(dst) || !frames.usable(src)) return Status.EINVAL;
      ram.copyFrame(dst, src);
      return Status.OK;
    },
    createRoot: () => (live(), pt.createRoot()),
    destroyRoot: (root) => (live(), pt.destroyRoot(num(root, 'root'))),
    map: (root, la, count, shift, attrLo, attrHi, pfn) => {
      live();
      num(root, 'root');
      num(la, 'la');
      num(count, 'count');
      num(shift, 'shift');
      num(attrLo, 'attrLo');
      num(attrHi, 'attrHi');
      num(pfn, 'pfn');
      const level = LEVEL_OF_SHIFT[shift];
      if (level === undefined || !rootOk(root) || !rangeOk(la, count, shift) || !isInt(pfn) || pfn < -1) return Status.EINVAL;
      if (pfn >= 0 && pfn % (2 ** (shift - 12)) !== 0) return Status.EINVAL;
      return pt.map(root, la, count, level, attrLo >>> 0, attrHi >>> 0, pfn);
    },
    mapList: (root, la, list, attrLo, attrHi) => {
      live();
      num(root, 'root');
      num(la, 'la');
      typed(list, Float64Array, 'frames');
      num(attrLo, 'attrLo');
      num(attrHi, 'attrHi');
      if (!rootOk(root) || !rangeOk(la, list.length, 12)) return Status.EINVAL;
      return pt.map(root, la, list.length, 1, attrLo >>> 0, attrHi >>> 0, -1, list);
    },
    unmap: (root, la, count) => {
      live();
      num(root, 'root');
      num(la, 'la');
      num(count, 'count');
      if (!rootOk(root) || !rangeOk(la, count, 12)) return Status.EINVAL;
      const freed = [0];
      const span = new FlushSpan();
      const n = pt.unmap(root, la, count, freed, span);
      result[Result.D] = freed[0]!;
      putSpan(span, true);
      return n;
    },
    protect: (root, la, count, setLo, setHi, clrLo, clrHi, ifLo, thenClrLo) => {
      live();
      for (const [v, name] of [[root, 'root'], [la, 'la'], [count, 'count'], [setLo, 'setLo'], [setHi, 'setHi'], [clrLo, 'clrLo'], [clrHi, 'clrHi'], [ifLo, 'ifLo'], [thenClrLo, 'thenClrLo']] as const) num(v, name);
      if (!rootOk(root) || !rangeOk(la, count, 12)) return Status.EINVAL;
      const span = new FlushSpan();
      const n = pt.protect(root, la, count, setLo >>> 0, setHi >>> 0, clrLo >>> 0, clrHi >>> 0, ifLo >>> 0, thenClrLo >>> 0, span);
      if (n >= 0) putSpan(span, false);
      return n;
    },
    scanAccessed: (root, la, count, clear) => {
      live();
      num(root, 'root');
      num(la, 'la');
      num(count, 'count');
      bool(clear, 'clear');
      if (!rootOk(root) || !rangeOk(la, count, 12)) return Status.EINVAL;
      const [leaves, pages] = pt.scanAccessed(root, la, count, clear);
      result[Result.A] = pages;
      return leaves;
    },
    translate: (root, la) => {
      live();
      num(root, 'root');
      num(la, 'la');
      if (!rootOk(root) || !laOk(la)) return Status.EINVAL;
      const leaf = pt.leaf(root, la, false);
      if (!leaf) return Status.ENOENT;
      const [table, idx, level] = leaf;
      const ea = pt.ea(table, idx);
      const lo = ram.lo(ea);
      const hi = ram.hi(ea);
      const size = 2 ** (3 + 9 * level);
      const pfn = (lo >>> 12) + (hi & 0xfffff) * 1048576;
      const base = (pfn - (pfn % (size / 4096))) * 4096;
      result[Result.A] = base + (la % size);
      result[Result.B] = lo;
      result[Result.C] = hi;
      result[Result.D] = 3 + 9 * level;
      return Status.OK;
    },
    fork: (src, dst, la, count, parentClrLo, parentSetLo, childClrLo) => {
      live();
      for (const [v, name] of [[src, 'src'], [dst, 'dst'], [la, 'la'], [count, 'count'], [parentClrLo, 'parentClrLo'], [parentSetLo, 'parentSetLo'], [childClrLo, 'childClrLo']] as const) num(v, name);
      if (!rootOk(src) || !rootOk(dst) || src === dst || !rangeOk(la, count, 12)) return Status.EINVAL;
      return pt.fork(src, dst, la, count, parentClrLo >>> 0, parentSetLo >>> 0, childClrLo >>> 0);
    },
    countFrames: (root, la, count, pfn, frames) => {
      live();
      for (const [v, name] of [[root, 'root'], [la, 'la'], [count, 'count'], [pfn, 'pfn'], [frames, 'frames']] as const) num(v, name);
      if (!rootOk(root) || !rangeOk(la, count, 12) || !isInt(pfn) || pfn < 0 || !isInt(frames) || frames < 0) return Status.EINVAL;
      return pt.countFrames(root, la, count, pfn, frames);
    },
    moveRange: (root, src, dst, count) => {
      live();
      for (const [v, name] of [[root, 'root'], [src, 'src'], [dst, 'dst'], [count, 'count']] as const) num(v, name);
      if (!rootOk(root) || !rangeOk(src, count, 12) || !rangeOk(dst, count, 12)) return Status.EINVAL;
      const len = count * 4096;
      if (src + len > TWO47 || dst + len > TWO47 || (src < dst + len && dst < src + len)) return Status.EINVAL;
      return pt.moveRange(root, src, dst, count);
    },
    cowBreak: (root, la, mode, attrLo, attrHi) => {
      live();
      for (const [v, name] of [[root, 'root'], [la, 'la'], [mode, 'mode'], [attrLo, 'attrLo'], [attrHi, 'attrHi']] as const) num(v, name);
      if (!rootOk(root) || !rangeOk(la, 1, 12) || (mode !== 0 && mode !== 1)) return Status.EINVAL;
      return pt.cowBreak(root, la, mode, attrLo >>> 0, attrHi >>> 0);
    },
    setCr3: (root, pcid, noFlush) => {
      live();
      num(root, 'root');
      num(pcid, 'pcid');
      bool(noFlush, 'noFlush');
      if (!rootOk(root) || !isInt(pcid) || pcid < 0 || pcid > 4095) throw new RangeError('setCr3: bad root or pcid');
      setCr3On(cpu, root, pcid, noFlush);
    },
    invalidate: (pcid, la, count) => {
      live();
      num(pcid, 'pcid');
      num(la, 'la');
      num(count, 'count');
      if (!isInt(pcid) || pcid < 0 || pcid > 4096 || !laOk(la) || !isInt(count) || count < 0 || count > 1e9) throw new RangeError('invalidate: bad pcid, la or count');
      invlpgOn(cpu, pcid, la, count, 12);
    },
    flushPcid: (pcid) => {
      live();
      num(pcid, 'pcid');
      if (!isInt(pcid) || pcid < 0 || pcid > 4095) throw new RangeError('flushPcid: bad pcid');
      flushPcidOn(cpu, pcid);
    },
    flushAll: (includeGlobal) => {
      live();
      bool(includeGlobal, 'includeGlobal');
      flushAllOn(cpu, includeGlobal);
    },
    access: (la, kind, flags) => {
      live();
      num(la, 'la');
      num(kind, 'kind');
      num(flags, 'flags');
      if (!laOk(la) || (kind !== 0 && kind !== 1 && kind !== 2)) return Status.EINVAL;
      return cpu.access(la, kind, flags);
    },
    accessBatch: (las, kinds, start, end, flags) => {
      live();
      typed(las, Float64Array, 'las');
      typed(kinds, Uint8Array, 'kinds');
      num(start, 'start');
      num(end, 'end');
      num(flags, 'flags');
      // + 0: a start of -0 is position 0 (native returns +0).
      return cpu.accessBatch(las, kinds, start + 0, end + 0, flags);
    },
    traceBatch: (words, start, end, flags, out) => {
      live();
      typed(words, Uint32Array, 'words');
      num(start, 'start');
      num(end, 'end');
      num(flags, 'flags');
      typed(out, Float64Array, 'out');
      return cpu.traceBatch(words, start + 0, end + 0, flags, out);
    },
    copyVirt: (la, buf, offset, length, write, flags) => {
      live();
      num(la, 'la');
      typed(buf, Uint8Array, 'buf');
      num(offset, 'offset');
      num(length, 'length');
      bool(write, 'write');
      num(flags, 'flags');
      if (!laOk(la) || !isInt(offset) || !isInt(length) || offset < 0 || length < 0 || offset + length > buf.length || la + length > TWO48) return Status.EINVAL;
      return cpu.copyVirt(la, buf, offset, length, write, flags);
    },
    hierarchy: (conf, stats) => {
      live();
      if (conf === null) {
        cpu.hier = undefined;
        return Status.OK;
      }
      if (!hierarchyConfigOk(conf) || !(stats instanceof Float64Array) || stats.length < HierStat.LENGTH) return Status.EINVAL;
      cpu.hier = new HierarchyModel(conf, stats, hierCpu(cpu));
      return Status.OK;
    },
    hierTraceBatch: (w, start, end, flags, out) => {
      live();
      const hier = cpu.hier;
      if (!hier) return Status.EINVAL;
      if (!Number.isInteger(start) || !Number.isInteger(end) || !Number.isInteger(flags) || start < 0 || end < 0 || start > end * 2 || end * 2 > w.length || out.length < 5) return Status.EINVAL;
      if ((flags & 1) === 0) return Status.EINVAL; // the hierarchy models user-mode accesses
      if ((flags & 4) === 0) for (let i = start >> 1; i < end; i++) if (w[2 * i + 1]! >>> 30 !== 0) return Status.EINVAL;
      return hier.traceBatch(w, start, end, flags, out);
    },
    hierInvalidate: (op, pcid, la) => {
      live();
      const hier = cpu.hier;
      if (!hier) return Status.EINVAL;
      if (!Number.isInteger(op) || op < 0 || op > HierOp.INVPCID_ALL || !Number.isInteger(pcid) || pcid < 0 || pcid > 4095 || !Number.isInteger(la) || la < 0 || la >= TWO48) return Status.EINVAL;
      hier.invalidate(op, pcid, la);
      return Status.OK;
    },
    hierDump: (slot, out) => {
      live();
      const hier = cpu.hier;
      if (!hier || !Number.isInteger(slot) || slot < 0 || slot >= Slot.COUNT) return Status.EINVAL;
      const a = hier.arrays[slot];
      if (!a) return Status.ENOENT;
      if (out.length < a.entries * (DUMP_ENTRY + 1) + 2) return Status.EINVAL;
      return a.dump(out);
    },
    // The reclaim list operations, refused after dispose like every other; an INVLPG of a list
    // reaches the hierarchy too, as invalidate's does.
    ...guarded(reclaimOps, live),
    invalidateList: (pcid, las, count) => {
      live();
      if (!listOk(las, count) || !Number.isInteger(pcid) || pcid < 0 || pcid > 4096) throw new RangeError('invalidateList: bad pcid, las or count');
      for (let i = 0; i < count; i++) invalidateAddress(cpu.tlb, las[i]!, pcid);
      // As invalidate: an INVLPG reaches every TLB structure, the hierarchy's too.
      if (cpu.hier) for (let k = 0; k < count; k++) cpu.hier.invalidate(HierOp.INVLPG, pcid, las[k]!);
      cpu.counters[Counter.INVLPG]! += count;
    },
    capture: () => {
      live();
      return {
        refs: frames.refs.slice(),
        selected: cpus.indexOf(cpu),
        cpus: cpus.map((c) => ({ root: c.root, tag: c.tag, pending: c.hier?.pendingTouch ?? 0 })),
        ram: new JsRamImage(bytes, ram.copyChunks()),
      };
    },
    hierRestore: (dumps, pending) => {
      live();
      if (!cpu.hier || !Array.isArray(dumps) || !isInt(pending) || pending < 0 || pending > 255) return Status.EINVAL;
      return cpu.hier.restore(dumps, pending) ? Status.OK : Status.EINVAL;
    },
    dispose: () => {
      disposed = true;
      for (const c of cpus) c.hier = undefined;
    },
  };
}

/** The js core's frozen RAM: copies of its chunks (docs/snapshots.md: this backend copies). */
export class JsRamImage implements RamImage {
  private parts: ReadonlyArray<Uint8Array | undefined> | undefined;
  constructor(
    readonly bytes: number,
    parts: ReadonlyArray<Uint8Array | undefined>,
  ) {
    this.parts = parts;
  }
  /** The chunks (throws once released). */
  chunks(): ReadonlyArray<Uint8Array | undefined> {
    if (!this.parts) throw new Error('the snapshot has been released');
    return this.parts;
  }
  read(pfn: number, count: number, out: Uint8Array): void {
    const parts = this.chunks();
    for (let k = 0; k < count; k++) {
      const pa = (pfn + k) * 4096;
      const c = parts[Math.floor(pa / CHUNK_BYTES)];
      const at = pa % CHUNK_BYTES;
      if (c) out.set(c.subarray(at, at + 4096), k * 4096);
      else out.fill(0, k * 4096, (k + 1) * 4096);
    }
  }
  release(): void {
    this.parts = undefined;
  }
}

/** `ops` with `live()` run before each call (a disposed core refuses them all). */
function guarded<T extends object>(ops: T, live: () => void): T {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(ops)) {
    out[k] = (...args: unknown[]) => {
      live();
      return (f as (...a: unknown[]) => unknown)(...args);
    };
  }
  return out as T;
}
