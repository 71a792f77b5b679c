/**
 * The local server of `vmsim serve`: the teaching page's bundle (web/dist) and nothing else.
 * Its files are read once at start and served from memory by exact path, so no request —
 * however its path is spelt (`..`, `%2e%2e%2f`, `%2f`, `//etc/passwd`, backslashes) — can
 * reach the file system. Only GET and HEAD (405 otherwise); on a loopback address only
 * requests naming a loopback host (a DNS-rebinding page elsewhere cannot read it).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { VmmError } from '../errors.js';

const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml', png: 'image/png', json: 'application/json', ico: 'image/x-icon' };
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** A running server. */
export interface SiteServer {
  /** The page's address, e.g. http://127.0.0.1:8023/ */
  readonly url: string;
  readonly server: Server;
  /** Stops listening; resolves when closed. */
  close(): Promise<void>;
}

/** Reads every file under `root` into a map from its URL path ('/index.html'); '/' is index.html. */
function loadBundle(root: string): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const ext = e.name.split('.').pop()!.toLowerCase();
        files.set('/' + relative(root, p).split(sep).join('/'), { body: readFileSync(p), type: TYPES[ext] ?? 'application/octet-stream' });
      }
    }
  };
  if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) throw new VmmError('ENOENT', `the page is not built: ${root} does not exist (run npm run site)`);
  walk(root);
  const index = files.get('/index.html');
  if (!index) throw new VmmError('ENOENT', `the page is not built: ${join(root, 'index.html')} does not exist (run npm run site)`);
  files.set('/', index);
  return files;
}

/** Starts serving `root` on host:port (port 0: any free port). */
export async function startSiteServer(options: { root: string; port: number; host: string }): Promise<SiteServer> {
  const files = loadBundle(options.root);
  const loopback = LOOPBACK.has(options.host);
  const server = createServer((req, res) => respond(req, res, files, loopback));
  // CONNECT and Upgrade requests bypass the request handler in node:http: refused the same way.
  const refuse = (_req: IncomingMessage, socket: Duplex) => socket.end('HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  server.on('connect', refuse);
  server.on('upgrade', refuse);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  const host = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function respond(req: IncomingMessage, res: ServerResponse, files: Map<string, { body: Buffer; type: string }>, loopback: boolean): void {
  const send = (status: number, text: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', ...headers });
    res.end(req.method === 'HEAD' ? undefined : text + '\n');
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed (GET and HEAD only)', { Allow: 'GET, HEAD' });
  if (loopback) {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!LOOPBACK.has(host)) return send(403, 'forbidden: this server answers requests for a loopback host only');
  }
  // The raw path, undecoded: a file is served only when it is exactly one of the bundle's paths.
  const path = (req.url ?? '').split('?')[0]!;
  const file = files.get(path);
  if (!file) return send(404, 'not found');
  res.writeHead(200, {
    'Content-Type': file.type,
    'Content-Length': String(file.body.length),
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
  });
  res.end(req.method === 'HEAD' ? undefined : file.body);
}
