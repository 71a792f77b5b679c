/** `npm run bench`: every benchmark side by side, native vs pure-TS backend (vs Linux where there is one). */
import { nativeAvailable } from '../src/index.js';
import { printTable } from './harness.js';
import { benchMmu } from './mmu.js';
import { benchVmm } from './vmm.js';

const backends: ('native' | 'js')[] = nativeAvailable() ? ['native', 'js'] : ['js'];
console.log(`vmsim benchmarks — node ${process.version}, backends: ${backends.join(', ')}`);
printTable('MMU access path', ['native', 'js'], benchMmu(backends), [['native', 'js']]);

const vmm = benchVmm(backends);
printTable('VMM operations vs the real kernel', ['native', 'js', 'linux'], vmm.figures, [['native', 'js'], ['native', 'linux']]);
console.log(vmm.linuxNote);
