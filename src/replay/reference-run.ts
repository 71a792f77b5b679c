/**
 * Reference strings through the real VMM: a process with a resident limit of `frames` pages
 * on a machine with swap touches one page per reference (a one-byte read, or a write for
 * `3w`), so the textbook experiment runs the same fault, reclaim and swap path as everything
 * else. Each step reports the page, hit or fault, the page evicted, and the frames after it
 * in place (the evicted page's frame takes the new page), as textbooks print the table.
 */
import { VmmError } from '../errors.js';
import { describe } from '../address.js';
import { Machine } from '../system/machine.js';
import type { BackendName } from '../machine/options.js';
import type { PolicyName, PolicyOptions, ReclaimPolicy } from '../reclaim/policy.js';
import { parseReferenceString, type ReferenceString } from '../reclaim/reference-string.js';
import { strictOptions } from '../strict-options.js';

/** Options of runReferenceString. */
export interface ReferenceRunOptions {
  /** Resident limit in pages (the textbook's frames). */
  frames: number;
  /** A built-in policy name (default 'fifo') or your own policy object. */
  policy?: PolicyName | ReclaimPolicy;
  /** Options of a built-in policy (seed, bits, tau...); opt's future is filled in. */
  policyOptions?: PolicyOptions;
  /** Flush the TLB entry when reclaim clears an Accessed bit (default true here, for textbook exactness; x86 Linux does not). */
  flushAccessed?: boolean;
  backend?: BackendName;
}

/** One reference of the table. */
export interface ReferenceStep {
  page: number;
  write: boolean;
  fault: boolean;
  /** The page evicted to make room, if any. */
  evicted?: number;
  /** Pages in the frames after the reference, frame by frame (a frame never used yet is absent). */
  frames: number[];
}

/** The result: totals and the step table. */
export interface ReferenceRunResult {
  policy: string;
  frames: number;
  references: number;
  faults: number;
  hits: number;
  /**
   * Of the faults, those the VMM resolved without I/O: first touches, and re-references of a page
   * evicted without a write (one only ever read maps the zero page again). `faults` =
   * `minorFaults` + `majorFaults`. Linux's min_flt (the space's `stats().faults.minor`) counts
   * more: a write to a resident page mapped as the zero page is a minor fault there, not a fault here.
   */
  minorFaults: number;
  /** Of the faults, those that read the page back from swap (Linux's maj_flt). */
  majorFaults: number;
  steps: ReferenceStep[];
}

const BASE = 0x10_0000_0000;

/** Runs `refs` ("7,0,1,2w,..." or a parsed string) through a process with `frames` resident pages. */
export function runReferenceString(refs: string | ReferenceString, options: ReferenceRunOptions): ReferenceRunResult {
  strictOptions(options, 'options', ['frames', 'policy', 'policyOptions', 'flushAccessed', 'backend']);
  const r = typeof refs === 'string' ? parseReferenceString(refs) : refs;
  const frames = options?.frames;
  if (typeof frames !== 'number' || !Number.isSafeInteger(frames) || frames < 1) throw new VmmError('EINVAL', `frames must be a positive whole number, got ${describe(frames)}`);
  const distinct = new Set(r.pages);
  const maxPage = Math.max(...r.pages);
  const policy = options.policy ?? 'fifo';
  const vpn = (p: number) => BASE / 4096 + p;
  const popts: PolicyOptions = { ...(options.policyOptions ?? {}) };
  if (policy === 'opt') popts.future = r.pages.map(vpn);
  const m = new Machine({ memory: '16MiB', backend: options.backend ?? 'auto', swap: { size: (distinct.size + 2) * 4096, pageCluster: 0 } }); // no readahead: every re-reference of a written page is a swap-in, as textbooks count
  try {
    const s = m.createAddressSpace({ residentLimit: frames, policy, ...(typeof policy === 'string' ? { policyOptions: popts } : {}), flushAccessed: options.flushAccessed ?? true, stack: false });
    s.mmap({ addr: BASE, length: (maxPage + 1) * 4096, prot: 'rw', fixed: true });
    const rs = s.vm.resident!;
    const slots: number[] = [];
    const steps: ReferenceStep[] = [];
    let faults = 0;
    r.pages.forEach((page, i) => {
      const write = r.writes[i]!;
      const va = BASE + page * 4096;
      // A textbook page fault: the page was not resident (a write to a resident zero-page mapping is a COW fault, not one).
      const fault = !rs.tracked.has(vpn(page));
      if (write) s.write(va, [1]);
      else s.read(va, 1);
      let evicted: number | undefined;
      if (fault) {
        faults++;
        // The frames hold exactly the tracked pages: the one of them no longer tracked was the victim (one per fault under a limit).
        let at = slots.length;
        for (let k = 0; k < slots.length; k++) {
          if (!rs.tracked.has(vpn(slots[k]!))) {
            evicted = slots[k]!;
            at = k;
            break;
          }
        }
        slots[at] = page;
      } else {
        s.reference(va, write);
      }
      steps.push({ page, write, fault, ...(evicted !== undefined ? { evicted } : {}), frames: [...slots] });
    });
    return { policy: typeof policy === 'string' ? policy : policy.name, frames, references: r.pages.length, faults, hits: r.pages.length - faults, minorFaults: faults - s.vm.faults.major, majorFaults: s.vm.faults.major, steps };
  } finally {
    m.dispose();
  }
}
