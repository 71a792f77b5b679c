/**
 * Replay and snapshots (docs/snapshots.md, "Replay and sweeps from a snapshot"): a replay may start from a snapshot (its
 * machine and its one process continue with the trace) and may save its machine when it ends.
 * A snapshot's machine keeps its memory and process; the experiment's TLB replaces the
 * snapshot's, keeping its contents when the geometry is the same and starting empty when not.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { VmmError } from '../errors.js';
import { nativeAvailable } from '../core/native-core.js';
import { Snapshot } from '../snapshot/snapshot.js';
import { loadSnapshotFile, saveSnapshotFile, type SaveInfo } from '../snapshot/snapshot-file.js';
import type { AddressSpace } from '../vmm/address-space.js';
import type { Machine } from '../system/machine.js';
import type { ReplayOptions, ResolvedReplayOptions } from './replay-options.js';
import type { ReplayEngine } from './replay-engine.js';
import type { ReplayResult } from './replay-result.js';

/** Where a replay from a snapshot starts: the machine, its process, and the counts it had. */
export interface SnapshotStart {
  machine: Machine;
  space: AddressSpace;
  from: NonNullable<ReplayResult['from']>;
  /** The process's fault and reclaim counts at the start (its result counts from here). */
  base: { minor: number; major: number; cow: number; reclaim?: Record<string, number> };
}

/** The machine of `options.from` (a snapshot file's path or a Snapshot) with the experiment's TLB; its one process. */
export function startFromSnapshot(options: ReplayOptions, o: ResolvedReplayOptions): SnapshotStart {
  const src = options.from!;
  if (typeof src !== 'string' && !(src instanceof Snapshot)) throw new VmmError('EINVAL', 'options.from must be a snapshot file\'s path or a Snapshot (machine.snapshot(), Machine.load), got an object of another kind');
  const backend = o.backend === 'auto' ? (nativeAvailable() ? 'native' : 'js') : o.backend;
  const snap = typeof src === 'string' ? fileSnapshot(src, backend) : (src as Snapshot<Machine>);
  const out: { tlbEmptied?: boolean } = {};
  const machine = snap.restoreOn(backend, { ...(options.tlb !== undefined ? { tlb: options.tlb } : {}), ...(options.cpu !== undefined ? { cpu: options.cpu } : {}) }, out);
  const procs = machine.processes();
  if (procs.length !== 1) {
    machine.dispose();
    throw new VmmError('EINVAL', `options.from: the snapshot's machine has ${procs.length} processes; a replay continues a machine with one (as replay saves)`);
  }
  const space = procs[0]!;
  // The hierarchy's statistics count from the trace's first access, as in a fresh replay (the machine's are its own copy).
  for (let i = 0; i < machine.cpus; i++) machine.cpu(i).hierStats?.fill(0);
  const f = space.stats().faults;
  const rs = space.vm.resident;
  return {
    machine,
    space,
    from: { snapshot: typeof src === 'string' ? src : '<snapshot>', tlbs: out.tlbEmptied ? 'emptied' : 'kept' },
    base: { minor: f.minor, major: f.major, cow: f.cow, ...(rs ? { reclaim: { ...rs.counters } as unknown as Record<string, number> } : {}) },
  };
}

/** The last snapshot file loaded, as an in-memory snapshot of its machine (held weakly: the collector may take it). */
let lastFile: { key: string; snap: WeakRef<Snapshot<Machine>> } | undefined;

/**
 * The snapshot in file `path` for restores on `backend`: a sweep's rows from one file load it
 * once per process and then restore copy-on-write (a file's pages would otherwise be read,
 * inflated and copied for every row). Keyed by the file's identity and times, so a changed file
 * is read again.
 */
function fileSnapshot(path: string, backend: 'native' | 'js'): Snapshot<Machine> {
  let key: string | undefined;
  try {
    const st = statSync(path, { bigint: true });
    key = `${backend}\0${resolve(path)}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    key = undefined; // the load reports it
  }
  const cached = key !== undefined && lastFile?.key === key ? lastFile.snap.deref() : undefined;
  if (cached && !cached.released) return cached;
  const file = loadSnapshotFile<Machine>(path);
  let m: Machine;
  try {
    m = file.restoreOn(backend);
  } finally {
    file.release();
  }
  try {
    const snap = m.snapshot();
    if (key !== undefined) lastFile = { key, snap: new WeakRef(snap) };
    return snap;
  } finally {
    m.dispose();
  }
}

/**
 * The result of a replay from a snapshot counts from the snapshot: the process's own counters
 * less what they were there. `rebased`: a warm-up (or skip) window already restarted the counts
 * at its end, later than the snapshot, so nothing is to be taken off.
 */
export function countFromStart(result: ReplayResult, start: SnapshotStart, rebased = false): void {
  result.from = start.from;
  if (rebased) return;
  const b = start.base;
  result.faults.minor -= b.minor;
  result.faults.major -= b.major;
  result.faults.cow -= b.cow;
  const r = b.reclaim;
  const rs = start.space.vm.resident;
  if (r && rs && result.swap && result.evictions) {
    const c = rs.counters as unknown as Record<string, number>;
    const d = (k: string) => c[k]! - r[k]!;
    result.swap.in = d('pswpin') + d('zswpin');
    result.swap.out = d('pswpout') + d('zswpout');
    result.evictions = { clean: d('evict_clean'), dirty: d('evict_dirty') };
  }
}

/** Saves the replay's machine to `path`, without the engine's hooks (code a file cannot hold; a replay from it installs its own). */
export function saveReplay(engine: ReplayEngine, path: string): SaveInfo {
  return engine.withoutHooks(() => {
    const snap = engine.machine.snapshot();
    try {
      return saveSnapshotFile(snap, path);
    } finally {
      snap.release();
    }
  });
}
