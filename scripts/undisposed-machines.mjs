#!/usr/bin/env node
// The long run of issue 24's item 9: N machines of 64 GiB made in one loop that never yields
// to the event loop, none disposed. It passes when every one is made (no ENOMEM: collected
// machines give their reservations back) and the process's resident memory grows by less than
// the bound. Needs the build (npm run build). CI: node scripts/undisposed-machines.mjs
//   VMSIM_UNDISPOSED_N=100000 VMSIM_UNDISPOSED_MAX_MIB=512 VMSIM_UNDISPOSED_BACKEND=native|js
import { Machine, nativeAvailable } from '../dist/index.js';

const n = Number(process.env.VMSIM_UNDISPOSED_N ?? 100_000);
const maxMiB = Number(process.env.VMSIM_UNDISPOSED_MAX_MIB ?? 512);
const backend = process.env.VMSIM_UNDISPOSED_BACKEND ?? (nativeAvailable() ? 'native' : 'js');
const MiB = 2 ** 20;
const rss0 = process.memoryUsage().rss;
const t0 = performance.now();
let peak = 0;
for (let i = 0; i < n; i++) {
  const m = new Machine({ memory: '64GiB', backend });
  const s = m.createAddressSpace();
  s.write(s.mmap({ length: 4096, prot: 'rw' }), [1]);
  if (i % 1000 === 0 || i === n - 1) {
    peak = Math.max(peak, process.memoryUsage().rss - rss0);
    if (i % 10_000 === 0) process.stdout.write(`${i} machines, resident +${(peak / MiB).toFixed(0)} MiB at most\n`);
  }
}
const s = ((performance.now() - t0) / 1000).toFixed(1);
process.stdout.write(`${n} undisposed ${backend} machines in ${s} s; resident memory grew by ${(peak / MiB).toFixed(0)} MiB at most (bound ${maxMiB} MiB)\n`);
if (peak > maxMiB * MiB) {
  process.stderr.write('undisposed machines: resident memory grew past the bound\n');
  process.exit(1);
}
