/**
 * The translation lab: one machine with a Linux process (4 KiB pages and a THP region) and a
 * second address space whose 1 GiB page was built entry by entry in simulated RAM, as a kernel
 * builds one (vmsim's VMM maps 4 KiB pages and 2 MiB THPs; hugetlbfs's 1 GiB pages are not in
 * it). Each access runs through the CPU — its TLB hierarchy (a Skylake core's arrays), the walk
 * that sets A and D, the fault, the kernel's decision, the retry — and is recorded with what changed.
 */
import { Machine, VmmError, describeErrorCode, type AddressSpace, type MmuSpace, type WalkStep } from './lib.js';
import type { FaultCounters } from '../../../src/vmm/vm-stats.js';
import type { FaultHandler, FaultInfo, FaultOutcome } from '../../../src/machine/fault.js';
import { parseAddress } from './bits.js';
import { faultError } from '../../../src/machine/fault.js';
import { encodeHierarchy, resolveHierarchy, type ResolvedHierarchy } from '../../../src/tlb/hierarchy-options.js';
import { HierStat, HIER_RETRY, Slot, SlotStat, SLOT_NAMES } from '../../../src/tlb/layout.js';
import { packRecord, TraceKind } from '../../../src/trace/trace-record.js';
import { TraceOut } from '../../../src/core/constants.js';

/** Which address space an access runs in. */
export type SpaceId = 'linux' | 'giant';
/** Access kinds as the library names them. */
export type Kind = 'read' | 'write' | 'execute';

/** One access of the scenario. */
export interface AccessSpec {
  space: SpaceId;
  va: number;
  kind: Kind;
}

/** A page fault the access raised and what the kernel answered. */
export interface FaultEvent {
  address: number;
  errorCode: number;
  /** describeErrorCode's decoding, e.g. "not-present|write|user". */
  decoded: string;
  /** 'retry' (the kernel fixed the tables), 'segv', 'oom', 'sigbus' or 'unhandled'. */
  outcome: string;
  /** SEGV_MAPERR / SEGV_ACCERR for a SIGSEGV. */
  cause?: string;
  /** What the kernel did, in words (from its counters). */
  action: string;
}

/** One array of the per-CPU TLB hierarchy during an access. */
export interface TlbLevelView {
  /** Its name: l1d, l1d-2m, stlb, pwc-pde, ... */
  name: string;
  entries: number;
  ways: number;
  hits: number;
  misses: number;
  fills: number;
  evictions: number;
}

/** Everything one access did. */
export interface AccessRecord {
  spec: AccessSpec;
  /** The walk (entries in RAM) before and after the access. */
  before: WalkStep[];
  after: WalkStep[];
  faults: FaultEvent[];
  /** The physical address reached, or undefined when the access was refused. */
  physical?: number;
  pageSize?: number;
  /** The error delivered to the program, if any. */
  error?: string;
  pcid: number;
  /** The per-CPU TLB hierarchy (Skylake's arrays): each array's lookups during the access, in lookup order. */
  levels: TlbLevelView[];
  /** Entries the walks read, by level (PML4E, PDPTE, PDE, PTE): the paging-structure caches skip the upper ones. */
  walkReads: [number, number, number, number];
  /** Walks the hierarchy started (including the re-walk after a fault). */
  hierWalks: number;
}

/** Addresses of the lab's regions. */
export const LAYOUT = {
  code: 0x40_0000,
  data: 0x60_0000,
  readOnly: 0x70_0000,
  thp: 0x4000_0000,
  giant: 0x80_0000_0000,
  giantPhys: 0x4000_0000,
} as const;

/** Ready-made accesses that show each case. */
export const PRESETS: ReadonlyArray<{ label: string; spec: AccessSpec }> = [
  { label: 'read a data page (first touch)', spec: { space: 'linux', va: LAYOUT.data + 0x10, kind: 'read' } },
  { label: 'write the same page (COW of the zero page)', spec: { space: 'linux', va: LAYOUT.data + 0x18, kind: 'write' } },
  { label: 'write a fresh page (demand zero)', spec: { space: 'linux', va: LAYOUT.data + 0x1234, kind: 'write' } },
  { label: 'read it again (TLB hit)', spec: { space: 'linux', va: LAYOUT.data + 0x1238, kind: 'read' } },
  { label: 'write a 2 MiB page (THP)', spec: { space: 'linux', va: LAYOUT.thp + 0x12_3456, kind: 'write' } },
  { label: 'read a 1 GiB page', spec: { space: 'giant', va: LAYOUT.giant + 0x1234_5678, kind: 'read' } },
  { label: 'execute the data page (NX)', spec: { space: 'linux', va: LAYOUT.data + 0x1000, kind: 'execute' } },
  { label: 'write a read-only page', spec: { space: 'linux', va: LAYOUT.readOnly + 0x40, kind: 'write' } },
  { label: 'read an unmapped address', spec: { space: 'linux', va: 0x1234_5000, kind: 'read' } },
];

const KIND_LETTER: Record<Kind, string> = { read: 'r', write: 'w', execute: 'x' };

/** Encodes accesses for the URL: linux:w:600010,... */
export function encodeAccesses(list: AccessSpec[]): string {
  return list.map((a) => `${a.space}:${KIND_LETTER[a.kind]}:${a.va.toString(16)}`).join(',');
}

/** Decodes the URL's accesses, skipping malformed ones. */
export function decodeAccesses(text: string | null): AccessSpec[] {
  if (!text) return [];
  const kinds: Record<string, Kind> = { r: 'read', w: 'write', x: 'execute' };
  return text.split(',').flatMap((t) => {
    const [space, k, va] = t.split(':');
    const v = parseAddress('0x' + (va ?? ''));
    return (space === 'linux' || space === 'giant') && kinds[k ?? ''] && v !== undefined ? [{ space: space as SpaceId, kind: kinds[k!]!, va: v }] : [];
  });
}

/** The lab's machine and its two address spaces. */
export class TranslationLab {
  readonly machine: Machine;
  readonly linux: AddressSpace;
  readonly giant: MmuSpace;
  private events: FaultEvent[] = [];
  /** The CPU's TLB hierarchy (a Skylake core's arrays) and its statistics. */
  readonly hierarchy: ResolvedHierarchy = resolveHierarchy({ cpu: 'skylake', arrays: {} }, 'tlb', 'cpu');
  private readonly hierStats = new Float64Array(HierStat.LENGTH);
  private readonly words = new Uint32Array(2);
  private readonly out = new Float64Array(TraceOut.LENGTH);

  /** `backend`: the page runs 'js'; tests run the same lab on 'native' to check the page against it. */
  constructor(backend: 'js' | 'native' | 'auto' = 'js') {
    this.machine = new Machine({ memory: '2GiB', backend });
    const p = this.machine.createAddressSpace();
    this.linux = p;
    p.mmap({ addr: LAYOUT.code, length: 4 * 4096, prot: 'rx', fixed: true, kind: 'code', name: 'code' });
    p.mmap({ addr: LAYOUT.data, length: 8 * 4096, prot: 'rw', fixed: true, name: 'data' });
    p.mmap({ addr: LAYOUT.readOnly, length: 4096, prot: 'r', fixed: true, name: 'read-only' });
    p.mmap({ addr: LAYOUT.thp, length: 4 * 2 ** 20, prot: 'rw', fixed: true, hugePages: true, name: 'thp' });
    this.giant = this.machine.createAddressSpace({ faults: 'raw' });
    this.buildGiantPage();
    this.observe(p);
    this.observe(this.giant);
    if (this.machine.core.hierarchy(encodeHierarchy(this.hierarchy), this.hierStats) < 0) throw new VmmError('EINVAL', 'the core refused the TLB hierarchy');
  }

  /** A 1 GiB page at LAYOUT.giant → LAYOUT.giantPhys: a PDPT in a frame of its own, its entry with PS set. */
  private buildGiantPage(): void {
    const phys = this.machine.physical;
    const pdpt = phys.allocFrame();
    const [pml4i, pdpti] = [Math.floor(LAYOUT.giant / 2 ** 39) % 512, Math.floor(LAYOUT.giant / 2 ** 30) % 512];
    const put = (pa: number, v: bigint) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, v, true);
      phys.write(pa, b);
    };
    put(this.giant.root + pml4i * 8, BigInt(pdpt) | 0x7n); // P | RW | US
    put(pdpt + pdpti * 8, BigInt(LAYOUT.giantPhys) | 0x87n); // P | RW | US | PS
  }

  /** Wraps the space's fault handler to record each fault and the kernel's answer. */
  private observe(space: MmuSpace): void {
    const inner: FaultHandler = space.faultHandler;
    const vm = (space as unknown as Partial<AddressSpace>).vm;
    space.faultHandler = {
      handleFault: (f: FaultInfo): FaultOutcome => {
        const before: FaultCounters | undefined = vm && { ...vm.faults };
        const o = inner.handleFault(f);
        this.events.push({ address: f.address, errorCode: f.errorCode, decoded: describeErrorCode(f.errorCode), outcome: o.type, ...(o.type === 'segv' ? { cause: o.cause } : {}), action: kernelAction(o, before, vm?.faults, f.errorCode) });
        return o;
      },
    };
  }

  /** Runs one access through the CPU and records what it did. */
  access(spec: AccessSpec): AccessRecord {
    const m = this.machine;
    const space = spec.space === 'linux' ? this.linux : this.giant;
    const before = space.walk(spec.va);
    m.switchTo(space);
    this.events = [];
    let physical: number | undefined;
    let error: string | undefined;
    const h0 = this.hierStats.slice();
    // One access as the CPU's TLB hierarchy runs it: its arrays, then the walk, faults to the
    // kernel through the same batch → fault → resume loop as trace replay.
    packRecord(this.words, 0, spec.va, spec.kind === 'read' ? TraceKind.LOAD : spec.kind === 'write' ? TraceKind.STORE : TraceKind.INSTR, 1);
    const core = m.core;
    space.runBatch((p, flags, retry) => core.hierTraceBatch(this.words, p, 1, flags | (retry ? HIER_RETRY : 0), this.out), 0, 2, 1, (_p, fault, outcome) => {
      const e = faultError(fault, outcome);
      error = `${e.name}: ${e.message}`;
      return -1;
    });
    if (error === undefined) physical = space.translate(spec.va)?.physical;
    const d = (i: number) => this.hierStats[i]! - h0[i]!;
    const levels: TlbLevelView[] = [];
    for (let slot = 0; slot < Slot.COUNT; slot++) {
      const a = this.hierarchy.arrays[slot];
      if (!a || a.entries === 0) continue;
      const b = slot * SlotStat.FIELDS;
      levels.push({ name: SLOT_NAMES[slot]!, entries: a.entries, ways: a.ways, hits: d(b + SlotStat.HITS), misses: d(b + SlotStat.MISSES), fills: d(b + SlotStat.FILLS), evictions: d(b + SlotStat.EVICTIONS) });
    }
    const walkReads: [number, number, number, number] = [d(HierStat.REFS_PML4E), d(HierStat.REFS_PDPTE), d(HierStat.REFS_PDE), d(HierStat.REFS_PTE)];
    const hierWalks = d(HierStat.WALKS_D) + d(HierStat.WALKS_I);
    const after = space.walk(spec.va);
    const leaf = after[after.length - 1]!;
    const leafFrame = leaf.flags.present ? Math.floor(Number(leaf.entry & 0x000f_ffff_ffff_f000n) / 4096) : -1;
    const mapped = leaf.level === 3 ? 'a 1 GiB page' : leaf.level === 2 ? (m.vmm.isZeroFrame(leafFrame) ? 'the huge zero page (2 MiB, read-only)' : 'a fresh zeroed 2 MiB page (THP)') : m.vmm.isZeroFrame(leafFrame) ? 'the shared zero page, read-only (a write will copy it)' : 'a fresh zeroed frame';
    for (const e of this.events) e.action = e.action.replace('%MAPPED%', mapped);
    const pageSize = physical === undefined ? undefined : leaf.level === 3 ? 2 ** 30 : leaf.level === 2 ? 2 ** 21 : 4096;
    return {
      spec,
      before,
      after,
      faults: this.events,
      ...(physical !== undefined ? { physical, pageSize } : {}),
      ...(error ? { error } : {}),
      pcid: space.pcid,
      levels,
      walkReads,
      hierWalks,
    };
  }

  /** Releases the machine. */
  dispose(): void {
    this.machine.dispose();
  }
}

/** What the kernel did for a fault, from its answer and the change in its counters. */
function kernelAction(o: FaultOutcome, before: FaultCounters | undefined, after: FaultCounters | undefined, errorCode: number): string {
  if (o.type === 'segv') return `sent SIGSEGV (${o.cause === 'SEGV_MAPERR' ? 'no region maps the address' : 'the region does not allow this access'})`;
  if (o.type === 'unhandled') return 'nobody handles faults in this address space: the fault reaches the program as a #PF';
  if (o.type === 'oom') return 'out of memory';
  if (o.type === 'sigbus') return `sent SIGBUS (${o.detail})`;
  if (!before || !after) return 'fixed the page tables; the access runs again';
  const d = (k: keyof FaultCounters) => after[k] - before[k];
  if (d('cowCopied') > 0) return 'copy-on-write: copied the page to a new frame and mapped it writable; the access runs again';
  if (d('cowReused') > 0) return 'copy-on-write: the frame had one owner left, made it writable in place; the access runs again';
  if (d('cow') > 0) return 'copy-on-write of the zero page: mapped a fresh zeroed frame writable; the access runs again';
  if (d('minor') > 0 && (errorCode & 3) === 3) return 'copy-on-write of the zero page (a write to a page only ever read): mapped %MAPPED% writable; the access runs again';
  if (d('major') > 0) return 'major fault: read the page back from swap; the access runs again';
  if (d('minor') > 0) return 'minor fault (demand paging): mapped %MAPPED%; the access runs again';
  return 'fixed the page tables; the access runs again';
}
