/**
 * The translation lab: one machine with a Linux process (4 KiB pages and a THP region) and a
 * second address space whose 1 GiB page was built entry by entry in simulated RAM, as a kernel
 * builds one (vmsim's VMM maps 4 KiB pages and 2 MiB THPs; hugetlbfs's 1 GiB pages are not in
 * it). Each access runs through the CPU's real access path — TLB lookup, the walk that sets A
 * and D, the fault, the kernel's decision, the retry — and is recorded with what changed.
 */
import { Machine, SegmentationFault, PageFault, VmmError, describeErrorCode, tlbLookup, TlbFlag, type AddressSpace, type MmuSpace, type WalkStep } from './lib.js';
import type { FaultCounters } from '../../../src/vmm/vm-stats.js';
import type { FaultHandler, FaultInfo, FaultOutcome } from '../../../src/machine/fault.js';

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

/** The TLB entry that translates the address, if any. */
export interface TlbEntryView {
  index: number;
  set: number;
  way: number;
  pageSize: number;
  pbase: number;
  flags: string[];
}

/** Everything one access did. */
export interface AccessRecord {
  spec: AccessSpec;
  /** The walk (entries in RAM) before and after the access. */
  before: WalkStep[];
  after: WalkStep[];
  /** TLB: the entry found before the access (a hit) and the entry translating it after. */
  tlbBefore?: TlbEntryView;
  tlbAfter?: TlbEntryView;
  /** Counted by the machine during the access. */
  tlbHits: number;
  tlbMisses: number;
  walks: number;
  faults: FaultEvent[];
  /** The physical address reached, or undefined when the access was refused. */
  physical?: number;
  pageSize?: number;
  /** The error delivered to the program, if any. */
  error?: string;
  /** TLB shape, for the view. */
  tlbSets: number;
  tlbWays: number;
  pcid: number;
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

/** The lab's machine and its two address spaces. */
export class TranslationLab {
  readonly machine: Machine;
  readonly linux: AddressSpace;
  readonly giant: MmuSpace;
  private events: FaultEvent[] = [];

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
    const vm = (space as Partial<AddressSpace>).vm;
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
    const tlbBefore = this.tlbEntry(spec.va, space.pcid);
    const s0 = m.tlbStats();
    this.events = [];
    let physical: number | undefined;
    let error: string | undefined;
    try {
      physical = space.access(spec.va, spec.kind);
    } catch (e) {
      if (!(e instanceof SegmentationFault || e instanceof PageFault || e instanceof VmmError)) throw e;
      error = `${e.name}: ${e.message}`;
    }
    const s1 = m.tlbStats();
    const after = space.walk(spec.va);
    const tlbAfter = this.tlbEntry(spec.va, space.pcid);
    const leaf = after[after.length - 1]!;
    const leafFrame = leaf.flags.present ? Math.floor(Number(leaf.entry & 0x000f_ffff_ffff_f000n) / 4096) : -1;
    const mapped = leaf.level === 3 ? 'a 1 GiB page' : leaf.level === 2 ? (m.vmm.isZeroFrame(leafFrame) ? 'the huge zero page (2 MiB, read-only)' : 'a fresh zeroed 2 MiB page (THP)') : m.vmm.isZeroFrame(leafFrame) ? 'the shared zero page, read-only (a write will copy it)' : 'a fresh zeroed frame';
    for (const e of this.events) e.action = e.action.replace('%MAPPED%', mapped);
    const pageSize = physical === undefined ? undefined : leaf.level === 3 ? 2 ** 30 : leaf.level === 2 ? 2 ** 21 : 4096;
    return {
      spec,
      before,
      after,
      ...(tlbBefore ? { tlbBefore } : {}),
      ...(tlbAfter ? { tlbAfter } : {}),
      tlbHits: s1.hits - s0.hits,
      tlbMisses: s1.misses + s1.retries - s0.misses - s0.retries,
      walks: s1.walks - s0.walks,
      faults: this.events,
      ...(physical !== undefined ? { physical, pageSize } : {}),
      ...(error ? { error } : {}),
      tlbSets: m.tlbState.sets,
      tlbWays: m.tlbState.ways,
      pcid: space.pcid,
    };
  }

  /** The TLB entry (this PCID's or a global one) that translates `va` now. */
  private tlbEntry(va: number, pcid: number): TlbEntryView | undefined {
    const t = this.machine.tlbState;
    const e = tlbLookup(t, va, pcid);
    if (e < 0) return undefined;
    const cls = Math.floor(t.key[e]! / 8192) % 4;
    const f = t.flags[e]!;
    const flags = (Object.keys(TlbFlag) as (keyof typeof TlbFlag)[]).filter((k) => (f & TlbFlag[k]) !== 0);
    return { index: e, set: Math.floor(e / t.ways), way: e % t.ways, pageSize: [4096, 2 ** 21, 2 ** 30][cls]!, pbase: t.pbase[e]!, flags };
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
