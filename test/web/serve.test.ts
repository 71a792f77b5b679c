/** `vmsim serve`: the bundle and nothing else, GET and HEAD only, loopback by default. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSiteServer, type SiteServer } from '../../src/cli/site-server.js';
import { serveCommand } from '../../src/cli/commands/serve.js';
import { main } from '../../src/cli/main.js';

/** Sends one raw HTTP/1.1 request (the path exactly as given, no client normalisation); resolves with status and body. */
function raw(port: number, line: string, host = `127.0.0.1:${port}`): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let data = '';
    sock.on('data', (d) => (data += d.toString('latin1')));
    sock.on('error', reject);
    sock.on('end', () => {
      const [head, ...body] = data.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head ?? '')?.[1]), headers: head ?? '', body: body.join('\r\n\r\n') });
    });
    sock.end(`${line} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  });
}

describe('vmsim serve', () => {
  let dir: string;
  let site: SiteServer;
  let port: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vmsim-serve-'));
    mkdirSync(join(dir, 'site'));
    writeFileSync(join(dir, 'site', 'index.html'), '<!doctype html><title>page</title>');
    writeFileSync(join(dir, 'secret.txt'), 'SECRET outside the bundle');
    site = await startSiteServer({ root: join(dir, 'site'), port: 0, host: '127.0.0.1' });
    port = Number(new URL(site.url).port);
  });
  afterAll(async () => {
    await site?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 and serves the page at / and /index.html, with HEAD', async () => {
    expect(site.url).toBe(`http://127.0.0.1:${port}/`);
    for (const path of ['/', '/index.html', '/?tab=replace']) {
      const r = await raw(port, `GET ${path}`);
      expect(r.status, path).toBe(200);
      expect(r.body).toContain('<title>page</title>');
      expect(r.headers).toMatch(/content-type: text\/html; charset=utf-8/i);
    }
    const head = await raw(port, 'HEAD /');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('serves nothing outside the bundle, however the path is spelt', async () => {
    const paths = ['/../secret.txt', '/site/../secret.txt', '/%2e%2e/secret.txt', '/%2e%2e%2fsecret.txt', '/..%2fsecret.txt', '/%2E%2E%2Fsecret.txt', '/%2fsecret.txt', '//secret.txt', `/${dir}/secret.txt`, `${dir}/secret.txt`, '/..\\secret.txt', '/%5c..%5csecret.txt', '\\..\\secret.txt', '/index.html/../../secret.txt', '/%00', 'http://127.0.0.1/../secret.txt', '/etc/passwd', '/%2fetc%2fpasswd', '//etc/passwd', '/.', '/..'];
    for (const p of paths) {
      const r = await raw(port, `GET ${p}`);
      expect([400, 404], p).toContain(r.status);
      expect(r.body, p).not.toContain('SECRET');
      expect(r.body, p).not.toContain('root:');
    }
  });

  it('refuses methods other than GET and HEAD with 405 and Allow', async () => {
    for (const m of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT']) {
      const r = await raw(port, `${m} ${m === 'CONNECT' ? '127.0.0.1:1' : '/'}`);
      expect(r.status, m).toBe(405);
      expect(r.headers).toMatch(/allow: GET, HEAD/i);
    }
  });

  it('on loopback, answers only requests naming a loopback host (no DNS rebinding)', async () => {
    expect((await raw(port, 'GET /', `evil.example:${port}`)).status).toBe(403);
    expect((await raw(port, 'GET /', `localhost:${port}`)).status).toBe(200);
  });

  it('the command prints the URL and stops when told; refuses a missing bundle, a bad port and arguments', async () => {
    let out = '';
    const stop = new AbortController();
    const done = serveCommand(['--port', '0'], { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => undefined } }, stop.signal);
    for (let i = 0; i < 100 && !out.includes('http://'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(out).toMatch(/^vmsim: the teaching page is at http:\/\/127\.0\.0\.1:\d+\//);
    stop.abort();
    expect(await done).toBe(0);
    await expect(startSiteServer({ root: join(dir, 'nothing'), port: 0, host: '127.0.0.1' })).rejects.toThrow(/not built.*npm run site/);
    let err = '';
    const io = { stdout: { write: () => undefined }, stderr: { write: (s: string) => (err += s) } };
    expect(await main(['serve', '--port', '70000'], io)).toBe(2);
    expect(err).toMatch(/--port must be at most 65535/);
    expect(await main(['serve', 'extra'], io)).toBe(2);
    const busy = await main(['serve', '--port', String(port)], io);
    expect(busy).toBe(1);
    expect(err).toMatch(/port \d+ on 127\.0\.0\.1 is in use/);
  });
});
