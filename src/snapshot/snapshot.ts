/**
 * A snapshot of a whole machine (docs/snapshots.md): its object graph (every process, thread,
 * region, swap slot, policy, TLB array and statistic) as plain data, and its core's state with
 * RAM frozen copy-on-write. `restore()` makes a new, independent machine in exactly that state,
 * as many times as asked.
 */
import type { Mmu } from '../machine/mmu.js';
import type { GraphImage } from './graph-image.js';
import { captureGraph } from './graph-capture.js';
import { restoreGraph } from './graph-restore.js';
import { captureCore, restoreCore, type CoreImage } from './core-image.js';
import { SnapshotError } from './snapshot-error.js';
import { resolveTlbChoice, retargetTlb, type TlbChoice } from './tlb-geometry.js';
import './machine-classes.js';

/**
 * A machine's state at one point; see Machine.snapshot(). `M` is the class of machine it
 * restores (machine.snapshot() gives a `Snapshot<Machine>`; named by a parameter so that this
 * layer does not import the machine above it).
 */
export class Snapshot<M = unknown> {
  /** @internal */
  constructor(
    /** @internal The machine's objects. */
    readonly graph: GraphImage,
    /** @internal The core's state and frozen RAM. */
    readonly core: CoreImage,
  ) {}

  /** @internal True once release() ran. */
  released = false;

  /** The backend of the machine it was taken of. */
  get backend(): 'native' | 'js' {
    return this.core.backend;
  }

  /** Simulated RAM in bytes. */
  get memoryBytes(): number {
    return this.core.memoryBytes;
  }

  /** A new machine in exactly the captured state (the same backend); independent of the original and of every other restore. */
  restore(): M {
    return this.restoreOn(undefined);
  }

  /**
   * @internal restore() on another backend (a file's machine: 'auto' picks native when it
   * loads; RAM is then copied in), and with another TLB (`tlb`: the machine's TLB options;
   * `out.tlbEmptied` says whether its geometry differed, so its TLBs start empty).
   */
  restoreOn(backend: 'native' | 'js' | undefined, tlb?: TlbChoice, out?: { tlbEmptied?: boolean }): M {
    if (this.released) throw new SnapshotError('EINVAL', 'the snapshot has been released');
    const geometry = tlb ? resolveTlbChoice(tlb) : undefined;
    const m = restoreGraph(this.graph, (kind, root) => {
      if (kind !== 'core') throw new SnapshotError('EINVAL', `the snapshot holds a special object of unknown kind ${kind}`);
      const mmu = root as Mmu & { backend: string; config: { backend: string } };
      if (backend !== undefined && backend !== mmu.backend) {
        mmu.backend = backend;
        mmu.config = { ...mmu.config, backend };
      }
      const emptied = geometry ? retargetTlb(mmu, geometry) : false;
      if (out) out.tlbEmptied = emptied;
      return restoreCore(this.core, root as Mmu, emptied);
    });
    return m as M;
  }

  /** Gives the frozen RAM's host memory back now (else when the snapshot is collected); restore() is refused afterwards. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.core.ram.release();
  }

  /** `using s = m.snapshot()`: release() when the block ends. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/** @internal Captures `m` (already checked live): the graph first (what cannot be captured stops here, before RAM is frozen), then the core. */
export function takeSnapshot<M extends Mmu>(m: M): Snapshot<M> {
  const graph = captureGraph(m, new Map([[m.core as object, 'core']]));
  return new Snapshot<M>(graph, captureCore(m));
}
