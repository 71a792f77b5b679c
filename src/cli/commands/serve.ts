/** `vmsim serve [--port N] [--host H]`: the teaching page on a local web server. */
import { join } from 'node:path';
import { packageRoot } from '../../package-info.js';
import { formatOptions, parseCommand, UsageError, type OptionSpec } from '../args.js';
import type { CommandIo } from '../io.js';
import { startSiteServer } from '../site-server.js';

const SPECS: OptionSpec[] = [
  { name: 'port', type: 'int', value: 'N', help: 'port to listen on (0: any free port)', default: '8023' },
  { name: 'host', type: 'string', value: 'H', help: 'address to listen on; anything but a loopback address lets other computers load the page', default: '127.0.0.1' },
  { name: 'help', type: 'flag', help: 'show this help' },
];

export const SERVE_HELP = `usage: vmsim serve [--port N] [--host H]

Serves the teaching page (translation, page replacement, processes, memory pressure,
exercises) from the package's web/dist on a local web server and prints its address. The
page runs the simulator in the browser; it also works opened straight from the file
web/dist/index.html. Ctrl-C stops the server.

options:
${formatOptions(SPECS)}`;

/** Runs `vmsim serve`; resolves when the server stops (SIGINT/SIGTERM, or `signal` aborts). */
export async function serveCommand(argv: string[], io: CommandIo, signal?: AbortSignal): Promise<number> {
  const a = parseCommand(argv, SPECS, 'serve', SERVE_HELP, io.stdout, { count: 0, what: 'no arguments' });
  if (!a) return 0;
  const port = (a.options.get('port') as number | undefined) ?? 8023;
  if (port > 65535) throw new UsageError(`serve: --port must be at most 65535, got ${port}`);
  const host = (a.options.get('host') as string | undefined) ?? '127.0.0.1';
  let site;
  try {
    site = await startSiteServer({ root: join(packageRoot(), 'web', 'dist'), port, host });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw Object.assign(new Error(`port ${port} on ${host} is in use (try --port 0 for any free port)`), { code });
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EACCES') throw Object.assign(new Error(`cannot listen on ${host}:${port} (${code})`), { code });
    throw e;
  }
  io.stdout.write(`vmsim: the teaching page is at ${site.url}  (Ctrl-C stops the server)\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    signal?.addEventListener('abort', stop, { once: true });
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await site.close();
  return 0;
}
