/** Options objects refuse unknown keys naming them; every refusal is a VmmError with a code, on both backends alike. */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { BACKENDS } from '../backends.js';
import { Machine, VmmError } from '../../src/index.js';

const PAGE = 4096;
const unknown = (key: string) => expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining(`unknown option "${key}"`) });

describe.each(BACKENDS)('unknown options and one error family (%s)', (backend) => {
  it('refuses unknown option keys everywhere, naming the key', () => {
    expect(() => new Machine({ backend, memroy: '1GiB' } as never)).toThrow(unknown('memroy'));
    expect(() => new Machine({ backend, tlb: { l1dd: 4 } } as never)).toThrow(unknown('l1dd'));
    expect(() => new Machine({ backend, shootdown: { celing: 4 } } as never)).toThrow(unknown('celing'));
    expect(() => new Machine({ backend, shootdown: { cost: { ipi: 4 } } } as never)).toThrow(unknown('ipi'));
    expect(() => new Machine({ backend, features: { nxe: true } } as never)).toThrow(unknown('nxe'));
    const m = new Machine({ backend, memory: '16MiB' });
    expect(() => m.createAddressSpace({ fault: 'raw' } as never)).toThrow(unknown('fault'));
    const raw = m.createAddressSpace({ faults: 'raw' });
    expect(() => raw.mapPage(0x1000, m.physical.allocFrame(), {}, { pagesize: 4096 } as never)).toThrow(unknown('pagesize'));
    expect(() => raw.access(0x1000, 'read', { usr: true } as never)).toThrow(unknown('usr'));
    expect(() => raw.accessBatch(new Float64Array(1), new Uint8Array(1), { begin: 0 } as never)).toThrow(unknown('begin'));
    expect(() => m.tlb.flush({ globl: true } as never)).toThrow(unknown('globl'));
    const s = m.createAddressSpace();
    expect(() => s.createRegion({ start: 0x400000, length: PAGE, prot: 'r', kind: 'code', nmae: 'x' } as never)).toThrow(unknown('nmae'));
    expect(() => s.mmap({ length: PAGE, prot: 'r', popluate: true } as never)).toThrow(/popluate/);
  });

  it('bytes out of 0-255 are EINVAL naming the element, as store refuses them; nothing is written', () => {
    const m = new Machine({ backend, memory: '16MiB' });
    const s = m.createAddressSpace();
    const a = s.mmap({ length: PAGE, prot: 'rw' });
    for (const bad of [256, -1, 'a', 1.5]) {
      expect(() => s.write(a, [1, bad as number])).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/bytes\[1\] must be an integer 0-255/) }));
    }
    expect(() => m.physical.write(0, [300])).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect([...s.read(a, 2)]).toEqual([0, 0]);
  });

  it('a disposed machine refuses every call with VmmError EINVAL, physical memory included', () => {
    const m = new Machine({ backend, memory: '16MiB' });
    const pa = m.physical.allocFrame();
    const s = m.createAddressSpace();
    m.dispose();
    const calls: Array<() => unknown> = [
      () => m.physical.read(pa, 4),
      () => m.physical.write(pa, [1]),
      () => m.physical.allocFrame(),
      () => m.physical.freeFrames,
      () => m.physical.refCount(pa),
      () => m.stats(),
      () => m.createAddressSpace(),
      () => s.read(0x1000, 1),
      () => s.mmap({ length: PAGE, prot: 'r' }),
    ];
    for (const call of calls) expect(call).toThrow(expect.objectContaining({ name: 'VmmError', code: 'EINVAL', message: expect.stringMatching(/disposed|destroyed/) }));
  });

  it('SharedArrayBuffer-backed arrays work the same on both backends', () => {
    const m = new Machine({ backend, memory: '16MiB' });
    const s = m.createAddressSpace();
    const a = s.mmap({ length: 2 * PAGE, prot: 'rw' });
    const shared = new Uint8Array(new SharedArrayBuffer(8));
    shared.set([1, 2, 3, 4, 5, 6, 7, 8]);
    s.write(a + PAGE - 4, shared);
    const into = new Uint8Array(new SharedArrayBuffer(8));
    s.readInto(a + PAGE - 4, into);
    expect([...into]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const addrs = new Float64Array(new SharedArrayBuffer(16));
    addrs.set([a, a + PAGE]);
    expect(s.accessBatch(addrs, new Uint8Array(new SharedArrayBuffer(2)))).toEqual({ completed: 2 });
  });
});

describe('host memory', () => {
  it('a reservation the host refuses is VmmError ENOMEM, not a plain Error', () => {
    // A child process with a 4 GiB address-space limit asks for a 64 GiB machine (reserved, not committed).
    const script = `import('${new URL('../../dist/index.js', import.meta.url).href}').then(({ Machine }) => { try { new Machine({ memory: '64GiB', backend: 'native' }); console.log('ok'); } catch (e) { console.log(e.name, e.code); } })`;
    let out: string;
    try {
      out = execFileSync('sh', ['-c', `ulimit -v 4194304 && exec "${process.execPath}" --input-type=module -e "${script.replace(/"/g, '\\"')}"`], { encoding: 'utf8' }).trim();
    } catch (e) {
      out = String((e as { stdout?: string }).stdout ?? '').trim();
    }
    if (out === '' || /ENOSYS/.test(out)) return; // no native addon here, or node itself cannot start under the limit
    expect(out).toBe('VmmError ENOMEM');
  });
});

void VmmError;
