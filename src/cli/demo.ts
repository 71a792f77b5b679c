/** The built-in default job: a small process life — mmap, demand faults, fork with COW, mprotect — with the statistics it produced. */
import { Machine } from '../system/machine.js';
import { SegmentationFault } from '../errors.js';
import { hex } from '../hex.js';

/** Runs the demo on `backend` and returns the report text. */
export function runDemo(backend: 'native' | 'js' | 'auto' = 'auto'): string {
  const out: string[] = [];
  const m = new Machine({ memory: '1GiB', backend, tlb: { entries: 64, ways: 4 } });
  out.push(`vmsim demo — backend ${m.backend}, 1 GiB RAM, 64-entry 4-way TLB, PCIDs on`);
  const p = m.createAddressSpace();
  const heap = p.sbrk(0);
  p.sbrk(64 * 4096);
  const buf = p.mmap({ length: 16 * 2 ** 20, prot: 'rw', name: 'buffer' });
  // Touch every page of the buffer (demand-zero faults) and sweep it a few times (TLB behaviour).
  const pages = (16 * 2 ** 20) / 4096;
  const addrs = new Float64Array(pages * 4);
  const kinds = new Uint8Array(pages * 4);
  // Four accesses per page in a row (a write, then three reads): one miss, three hits.
  for (let i = 0; i < pages; i++) {
    for (let r = 0; r < 4; r++) {
      addrs[i * 4 + r] = buf + i * 4096 + r * 64;
      kinds[i * 4 + r] = r === 0 ? 1 : 0;
    }
  }
  p.accessBatch(addrs, kinds);
  p.write(heap, new TextEncoder().encode('hello from the heap'));
  const child = p.fork();
  child.write(heap, new TextEncoder().encode('HELLO'));
  out.push(`parent reads: ${new TextDecoder().decode(p.read(heap, 19))}`);
  out.push(`child reads:  ${new TextDecoder().decode(child.read(heap, 19))}`);
  p.mprotect(buf, 4096, 'r');
  try {
    p.write(buf, [1]);
  } catch (e) {
    if (e instanceof SegmentationFault) out.push(`write to a read-only page: ${e.cause} at ${hex(e.address)}`);
  }
  out.push('', 'parent /proc/PID/maps:', p.maps().trimEnd());
  const ps = p.stats();
  const cs = child.stats();
  const st = m.stats();
  out.push(
    '',
    `parent: ${ps.faults.minor} minor faults, ${ps.residentPages} resident pages, ${ps.regions} regions`,
    `child:  ${cs.faults.minor} minor faults (${cs.faults.cowCopied} COW copies), ${cs.residentPages} resident pages`,
    `TLB: ${st.tlb.hits} hits, ${st.tlb.misses} misses (hit rate ${(st.tlb.hitRate * 100).toFixed(1)}%), ${st.tlb.walks} walks, ${st.tlb.flushes} flushes`,
    `frames: ${st.frames.used} used of ${st.frames.total}`,
  );
  child.destroy();
  p.destroy();
  out.push(`after destroying both: ${m.stats().frames.used} frames used (boot: 259)`);
  m.dispose();
  return out.join('\n');
}
