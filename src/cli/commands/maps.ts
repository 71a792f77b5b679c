/** `vmsim maps TRACE`: the regions of the process after a replay, as /proc/PID/maps prints them. */
import { formatOptions, parseCommand, type OptionSpec } from '../args.js';
import type { CommandIo } from '../io.js';
import { inputSpecs, replayOptionsFrom } from '../replay-args.js';
import { runReplay } from './run-replay.js';

// The TLB cannot change a memory map: maps has only the options of the input and the machine's memory.
const SPECS: OptionSpec[] = [...inputSpecs().map(({ group: _g, ...s }) => s), { name: 'help', type: 'flag', help: 'show this help' }];

export const MAPS_HELP = `usage: vmsim maps TRACE [options]

Replays TRACE (as vmsim replay does) and prints the memory map of the replayed process in
the format of /proc/PID/maps: each region's range, permissions, offset and name.

A recorded program (vmsim record) prints each process's map as it was at its exit (its last
image's), under a line naming it: the program's own mappings — executable, libraries and
files with the recorded paths, devices and inodes, heap, stack, anonymous memory — as the
program saw them under valgrind. Any other trace's touched memory is mapped as anonymous rwx
regions in 2 MiB blocks (merged when adjacent).

options:
${formatOptions(SPECS)}`;

/** Runs `vmsim maps`; returns the exit code. */
export async function mapsCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommand(argv, SPECS, 'maps', MAPS_HELP, io.stdout, { count: 1, what: 'one TRACE file' });
  if (!a) return 0;
  let maps = '';
  const r = await runReplay(a.positional[0]!, replayOptionsFrom(a, 'maps'), io, 'maps', (space) => {
    maps = space.maps();
  });
  if (r.program) {
    const parts = r.program.processes.map((p) => {
      const how = p.exit === 'running' ? 'still running when the trace ended' : p.exit === 'lost' ? 'lost by the recording' : 'status' in p.exit ? `exited with status ${p.exit.status}` : `killed by signal ${p.exit.signal}`;
      return `==> process ${p.pid}${p.parent ? ` (child of ${p.parent})` : ''}: ${p.images[p.images.length - 1] || '(no image)'}, ${how} <==\n${p.maps}`;
    });
    io.stdout.write(parts.join('\n'));
    return 0;
  }
  io.stdout.write(maps.endsWith('\n') || maps === '' ? maps : maps + '\n');
  return 0;
}
