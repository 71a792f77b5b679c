/**
 * xz decompression on a worker thread, so it runs while the main thread replays. Read on the
 * main thread, a decoder's output waits whenever a replay chunk runs (a pipe holds 64 KiB, a
 * chunk takes milliseconds): the decoder and the replay would take turns instead of running at
 * once. On its own thread the worker keeps draining the decoder — the system's `xz -dc` in a
 * child process, or the WebAssembly liblzma (xz-decompress) — into 1 MiB pieces, up to a bound
 * ahead of the replay. The main thread forwards the compressed bytes (a bounded number ahead)
 * and takes the pieces as it goes.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { TraceFormatError } from './trace-error.js';

/** Decompressed bytes the worker keeps ahead of the reader, and compressed bytes the reader keeps ahead of the decoder. */
const AHEAD = 32 << 20;
const COMPRESSED_AHEAD = 4 << 20;

/** Messages from the main thread. */
type ToWorker = { type: 'data'; buf: ArrayBuffer } | { type: 'end' } | { type: 'ack'; bytes: number } | { type: 'stop' };
/** Messages from the worker. */
type FromWorker = { type: 'data'; buf: ArrayBuffer } | { type: 'took'; bytes: number } | { type: 'end' } | { type: 'error'; message: string };

// The worker: plain CommonJS (it is evaluated as a script, so it runs the same from the sources and the build).
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
if (workerData.xz) {
  const { spawn } = require('node:child_process');
  const child = spawn(workerData.xz, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let said = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (said += d));
  child.stdin.on('error', () => {}); // xz stops reading at corrupt data: its exit says why
  child.stdout.on('data', (b) => {
    out(b);
    if (posted - acked > workerData.ahead && !paused) { paused = true; child.stdout.pause(); }
  });
  child.on('close', (code) => {
    flush(true);
    if (code === 0) post({ type: 'end' });
    else post({ type: 'error', message: said.trim().replace(/^xz: \\(stdin\\): /, '') || 'xz exited with ' + code });
  });
  decoder = {
    write: (b) => child.stdin.write(b, () => post({ type: 'took', bytes: b.length })),
    end: () => child.stdin.end(),
    resume: () => child.stdout.resume(),
    stop: () => child.kill(),
  };
} else {
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
 * The decompressed bytes of `input` (xz), decoded on a worker thread by the system's xz
 * (`xz`: its path) or by xz-decompress (`xz` undefined).
 */
export async function* xzOnWorker(input: AsyncIterable<Buffer>, source: string, xz: string | undefined): AsyncGenerator<Buffer, void, undefined> {
  const worker = new Worker(WORKER, { eval: true, workerData: { xz, wasm: xz ? undefined : load.resolve('xz-decompress'), ahead: AHEAD } });
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
