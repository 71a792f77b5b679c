/** `vmsim gather DIR`: the rows of a SLURM sweep (vmsim sweep … --emit slurm), printed as the sweep itself prints them. */
import { formatOptions, parseCommand, UsageError, type OptionSpec } from '../args.js';
import type { CommandIo } from '../io.js';
import { sweepCommand } from './sweep.js';

const SPECS: OptionSpec[] = [
  { name: 'json', type: 'flag', help: 'print the rows as JSON' },
  { name: 'csv', type: 'flag', help: 'print the rows as CSV' },
  { name: 'plot', type: 'string', value: 'FILE.svg|FILE.png', help: 'draw the miss rate against the swept value' },
  { name: 'plot-level', type: 'string', value: 'NAME', help: 'the array or level whose miss rate is plotted' },
  { name: 'log', type: 'flag', help: 'logarithmic miss-rate axis' },
  { name: 'help', type: 'flag', help: 'show this help' },
];

/** The sweep options that only shape the output: gather's own replace the emitted command's. */
const OUTPUT = new Set(SPECS.map((s) => s.name).filter((n) => n !== 'help'));

export const GATHER_HELP = `usage: vmsim gather DIR [--json | --csv] [--plot FILE] [--plot-level NAME] [--log]

Prints the rows of the SLURM sweep in DIR (written by vmsim sweep … --emit slurm and run by
sbatch DIR/sweep.sbatch) exactly as that vmsim sweep would have printed them: the same table,
JSON or CSV. Output options given here replace those of the sweep's command line. Rows that
have not run yet are listed with the sbatch command that runs them; rows that failed are
reported with their errors (exit 1) and the others are printed.

options:
${formatOptions(SPECS)}`;

/** Runs `vmsim gather`; returns the exit code. */
export async function gatherCommand(argv: string[], io: CommandIo): Promise<number> {
  const a = parseCommand(argv, SPECS, 'gather', GATHER_HELP, io.stdout, { count: 1, what: 'one DIR (written by vmsim sweep --emit slurm)' });
  if (!a) return 0;
  const dir = a.positional[0]!;
  const { readManifest } = await import('../../jobs/slurm-rows.js');
  const m = await readManifest(dir);
  const mine = [...a.options].flatMap(([k, v]) => (v === true ? [`--${k}`] : [`--${k}`, String(v)]));
  // The sweep's command line, with its output options replaced by gather's when gather gives any.
  const kept = mine.length > 0 ? dropOptions(m.argv, OUTPUT) : m.argv;
  if (kept.includes('--emit') || kept.includes('--queue')) throw new UsageError(`gather: ${dir}/sweep.json holds a command line with --emit or --queue; emit the sweep again`);
  return sweepCommand([...kept, ...mine], io, dir);
}

/** `argv` without the listed options (and their values). */
function dropOptions(argv: readonly string[], names: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    const m = /^--([a-z0-9-]+)(=.*)?$/.exec(w);
    if (m && names.has(m[1]!)) {
      const takesValue = m[2] === undefined && SPECS.find((s) => s.name === m[1])?.type !== 'flag';
      if (takesValue) i++;
      continue;
    }
    out.push(w);
  }
  return out;
}
