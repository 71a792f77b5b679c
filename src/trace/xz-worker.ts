/**
 * xz decompression beside the replay, so the decoder runs while the main thread replays. Read on
 * the main thread, a decoder's output waits whenever a replay chunk runs (a pipe holds 64 KiB, a
 * chunk takes milliseconds): the decoder and the replay would take turns instead of running at
 * once.
 *   - The system's `xz -dc` (a child process) writes into a FIFO that a worker thread reads with
 *     blocking 1 MiB reads (fs.readSync): Node's stream reads of a pipe come in ~9 KiB pieces as
 *     xz writes them, and those reads alone took 1.3-1.5x `xz -dc > /dev/null`. The worker never
 *     returns to its event loop, so it takes its flow control from shared memory (Atomics), and
 *     the main thread feeds xz's stdin and collects its exit status itself.
 *   - The WebAssembly liblzma (xz-decompress) runs on a worker thread fed by messages.
 * Either way the decompressed bytes come in 1 MiB pieces, at most AHEAD bytes ahead of the reader.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { spawn, execFile } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TraceFormatError } from './trace-error.js';

/** Decompressed bytes the worker keeps ahead of the reader, and compressed bytes the reader keeps ahead of the decoder. */
const AHEAD = 32 << 20;
const COMPRESSED_AHEAD = 4 << 20;

/** Messages from the main thread. */
type ToWorker = { type: 'data'; buf: ArrayBuffer } | { type: 'end' } | { type: 'ack'; bytes: number } | { type: 'stop' };
/** Messages from the worker. */
type FromWorker = { type: 'data'; buf: ArrayBuffer } | { type: 'took'; bytes: number } | { type: 'end' } | { type: 'error'; message: string };

// The WebAssembly decoder's worker: plain CommonJS (it is evaluated as a script, so it runs the same from the sources and the build).
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const PIECE = 1 << 20;
let acked = 0, posted = 0, paused = false;
// Output gathers in 1 MiB buffers of their own (one copy), handed to the main thread whole.
let cur = Buffer.allocUnsafeSlow(PIECE), have = 0;
const post = (m, t) => parentPort.postMessage(m, t);
function send(n) {
  const ab = n === PIECE ? cur.buffer : cur.buffer.slice(0, n);
  posted += n;
  post({ type: 'data', buf: ab }, [ab]);
  cur = Buffer.allocUnsafeSlow(PIECE);
  have = 0;
}
function flush(force) { if (force && have > 0) send(have); }
function out(b) {
  let at = 0;
  while (at < b.length) {
    const n = Math.min(PIECE - have, b.length - at);
    b.copy(cur, have, at, at + n);
    have += n;
    at += n;
    if (have === PIECE) send(PIECE);
  }
}
let decoder;
{
  // The WebAssembly decoder, fed through a web stream.
  const { XzReadableStream } = require(workerData.wasm);
  // Fed as the decoder pulls, so the compressed bytes ahead stay bounded ('took' is the credit).
  const pending = [];
  let inputEnded = false, pullWaiter;
  const input = new ReadableStream({
    pull(c) {
      return new Promise((res) => {
        const go = () => {
          if (pending.length) { const b = pending.shift(); c.enqueue(new Uint8Array(b)); post({ type: 'took', bytes: b.length }); res(); }
          else if (inputEnded) { c.close(); res(); }
          else pullWaiter = go;
        };
        go();
      });
    },
  }, { highWaterMark: 0 });
  const wakePull = () => { const w = pullWaiter; pullWaiter = undefined; if (w) w(); };
  const reader = new XzReadableStream(input).getReader();
  let waiting;
  const pump = async () => {
    try {
      for (;;) {
        if (posted - acked > workerData.ahead) { await new Promise((r) => (waiting = r)); continue; }
        const r = await reader.read();
        if (r.done) { flush(true); post({ type: 'end' }); return; }
        out(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length));
      }
    } catch (e) { post({ type: 'error', message: e && e.message ? e.message : String(e) }); }
  };
  pump();
  decoder = {
    write: (b) => { pending.push(b); wakePull(); },
    end: () => { inputEnded = true; wakePull(); },
    resume: () => { const w = waiting; waiting = undefined; if (w) w(); },
    stop: () => reader.cancel().catch(() => {}),
  };
}
parentPort.on('message', (m) => {
  if (m.type === 'data') decoder.write(Buffer.from(m.buf));
  else if (m.type === 'end') decoder.end();
  else if (m.type === 'ack') {
    acked += m.bytes;
    if (posted - acked <= workerData.ahead / 2) { if (paused) { paused = false; } decoder.resume(); }
  } else if (m.type === 'stop') { decoder.stop(); process.exit(0); }
});
`;

const load = createRequire(import.meta.url);

/**
 * The decompressed bytes of `input` (xz), decoded by the system's xz (`xz`: its path) with a
 * worker thread reading its output, or on a worker thread by xz-decompress (`xz` undefined).
 */
export async function* xzOnWorker(input: AsyncIterable<Buffer>, source: string, xz: string | undefined): AsyncGenerator<Buffer, void, undefined> {
  if (xz !== undefined) {
    yield* xzThroughFifo(input, source, xz);
    return;
  }
  const worker = new Worker(WORKER, { eval: true, workerData: { wasm: load.resolve('xz-decompress'), ahead: AHEAD } });
  const queue: Buffer[] = [];
  let done = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  let inFlight = 0;
  let credit: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  worker.on('message', (m: FromWorker) => {
    if (m.type === 'data') queue.push(Buffer.from(m.buf));
    else if (m.type === 'took') {
      inFlight -= m.bytes;
      const c = credit;
      credit = undefined;
      c?.();
      return;
    } else if (m.type === 'end') done = true;
    else {
      done = true;
      failure ??= new TraceFormatError(source, {}, `bad xz data (${m.message})`);
    }
    notify();
  });
  worker.on('error', (e) => {
    done = true;
    failure ??= e;
    notify();
  });
  const send = (m: ToWorker, transfer?: ArrayBuffer[]) => worker.postMessage(m, transfer);
  // The compressed bytes go to the worker as they are read, a bounded amount ahead.
  const feeding = (async () => {
    try {
      for await (const piece of input) {
        if (done) return;
        const ab = piece.buffer.slice(piece.byteOffset, piece.byteOffset + piece.length) as ArrayBuffer;
        inFlight += ab.byteLength;
        send({ type: 'data', buf: ab }, [ab]);
        while (inFlight > COMPRESSED_AHEAD && !done) await new Promise<void>((r) => (credit = r));
      }
      send({ type: 'end' });
    } catch (e) {
      done = true;
      failure ??= e;
      notify();
    }
  })();
  try {
    for (;;) {
      const b = queue.shift();
      if (b) {
        send({ type: 'ack', bytes: b.length });
        yield b;
        continue;
      }
      if (done) break;
      await new Promise<void>((r) => (wake = r));
    }
    if (failure) throw failure;
  } finally {
    done = true;
    credit?.();
    send({ type: 'stop' });
    await feeding.catch(() => undefined);
    await worker.terminate().catch(() => undefined);
  }
}

// The FIFO reader's worker: blocking reads of 1 MiB, each piece posted whole (transferred), and
// no further read while AHEAD bytes wait unread (shared counter ctl[0]; ctl[1] set: stop).
const FIFO_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { readSync } = require('node:fs');
const PIECE = 1 << 20;
const ctl = new Int32Array(workerData.ctl);
const fd = workerData.fd;
try {
  for (;;) {
    let ahead;
    while ((ahead = Atomics.load(ctl, 0)) > workerData.ahead && Atomics.load(ctl, 1) === 0) Atomics.wait(ctl, 0, ahead);
    if (Atomics.load(ctl, 1) !== 0) break;
    const buf = Buffer.allocUnsafeSlow(PIECE);
    let have = 0;
    // Fill the piece: xz writes 8 KiB at a time, a read returns what the pipe holds.
    while (have < PIECE) {
      let n;
      try {
        n = readSync(fd, buf, have, PIECE - have, null);
      } catch (e) {
        if (e && e.code === 'EINTR') continue; // libuv does not retry an interrupted read
        throw e;
      }
      if (n === 0) break;
      have += n;
    }
    if (have > 0) {
      const ab = have === PIECE ? buf.buffer : buf.buffer.slice(0, have);
      Atomics.add(ctl, 0, have);
      parentPort.postMessage({ type: 'data', buf: ab }, [ab]);
    }
    if (have < PIECE) break;
  }
  parentPort.postMessage({ type: 'end' });
} catch (e) {
  parentPort.postMessage({ type: 'error', message: e && e.message ? e.message : String(e) });
}
`;

/**
 * A FIFO's two ends, opened without blocking and without a name left behind: the read end first
 * without O_NONBLOCK's effect on reads (opened again blocking once a writer holds it open).
 */
async function fifoEnds(): Promise<{ read: number; write: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'vmsim-xz-'));
  try {
    const path = join(dir, 'out');
    // Node has no mkfifo(3); mkfifo(1) is coreutils, there wherever xz is.
    await new Promise<void>((resolve, reject) => execFile('mkfifo', ['-m', '600', path], (e) => (e ? reject(e) : resolve())));
    // open(2) of a FIFO waits for the other end unless O_NONBLOCK: a non-blocking read end lets
    // the write end open at once, and with a writer there the blocking read end opens at once.
    const probe = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    let write: number | undefined;
    try {
      write = openSync(path, constants.O_WRONLY);
      return { read: openSync(path, constants.O_RDONLY), write };
    } catch (e) {
      if (write !== undefined) closeSync(write);
      throw e;
    } finally {
      closeSync(probe);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `xz -dc` with stdin fed from `input` here and stdout read on a worker thread (FIFO_WORKER). */
async function* xzThroughFifo(input: AsyncIterable<Buffer>, source: string, xz: string): AsyncGenerator<Buffer, void, undefined> {
  const ends = await fifoEnds();
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(xz, ['-dc'], { stdio: ['pipe', ends.write, 'pipe'] });
  } catch (e) {
    closeSync(ends.read);
    throw e;
  } finally {
    // xz holds the write end now: its exit is the reader's end of file.
    closeSync(ends.write);
  }
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  let worker: Worker;
  try {
    worker = new Worker(FIFO_WORKER, { eval: true, workerData: { fd: ends.read, ctl: ctl.buffer, ahead: AHEAD } });
  } catch (e) {
    closeSync(ends.read);
    child.kill();
    throw e;
  }
  const queue: Buffer[] = [];
  let ended = false; // the worker read to the end (or failed)
  let exited: number | null | undefined; // xz's exit code once it has exited (null: killed)
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let said = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (said += d));
  child.stdin!.on('error', () => {}); // xz stops reading at corrupt data: its exit says why
  child.on('error', (e) => {
    failure ??= e;
    exited ??= -1;
    notify();
  });
  child.on('close', (code) => {
    exited ??= code;
    if (code !== 0) failure ??= new TraceFormatError(source, {}, `bad xz data (${said.trim().replace(/^xz: \(stdin\): /, '') || 'xz exited with ' + code})`);
    notify();
  });
  worker.on('message', (m: FromWorker) => {
    if (m.type === 'data') queue.push(Buffer.from(m.buf));
    else if (m.type === 'end') ended = true;
    else if (m.type === 'error') {
      ended = true;
      failure ??= new TraceFormatError(source, {}, `bad xz data (${m.message})`);
    }
    notify();
  });
  worker.on('error', (e) => {
    ended = true;
    failure ??= e;
    notify();
  });
  let stopping = false;
  // The compressed bytes go to xz's stdin as they are read, as fast as xz takes them.
  const stdin = child.stdin!;
  const feeding = (async () => {
    try {
      for await (const piece of input) {
        if (stopping || exited !== undefined) return;
        if (!stdin.write(piece)) await new Promise<void>((r) => {
          const go = () => { stdin.off('drain', go); stdin.off('close', go); r(); };
          stdin.on('drain', go).on('close', go);
        });
      }
      stdin.end();
    } catch (e) {
      failure ??= e;
      ended = true;
      notify();
    }
  })();
  try {
    for (;;) {
      const b = queue.shift();
      if (b) {
        // Credit back to the worker (it waits only while more than AHEAD is unread).
        Atomics.sub(ctl, 0, b.length);
        Atomics.notify(ctl, 0);
        yield b;
        continue;
      }
      // After xz's exit, what it wrote is read to the end first (as the data before its complaint).
      if (ended && (exited !== undefined || failure !== undefined)) break;
      await new Promise<void>((r) => (wake = r));
    }
    if (failure !== undefined) throw failure;
  } finally {
    stopping = true;
    // The worker may be in a read (xz's exit ends it) or waiting for credit (the stop flag ends it).
    if (exited === undefined) child.kill();
    Atomics.store(ctl, 1, 1);
    Atomics.notify(ctl, 0);
    stdin.destroy();
    await feeding.catch(() => undefined);
    if (exited === undefined) await new Promise<void>((r) => child.once('close', () => r()));
    if (!ended) await new Promise<void>((r) => worker.once('exit', () => r()));
    await worker.terminate().catch(() => undefined);
    // Closed here, where it was opened (Node warns of an fd closed on another thread), once the worker is gone.
    closeSync(ends.read);
  }
}
