/**
 * The core's part of a snapshot: what the core captures (reference counts, CR3s, the selected
 * CPU, RAM frozen as an image) plus each CPU's hierarchy arrays (hierDump), and how a core is
 * made again from it for a restored machine — over the same RAM image (copy-on-write) when the
 * backend is the one that captured it, else (the other backend, or a file) fresh RAM the frames
 * are copied into.
 */
import type { Core } from '../core/core.js';
import type { RamImage } from '../core/core-state.js';
import { createCore } from '../core/create-core.js';
import { nativeRamImage } from '../core/native-core.js';
import { JsRamImage } from '../core/ref/ref-core.js';
import { Status } from '../core/constants.js';
import { encodeHierarchy } from '../tlb/hierarchy-options.js';
import { Slot } from '../tlb/layout.js';
import type { Mmu } from '../machine/mmu.js';
import { SnapshotError } from './snapshot-error.js';

/** One CPU's core state. */
export interface CpuImage {
  readonly root: number;
  readonly tag: number;
  /** The hierarchy's pending faulted touch, and each slot's dump (null: absent slot); hier null without a hierarchy. */
  readonly pending: number;
  readonly hier: ReadonlyArray<Float64Array | null> | null;
}

/** The core's state in a snapshot. */
export interface CoreImage {
  /** The backend that captured it (its RAM image is that backend's). */
  readonly backend: 'native' | 'js';
  readonly memoryBytes: number;
  /** Reference count of every frame. */
  readonly refs: Uint32Array;
  /** The native core's frames-ever-used bitmap (64-bit words as 32-bit pairs), when it captured. */
  readonly used?: Uint32Array;
  readonly selected: number;
  readonly cpus: readonly CpuImage[];
  /** The frozen RAM, readable a run of frames at a time. */
  readonly ram: RamImage;
  /** The backend's own RAM handle (undefined for an image read from a file: RAM is then copied in). */
  readonly handle?: unknown;
}

/** Captures the core of `m` (its RAM goes on copy-on-write). */
export function captureCore(m: Mmu): CoreImage {
  const core = m.core;
  const cap = core.capture();
  const cpus: CpuImage[] = [];
  const h = m.config.hierarchy;
  for (const cpu of m.cpuArray) {
    const c = cap.cpus[cpu.index]!;
    let hier: Array<Float64Array | null> | null = null;
    if (cpu.hierStats && h) {
      core.selectCpu(cpu.index);
      hier = [];
      for (let s = 0; s < Slot.COUNT; s++) {
        const a = h.arrays[s];
        if (!a) {
          hier.push(null);
          continue;
        }
        const out = new Float64Array(a.entries * 5 + 2);
        if (core.hierDump(s, out) < 0) throw new SnapshotError('EIO', `the core refused to dump CPU ${cpu.index}'s TLB array ${s}`);
        hier.push(out);
      }
    }
    cpus.push({ root: c.root, tag: c.tag, pending: c.pending, hier });
  }
  core.selectCpu(cap.selected);
  const backend = core.backend;
  return {
    backend,
    memoryBytes: m.config.memoryBytes,
    refs: cap.refs,
    ...(cap.used ? { used: cap.used } : {}),
    selected: cap.selected,
    cpus,
    ram: backend === 'native' ? nativeRamImage(cap.ram) : (cap.ram as JsRamImage),
    handle: cap.ram,
  };
}

/** A core for the restored machine `m` (its TLB arrays, counters and result array already restored) in the image's state; `emptyHierarchy`: its hierarchy (of another geometry) starts empty. */
export function restoreCore(img: CoreImage, m: Mmu, emptyHierarchy = false): Core {
  const cpus = m.cpuArray;
  if (cpus.length !== img.cpus.length) throw new SnapshotError('EINVAL', `the snapshot's core has ${img.cpus.length} CPUs, its machine ${cpus.length}`);
  const backend = m.backend;
  const same = img.handle !== undefined && img.backend === backend;
  const core = createCore(backend, {
    memoryBytes: img.memoryBytes,
    features: m.config.features,
    tlb: cpus[0]!.tlbState,
    counters: cpus[0]!.counters,
    result: m.result,
    ...(cpus.length > 1 ? { otherCpus: cpus.slice(1).map((c) => ({ tlb: c.tlbState, counters: c.counters })) } : {}),
    from: {
      refs: img.refs,
      ...(same && img.used ? { used: img.used } : {}),
      selected: img.selected,
      cpus: img.cpus.map((c) => ({ root: c.root, tag: c.tag })),
      ...(same ? { ram: img.handle } : {}),
    },
  });
  try {
    if (!same) copyFrames(img, core);
    const h = m.config.hierarchy;
    if (h) {
      const conf = encodeHierarchy(h);
      for (const cpu of cpus) {
        const ci = img.cpus[cpu.index]!;
        if (emptyHierarchy && cpu.hierStats) {
          core.selectCpu(cpu.index);
          if (core.hierarchy(conf, cpu.hierStats) !== Status.OK) throw new SnapshotError('EINVAL', `the core refused CPU ${cpu.index}'s TLB hierarchy`);
          continue;
        }
        if (!cpu.hierStats || !ci.hier) throw new SnapshotError('EINVAL', `the snapshot's CPU ${cpu.index} has no TLB hierarchy state`);
        core.selectCpu(cpu.index);
        const stats = cpu.hierStats.slice();
        if (core.hierarchy(conf, cpu.hierStats) !== Status.OK || core.hierRestore(ci.hier, ci.pending) !== Status.OK) throw new SnapshotError('EINVAL', `the core refused CPU ${cpu.index}'s TLB hierarchy state`);
        cpu.hierStats.set(stats);
      }
      core.selectCpu(img.selected);
    }
  } catch (e) {
    core.dispose();
    throw e;
  }
  return core;
}

/** Frames per copy step (one 2 MiB RAM window). */
const STEP = 512;

/** Copies the image's non-zero frames into a fresh core's RAM (marking them written, so the native core zeroes them before reuse). */
function copyFrames(img: CoreImage, core: Core): void {
  const total = img.memoryBytes / 4096;
  const buf = new Uint8Array(STEP * 4096);
  const words = new Uint32Array(buf.buffer);
  for (let first = 0; first < total; first += STEP) {
    const n = Math.min(STEP, total - first);
    if (img.used && !anyUsed(img.used, first, n)) continue;
    img.ram.read(first, n, buf);
    const win = core.ramWindow(first / STEP);
    for (let k = 0; k < n; k++) {
      if (isZero(words, k * 1024)) continue;
      win.set(buf.subarray(k * 4096, (k + 1) * 4096), k * 4096);
      core.noteWritten(first + k, 1);
    }
  }
}

function anyUsed(used: Uint32Array, first: number, n: number): boolean {
  for (let f = first; f < first + n; f += 32) if (used[f >>> 5] !== 0) return true;
  return false;
}

function isZero(w: Uint32Array, at: number): boolean {
  for (let i = at; i < at + 1024; i++) if (w[i] !== 0) return false;
  return true;
}
