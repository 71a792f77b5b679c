/** `vmsim worker`: computes sweep rows for a job queue (--queue) or one row of a SLURM job array (--slurm). */
import { availableParallelism } from 'node:os';
import { formatOptions, parseCommand, UsageError, type OptionSpec } from '../args.js';
import type { CommandIo } from '../io.js';

const SPECS: OptionSpec[] = [
  { name: 'queue', type: 'string', value: 'redis://HOST:PORT/NAME', help: 'the queue to serve (the URL `vmsim sweep --queue` was given)' },
  { name: 'root', type: 'string', value: 'DIR', help: 'a directory the worker may read traces under (repeat for more); no other file is read', default: 'the current directory' },
  { name: 'concurrency', type: 'int', min: 1, value: 'N', help: 'rows computed at once, each in a process of its own', default: 'all cores' },
  { name: 'lock-duration', type: 'int', min: 100, value: 'MS', help: "how long a job's lock lasts unrenewed: a dead worker's job goes to another within about twice this", default: '30000' },
  { name: 'slurm', type: 'string', value: 'DIR', help: 'instead of a queue: compute one row of the sweep in DIR (written by vmsim sweep --emit slurm)' },
  { name: 'row', type: 'int', value: 'N', help: 'the row, with --slurm', default: '$SLURM_ARRAY_TASK_ID' },
  { name: 'help', type: 'flag', help: 'show this help' },
];

export const WORKER_HELP = `usage: vmsim worker --queue redis://HOST:PORT/NAME [--root DIR]... [--concurrency N]
       vmsim worker --slurm DIR [--row N] [--root DIR]...

Computes the rows of distributed sweeps. With --queue it serves a BullMQ queue on Redis until
stopped (Ctrl-C or SIGTERM: it finishes its running rows first; a second signal stops at once,
and those rows go to another worker). Each row runs in a process of its own, so the worker
keeps its jobs' locks while replays run. A job names its trace by path and content hash: the
worker reads it only under a --root directory (symbolic links and '..' resolved) and only if
the content still has that hash. With --slurm it computes one row of a SLURM job array and
exits (1 if the row failed).

options:
${formatOptions(SPECS)}

examples:
  vmsim worker --queue redis://head:6379/study --root /shared/traces
  vmsim sweep /shared/traces/a.bin --tlb-entries 16,64,256 --queue redis://head:6379/study`;

/** Runs `vmsim worker`; returns the exit code. */
export async function workerCommand(argv: string[], io: CommandIo): Promise<number> {
  // --root may be given several times (the parser keeps one value per option).
  const roots: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === '--root') {
      if (argv[i + 1] === undefined) throw new UsageError('worker: --root needs a value (DIR)');
      roots.push(argv[++i]!);
    } else if (w.startsWith('--root=')) roots.push(w.slice('--root='.length));
    else rest.push(w);
  }
  const a = parseCommand(rest, SPECS, 'worker', WORKER_HELP, io.stdout, { count: 0, what: 'no argument besides options' });
  if (!a) return 0;
  if (roots.length === 0) roots.push(process.cwd());
  const slurm = a.options.get('slurm') as string | undefined;
  const queue = a.options.get('queue') as string | undefined;
  if ((slurm === undefined) === (queue === undefined)) throw new UsageError('worker: give one of --queue URL and --slurm DIR');
  if (slurm !== undefined) return slurmRow(slurm, a.options.get('row') as number | undefined, roots, a.options, io);
  for (const k of ['row']) if (a.options.has(k)) throw new UsageError(`worker: --${k} goes with --slurm`);
  const { parseQueueUrl } = await import('../../queue/queue-url.js');
  try {
    parseQueueUrl(queue);
  } catch (e) {
    throw new UsageError(`worker: --queue: ${(e as Error).message.replace(/^EINVAL: /, '')}`);
  }
  const { resolveRoots } = await import('../../jobs/trace-roots.js');
  const real = await resolveRoots(roots).catch((e: Error) => {
    throw new UsageError(`worker: ${e.message}`);
  });
  const { startWorker } = await import('../../jobs/queue-worker.js');
  const concurrency = (a.options.get('concurrency') as number | undefined) ?? availableParallelism();
  const say = (line: string) => io.stderr.write(`vmsim worker: ${line}\n`);
  const worker = await startWorker({ queue: queue!, roots: real, concurrency, lockDuration: (a.options.get('lock-duration') as number | undefined) ?? 30_000, log: say });
  say(`${worker.name} serving ${parseQueueUrl(queue).display} with ${concurrency} process(es); reading traces under ${worker.roots.join(', ')}`);
  await untilSignalled(worker.close, say);
  say('stopped');
  return 0;
}

/** Resolves when the worker is closed: the first SIGINT/SIGTERM closes it gracefully, a second forcibly. */
async function untilSignalled(close: (force?: boolean) => Promise<void>, say: (line: string) => void): Promise<void> {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  let closing = false;
  let on: () => void = () => {};
  await new Promise<void>((resolve, reject) => {
    on = () => {
      if (!closing) say('stopping: finishing the running rows (signal again to stop now; they then go to another worker)');
      close(closing).then(resolve, reject);
      closing = true;
    };
    for (const s of signals) process.on(s, on);
  }).finally(() => {
    for (const s of signals) process.off(s, on);
  });
}

async function slurmRow(dir: string, row: number | undefined, roots: string[], options: Map<string, unknown>, io: CommandIo): Promise<number> {
  for (const k of ['concurrency', 'lock-duration']) if (options.has(k)) throw new UsageError(`worker: --${k} goes with --queue`);
  let index = row;
  if (index === undefined) {
    const env = process.env['SLURM_ARRAY_TASK_ID'];
    if (env === undefined || !/^\d+$/.test(env)) throw new UsageError('worker: --slurm needs --row N (or SLURM_ARRAY_TASK_ID, as a job-array task has)');
    index = Number(env);
  }
  const { resolveRoots } = await import('../../jobs/trace-roots.js');
  const real = await resolveRoots(roots).catch((e: Error) => {
    throw new UsageError(`worker: ${e.message}`);
  });
  const { runSlurmRow } = await import('../../jobs/slurm-rows.js');
  const r = await runSlurmRow(dir, index, real);
  if (r.error !== undefined) {
    io.stderr.write(`vmsim worker: row ${index} failed: ${r.error}\n`);
    return 1;
  }
  io.stderr.write(`vmsim worker: row ${index} ${r.reused ? 'was done already' : 'done'}\n`);
  return 0;
}
