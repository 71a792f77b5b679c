#!/usr/bin/env node
/** The `vmsim` command. Today: `vmsim demo [--backend native|js]`. */
import { runDemo } from './demo.js';

const USAGE = `usage: vmsim demo [--backend native|js|auto]

  demo    run a small process (heap, mmap, demand paging, fork + COW, mprotect)
          on a simulated x86-64 machine and print what the VMM, TLB and frames did`;

function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd !== 'demo') {
    console.error(`vmsim: unknown command ${JSON.stringify(cmd)}\n${USAGE}`);
    return 2;
  }
  let backend: 'native' | 'js' | 'auto' = 'auto';
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--backend' && ['native', 'js', 'auto'].includes(rest[i + 1] ?? '')) backend = rest[++i] as typeof backend;
    else {
      console.error(`vmsim demo: bad option ${JSON.stringify(rest[i])}\n${USAGE}`);
      return 2;
    }
  }
  console.log(runDemo(backend));
  return 0;
}

process.exitCode = main(process.argv.slice(2));
