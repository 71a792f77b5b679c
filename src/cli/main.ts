#!/usr/bin/env node
/** The `vmsim` command: replay, sweep, curve, annotate, policy, maps, convert, record, demo, help. */
import { pathToFileURL } from 'node:url';
import { realpathSync } from 'node:fs';
import { VmmError } from '../errors.js';
import { formatOptions, parseCommand, UsageError, type OptionSpec } from './args.js';
import { didYouMean } from './suggest.js';
import { annotateCommand } from './commands/annotate.js';
import { hideTempNames } from './user-message.js';
import { convertCommand } from './commands/convert.js';
import { mapsCommand } from './commands/maps.js';
import { replayCommand } from './commands/replay.js';
import { sweepCommand } from './commands/sweep.js';
import { recordCommand } from './commands/record.js';
import { policyCommand } from './commands/policy.js';
import { curveCommand } from './commands/curve.js';
import { workerCommand } from './commands/worker.js';
import { gatherCommand } from './commands/gather.js';
import { serveCommand } from './commands/serve.js';
import { runDemo } from './demo.js';
import { PROCESS_IO, type CommandIo } from './io.js';
import { versionText } from './version.js';
import { shippedTracePath } from '../package-info.js';
import { removeTrackedTemps } from '../temp-files.js';
import { signalChildren } from '../live-children.js';

export const USAGE = `usage: vmsim COMMAND [options]        vmsim help COMMAND (or vmsim COMMAND --help): its options

commands:
  replay TRACE    replay a memory-access trace (valgrind lackey, binary, or one address a line;
                  gzip, xz, zstd) through a simulated x86-64 TLB and page tables
  sweep TRACE     the same trace under many TLB configurations, on every core; --plot draws it
  curve TRACE     page faults per replacement policy and resident limit, next to Mattson's exact
                  LRU curve (--frames 8,16,.. --policy lru,clock,opt); --plot draws it
  annotate TRACE  where the TLB misses, page walks and page faults come from: per region of the
                  memory map and per instruction address, as cg_annotate does for caches
  policy [REFS]   a page-replacement exercise (OSTEP's paging-policy.py): references from the
                  command line, a file, standard input or a seed; -c shows the answers
  maps TRACE      the memory map (/proc/PID/maps) of the replayed process
  convert IN OUT  a trace into the compact binary format (8 bytes an access, replays faster)
  record -o OUT -- PROGRAM ARGS...
                  run PROGRAM under valgrind lackey and write its trace as it is produced
  demo            a small process (heap, mmap, demand paging, fork + COW, mprotect) and its statistics
  worker --queue redis://HOST:PORT/NAME
                  compute the rows of sweeps run with --queue (BullMQ on Redis), reading traces
                  only under --root DIR
  gather DIR      print the rows of a SLURM sweep (vmsim sweep … --emit slurm) as the sweep would
  serve           the teaching page in your browser (translation, replacement, fork, swap), served locally
  help [COMMAND]  this text, or a command's options

try one:          vmsim replay ${shippedTracePath()}      (ships with the package)
version, backend: vmsim --version (or -v)`;

const DEMO_SPECS: OptionSpec[] = [
  { name: 'backend', type: 'string', choices: ['native', 'js', 'auto'], value: 'native|js|auto', help: 'simulation core', default: 'auto' },
  { name: 'help', type: 'flag', help: 'show this help' },
];

const DEMO_HELP = `usage: vmsim demo [--backend native|js|auto]

Runs a small process on a simulated machine — a heap, an mmap'd buffer touched page by page
(demand paging), fork with copy-on-write, mprotect and the SIGSEGV it causes — and prints
what the TLB, the page tables and the VMM did.

options:
${formatOptions(DEMO_SPECS)}`;

const COMMANDS: Record<string, (argv: string[], io: CommandIo) => Promise<number>> = {
  replay: replayCommand,
  sweep: sweepCommand,
  curve: curveCommand,
  annotate: annotateCommand,
  policy: policyCommand,
  maps: mapsCommand,
  convert: convertCommand,
  record: recordCommand,
  worker: workerCommand,
  gather: gatherCommand,
  serve: serveCommand,
  demo: async (argv, io) => {
    const a = parseCommand(argv, DEMO_SPECS, 'demo', DEMO_HELP, io.stdout, { count: 0, what: 'no argument' });
    if (!a) return 0;
    io.stdout.write(runDemo((a.options.get('backend') as 'native' | 'js' | 'auto' | undefined) ?? 'auto') + '\n');
    return 0;
  },
};

/** The command `name` names, or a UsageError with the nearest one. */
function commandNamed(name: string): (argv: string[], io: CommandIo) => Promise<number> {
  const run = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!run) throw new UsageError(`${JSON.stringify(name)} is not a vmsim command${didYouMean(name, Object.keys(COMMANDS))} (see vmsim help)`);
  return run;
}

/** Runs the command line `argv` (without node and the script); returns the exit code: 0 done, 1 failed, 2 misuse. */
export async function main(argv: string[], io: CommandIo = PROCESS_IO): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === '--version' || cmd === '-V' || cmd === '-v' || cmd === 'version') {
    io.stdout.write(versionText() + '\n');
    return 0;
  }
  if (cmd === undefined) {
    io.stderr.write(USAGE + '\n');
    return 2;
  }
  let name = cmd;
  try {
    if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
      // vmsim help COMMAND, as git help and npm help: the command's own help.
      if (rest[0] === undefined || rest[0] === 'help') {
        io.stdout.write(USAGE + '\n');
        return 0;
      }
      name = rest[0];
      return await commandNamed(rest[0])(['--help'], io);
    }
    return await commandNamed(cmd)(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`vmsim ${e.message}\n`);
      return 2;
    }
    if (e instanceof VmmError || (e instanceof Error && (e.name === 'TraceFormatError' || 'code' in e))) {
      io.stderr.write(`vmsim ${name}: ${userFacing(e.message)}\n`);
      return 1;
    }
    throw e;
  }
}

/** A runtime error's message as a user reads it: no errno prefix twice, no internal temporary name. */
function userFacing(message: string): string {
  return hideTempNames(message);
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
      // A command that handles the signal itself (vmsim worker stops gracefully) decides; else die of it.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
  process.on('exit', () => removeTrackedTemps());
}
