/** The pure-TypeScript reference core: the oracle of the differential tests and the portable backend. */
import type { Core, CoreConfig } from '../core.js';
import { Counter, Result, Status, GLOBAL_TAG, TlbFlag } from '../constants.js';
import { Ram } from './ram.js';
import { Frames } from './frames.js';
import { PageTables } from './page-table.js';
import { Cpu } from './cpu.js';
import { invalidateAddress, invalidateWhere } from './tlb.js';
import { refReclaimOps } from './reclaim.js';

const TWO47 = 2 ** 47;
const TWO48 = 2 ** 48;
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

/** Builds the reference core. */
export function createRefCore(config: CoreConfig): Core {
  const ram = new Ram(config.memoryBytes);
  if (config.eagerHostMemory) ram.commitAll();
  const frames = new Frames(config.memoryBytes / 4096, ram);
  const pt = new PageTables(ram, frames);
  const cpu = new Cpu(ram, config.tlb, config.counters, config.result, config.features);
  const tlb = config.tlb;
  const counters = config.counters;
  const result = config.result;
  const total = frames.total;
  const rootOk = (r: number) => frames.usable(r);

  return {
    backend: 'js',
    totalFrames: total,
    ramChunk: (i) => ram.chunk(i),
    freeFrames: () => frames.free,
    allocFrame: () => frames.alloc(),
    allocFrames: (count, align) => frames.allocRun(count, align),
    allocFrameList: (out, count) => frames.allocList(out, count),
    refFrame: (pfn) => frames.ref(pfn),
    unrefFrame: (pfn) => frames.unref(pfn),
    refCount: (pfn) => (isInt(pfn) && pfn >= 0 && pfn < total ? frames.refs[pfn]! : Status.EINVAL),
    noteWritten: () => {}, // the reference core zeroes every frame it hands out
    copyFrame: (dst, src) => {
      if (!frames.usable(dst) || !frames.usable(src)) return Status.EINVAL;
      ram.copyFrame(dst, src);
      return Status.OK;
    },
    createRoot: () => pt.createRoot(),
    destroyRoot: (root) => pt.destroyRoot(root),
    map: (root, la, count, shift, attrLo, attrHi, pfn) => {
      const level = LEVEL_OF_SHIFT[shift];
      if (level === undefined || !rootOk(root) || !rangeOk(la, count, shift) || !isInt(pfn) || pfn < -1) return Status.EINVAL;
      if (pfn >= 0 && pfn % (2 ** (shift - 12)) !== 0) return Status.EINVAL;
      return pt.map(root, la, count, level, attrLo >>> 0, attrHi >>> 0, pfn);
    },
    mapList: (root, la, list, attrLo, attrHi) => {
      if (!rootOk(root) || !(list instanceof Float64Array) || !rangeOk(la, list.length, 12)) return Status.EINVAL;
      return pt.map(root, la, list.length, 1, attrLo >>> 0, attrHi >>> 0, -1, list);
    },
    unmap: (root, la, count) => {
      if (!rootOk(root) || !rangeOk(la, count, 12)) return Status.EINVAL;
      const freed = [0];
      const n = pt.unmap(root, la, count, freed);
      result[Result.D] = freed[0]!;
      return n;
    },
    protect: (root, la, count, setLo, setHi, clrLo, clrHi, flags) => {
      if (!rootOk(root) || !rangeOk(la, count, 12)) return Status.EINVAL;
      return pt.protect(root, la, count, setLo >>> 0, setHi >>> 0, clrLo >>> 0, clrHi >>> 0, flags);
    },
    scanAccessed: (root, la, count, clear) => {
      if (!rootOk(root) || !rangeOk(la, count, 12) || typeof clear !== 'boolean') return Status.EINVAL;
      const [leaves, pages] = pt.scanAccessed(root, la, count, clear);
      config.result[Result.A] = pages;
      return leaves;
    },
    translate: (root, la) => {
      if (!rootOk(root) || !isInt(la) || la < 0 || la >= TWO48) return Status.EINVAL;
      const leaf = pt.leaf(root, la);
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
    fork: (src, dst, la, count, mode) => {
      if (!rootOk(src) || !rootOk(dst) || src === dst || !rangeOk(la, count, 12) || (mode !== 0 && mode !== 1)) return Status.EINVAL;
      return pt.fork(src, dst, la, count, mode);
    },
    replace: (root, la, pfn, attrLo, attrHi) => {
      if (!rootOk(root) || !rangeOk(la, 1, 12) || !isInt(pfn)) return Status.EINVAL;
      return pt.replace(root, la, pfn, attrLo >>> 0, attrHi >>> 0);
    },
    cowBreak: (root, la, mode, attrLo, attrHi) => {
      if (!rootOk(root) || !rangeOk(la, 1, 12) || (mode !== 0 && mode !== 1)) return Status.EINVAL;
      return pt.cowBreak(root, la, mode, attrLo >>> 0, attrHi >>> 0);
    },
    setCr3: (root, pcid, noFlush) => cpu.setCr3(root, pcid, noFlush),
    invalidate: (pcid, la, count) => {
      for (let k = 0; k < count; k++) invalidateAddress(tlb, la + k * 4096, pcid);
      counters[Counter.INVLPG]! += count;
    },
    flushPcid: (pcid) => {
      invalidateWhere(tlb, (key, f) => (f & TlbFlag.GLOBAL) === 0 && key % 8192 === pcid);
      counters[Counter.FLUSHES]!++;
    },
    flushAll: (includeGlobal) => {
      invalidateWhere(tlb, (key, f) => includeGlobal || ((f & TlbFlag.GLOBAL) === 0 && key % 8192 !== GLOBAL_TAG));
      counters[Counter.FLUSHES]!++;
    },
    access: (la, kind, flags) => cpu.access(la, kind, flags),
    accessBatch: (las, kinds, start, end, flags) => cpu.accessBatch(las, kinds, start, end, flags),
    traceBatch: (words, start, end, flags, out) => cpu.traceBatch(words, start, end, flags, out),
    copyVirt: (la, buf, offset, length, write, flags) => cpu.copyVirt(la, buf, offset, length, write, flags),
    ...refReclaimOps(ram, frames, pt, tlb, counters, result),
    dispose: () => {},
  };
}
