#!/usr/bin/env node
/** The `vmsim` command: replay, sweep, convert, maps, demo. */
import { pathToFileURL } from 'node:url';
import { realpathSync } from 'node:fs';
import { VmmError } from '../errors.js';
import { UsageError } from './args.js';
import { convertCommand } from './commands/convert.js';
import { mapsCommand } from './commands/maps.js';
import { replayCommand } from './commands/replay.js';
import { sweepCommand } from './commands/sweep.js';
import { recordCommand } from './commands/record.js';
import { policyCommand } from './commands/policy.js';
import { curveCommand } from './commands/curve.js';
import { runDemo } from './demo.js';
import { PROCESS_IO, type CommandIo } from './io.js';
import { versionText } from './version.js';
import { shippedTracePath } from '../package-info.js';
import { removeTrackedTemps } from '../temp-files.js';
import { signalChildren } from '../live-children.js';

export const USAGE = `usage: vmsim COMMAND [options]   (vmsim COMMAND --help for each command's options)

  replay TRACE    replay a memory-access trace (valgrind lackey or binary, gzip ok) through
                  a simulated x86-64 TLB and page tables; print what they did
  sweep TRACE     replay one trace under many TLB configurations on every core; --plot draws
                  the miss rate as SVG
  convert IN OUT  turn a lackey trace into the compact binary format (faster to replay)
  maps TRACE      the memory map (/proc/PID/maps) of the replayed process
  record -o OUT -- PROGRAM ARGS...
                  run PROGRAM under valgrind lackey and write its trace as it is produced
  curve TRACE     fault rate per policy and resident limit (--frames 8,16,.. --policy lru,clock,opt),
                  next to Mattson's exact LRU curve; --plot draws it
  policy REFS     a reference string (7,0,1,2w,...) through a process with --frames N resident
                  pages and a --policy; prints the textbook table of hits, faults and evictions
  demo            a small process (heap, mmap, demand paging, fork + COW, mprotect) and its statistics

record a trace:   vmsim record -o trace.bin -- PROGRAM ARGS...   (or: vmsim replay --record -- PROGRAM ARGS...)
try one:          vmsim replay ${shippedTracePath()}      (ships with the package)
version, backend: vmsim --version`;

const COMMANDS: Record<string, (argv: string[], io: CommandIo) => Promise<number>> = {
  replay: replayCommand,
  sweep: sweepCommand,
  convert: convertCommand,
  maps: mapsCommand,
  record: recordCommand,
  policy: policyCommand,
  curve: curveCommand,
  demo: async (argv, io) => {
    let backend: 'native' | 'js' | 'auto' = 'auto';
    for (let i = 0; i < argv.length; i++) {
      if (argv[i] === '--backend' && ['native', 'js', 'auto'].includes(argv[i + 1] ?? '')) backend = argv[++i] as typeof backend;
      else if (argv[i] === '--help' || argv[i] === '-h') {
        io.stdout.write('usage: vmsim demo [--backend native|js|auto]\n');
        return 0;
      } else throw new UsageError(`demo: bad option ${JSON.stringify(argv[i])} (usage: vmsim demo [--backend native|js|auto])`);
    }
    io.stdout.write(runDemo(backend) + '\n');
    return 0;
  },
};

/** Runs the command line `argv` (without node and the script); returns the exit code: 0 done, 1 failed, 2 misuse. */
export async function main(argv: string[], io: CommandIo = PROCESS_IO): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
    io.stdout.write(versionText() + '\n');
    return 0;
  }
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    (cmd === undefined ? io.stderr : io.stdout).write(USAGE + '\n');
    return cmd === undefined ? 2 : 0;
  }
  const run = COMMANDS[cmd];
  if (!run) {
    io.stderr.write(`vmsim: unknown command ${JSON.stringify(cmd)}\n${USAGE}\n`);
    return 2;
  }
  try {
    return await run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`vmsim ${e.message}\n`);
      return 2;
    }
    if (e instanceof VmmError || (e instanceof Error && (e.name === 'TraceFormatError' || 'code' in e))) {
      io.stderr.write(`vmsim ${cmd}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

// Run when executed (also through the npm bin symlink), not when imported by tests.
const invoked = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : '';
if (invoked === import.meta.url) {
  exitQuietlyWhenOutputCloses();
  removeTempsOnSignals();
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`vmsim: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 70;
    },
  );
}

/** `vmsim maps t | head -1`: a reader that goes away ends the command quietly (exit 0), as `yes | head` does. */
function exitQuietlyWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
}

/**
 * Ctrl-C or SIGTERM during any command leaves no temporary file and no child (valgrind) behind;
 * the process then dies of the signal, as it would have. (Long decoding yields to the event
 * loop, so the handler runs within a second: src/trace/decompress.ts.)
 */
function removeTempsOnSignals(): void {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      signalChildren(sig);
      removeTrackedTemps();
      process.kill(process.pid, sig);
    });
  }
  process.on('exit', () => removeTrackedTemps());
}
