/**
 * A private redis-server for a test file (a free port on 127.0.0.1, no persistence, its own
 * directory), and `vmsim worker` processes in process groups of their own, so that a test can
 * kill one outright and afterAll can be sure nothing it started survives, even on failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** True when Debian's redis-server is on PATH (.ci/run installs it). */
export const redisInstalled = spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;

/** The built CLI the workers run (npm test builds dist/ first). */
export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

/** A running redis-server. */
export interface RedisServer {
  port: number;
  /** The queue URL of `name` on this server. */
  url(name: string): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Kills `p` (SIGTERM, then SIGKILL after `ms`) and waits for it to exit. */
async function stopProcess(p: ChildProcess, ms = 3000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), ms);
  await gone;
  clearTimeout(t);
}

/** Starts redis-server on a free port with persistence off; retries another port if one was taken meanwhile. */
export async function startRedis(): Promise<RedisServer> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'vmsim-redis-'));
    const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const ready = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 10_000);
      p.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(t);
          resolve(true);
        }
      });
      p.once('exit', () => {
        clearTimeout(t);
        resolve(false);
      });
    });
    if (ready) {
      return {
        port,
        url: (name) => `redis://127.0.0.1:${port}/${name}`,
        stop: async () => {
          await stopProcess(p);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    await stopProcess(p);
    rmSync(dir, { recursive: true, force: true });
    if (attempt >= 2) throw new Error(`redis-server did not start on port ${port}: ${out.slice(-500)}`);
  }
}

/** A `vmsim worker` process (leader of its own process group, so its sandboxed children can be found and killed). */
export interface WorkerProcess {
  pid: number;
  /** What it wrote to stderr so far. */
  log(): string;
  /** SIGKILL to the worker process alone (a crash: its children are left to notice). */
  killWorker(): void;
  /** True while any process of its group is alive. */
  alive(): boolean;
  /** Ends the whole group (SIGKILL) and waits for the worker's exit. */
  destroy(): Promise<void>;
  exited: Promise<number | null>;
}

const started = new Set<WorkerProcess>();

/** Starts `vmsim worker ARGS` and waits until it serves (or exits: its exit code is then in `exited`). */
export async function startWorker(args: string[]): Promise<WorkerProcess> {
  const p = spawn(process.execPath, [CLI, 'worker', ...args], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  const group = () => {
    try {
      process.kill(-p.pid!, 0);
      return true;
    } catch {
      return false;
    }
  };
  const w: WorkerProcess = {
    pid: p.pid!,
    log: () => err,
    killWorker: () => p.kill('SIGKILL'),
    alive: group,
    destroy: async () => {
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      if (p.exitCode === null && p.signalCode === null) await exited;
      started.delete(w);
    },
    exited,
  };
  started.add(w);
  const deadline = Date.now() + 15_000;
  while (!/ serving /.test(err) && p.exitCode === null && p.signalCode === null && Date.now() < deadline) await sleep(20);
  return w;
}

/** Kills every worker group still running (for afterAll). */
export async function destroyWorkers(): Promise<void> {
  await Promise.all([...started].map((w) => w.destroy()));
}

/** Waits until `cond()` holds (polling), or throws after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(25);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
