/**
 * Fault handlers that run user code (a raw space's onFault; the VMM's onOomKill and plug-in
 * policies run the same way): the access that faulted goes on in its own space whatever the
 * callback touched, and a callback that destroyed the space makes the access fail with the
 * "destroyed" error, never a wild access through a freed table.
 */
import { describe, expect, it } from 'vitest';
import { Machine, PageFault, VmmError } from '../../src/index.js';
import { BACKENDS } from '../backends.js';
import { auditMachine } from '../support/invariants.js';

describe.each(BACKENDS)('fault callbacks that touch other spaces (%s)', (backend) => {
  it('an onFault that reads another space (a CR3 load) still has the retry run in the faulting space', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const other = m.createAddressSpace({ faults: 'raw' });
    const po = m.physical.allocFrame();
    other.mapPage(0x5000, po, { writable: true, user: true });
    other.write(0x5000, [42]);
    const pa = m.physical.allocFrame();
    const s = m.createAddressSpace({
      faults: 'raw',
      onFault: (f) => {
        expect(other.read(0x5000, 1)[0]).toBe(42); // switches CR3 to `other`
        s.mapPage(f.address - (f.address % 4096), pa, { writable: true, user: true });
        return 'retry';
      },
    });
    s.write(0x9000, [7]);
    expect(s.read(0x9000, 1)[0]).toBe(7);
    expect(m.current).toBe(s);
    auditMachine(m, [pa / 4096, po / 4096]);
    m.dispose();
  });

  it('an onFault that destroys its own space: the access fails with "destroyed", whatever the callback answered', () => {
    const m = new Machine({ memory: '16MiB', backend });
    const s = m.createAddressSpace({
      faults: 'raw',
      onFault: () => {
        s.destroy();
        return 'retry';
      },
    });
    let e: unknown;
    try {
      s.write(0x9000, [7]);
    } catch (x) {
      e = x;
    }
    expect(e).not.toBeInstanceOf(PageFault);
    expect(e).toBeInstanceOf(VmmError);
    expect((e as VmmError).message).toMatch(/address space has been destroyed/);
    auditMachine(m);
    m.dispose();
  });
});
