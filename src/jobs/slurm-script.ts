/** The SLURM job-array script of a sweep: every task runs the same command, which takes its row from SLURM_ARRAY_TASK_ID. */

/** What the script needs to know. */
export interface SlurmScriptOptions {
  /** The sweep's directory (absolute): manifest, row files, logs. */
  dir: string;
  /** Rows in the sweep (array tasks 0..rows-1). */
  rows: number;
  /** The vmsim command as argv words (e.g. node and the CLI's main.js). */
  command: readonly string[];
  /** The worker's --root directories (those holding the traces). */
  roots: readonly string[];
  /** vmsim's version, for the header. */
  version: string;
}

/** Quotes `s` for a POSIX shell. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=,+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The script's text (bash, with #SBATCH lines). */
export function slurmScript(o: SlurmScriptOptions): string {
  const q = shellQuote;
  const cmd = [...o.command.map(q), 'worker', '--slurm', q(o.dir), ...o.roots.flatMap((r) => ['--root', q(r)])].join(' ');
  return `#!/bin/bash
# A vmsim sweep as a SLURM job array: one task per row (${o.rows} rows), written by vmsim ${o.version}.
#   submit:  sbatch ${q(o.dir + '/sweep.sbatch')}   (add -p PARTITION, --time, ... as your cluster wants)
#   then:    vmsim gather ${q(o.dir)}
# Each task runs the same command; it takes its row from SLURM_ARRAY_TASK_ID and writes it to
# rows/ in that directory. A row already there is not run again, so submitting again (or
# sbatch --array=3,7 on this script) runs only what is missing or failed.
#SBATCH --job-name=vmsim-sweep
#SBATCH --array=0-${o.rows - 1}
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --output=${o.dir}/logs/row-%a.out
set -euo pipefail
exec ${cmd}
`;
}
