/**
 * Cancellation with an AbortSignal, as Node's own APIs do it: an aborted call rejects with an
 * `AbortError` (name 'AbortError', code 'ABORT_ERR', message 'The operation was aborted', the
 * signal's reason as its `cause`), exactly what `fs/promises` rejects with. Node does not export
 * its class, so callers test `e.name === 'AbortError'`; this one is built the same way.
 */
import { VmmError } from './errors.js';
import { describe } from './address.js';

/** The rejection of an aborted call (Node's AbortError: `name` 'AbortError', `code` 'ABORT_ERR', `cause` the signal's reason). */
export class AbortError extends Error {
  /** 'ABORT_ERR', as Node's. */
  readonly code = 'ABORT_ERR';
  constructor(reason?: unknown) {
    super('The operation was aborted', { cause: reason });
    this.name = 'AbortError';
  }
}

/** `signal` as given (undefined when absent); EINVAL naming `arg` unless it is an AbortSignal. */
export function checkSignal(signal: unknown, arg: string): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw new VmmError('EINVAL', `${arg} must be an AbortSignal, got ${describe(signal)}`);
  return signal;
}

/** Throws the AbortError of `signal` when it has been aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}

const ABORTED = Symbol('aborted');

/** `p`'s value, or ABORTED as soon as `signal` aborts (whichever comes first). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T | typeof ABORTED> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * `p`'s value, or an AbortError when `signal` aborts first; `dispose` then gets the value once
 * `p` resolves (a trace opened too late is closed). With `waitForIt` (an open that ends soon:
 * a regular file, bytes) the AbortError comes after that, so nothing is left open; otherwise
 * (a FIFO, whose open waits for a writer) at once, and the disposal runs in the background.
 */
export async function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined, dispose: (value: T) => unknown, waitForIt: boolean): Promise<T> {
  if (!signal) return p;
  const r = await raceAbort(p, signal);
  if (r !== ABORTED) return r;
  const disposed = p.then(
    (v) => Promise.resolve(dispose(v)).catch(() => undefined),
    () => undefined,
  );
  if (waitForIt) await disposed;
  throw new AbortError(signal.reason);
}

/**
 * `source`'s items, stopping with an AbortError when `signal` aborts: checked before each item,
 * and while waiting for one (a pipe may not deliver for a long time). The source is closed
 * (`return()`) however the iteration ends. When the abort comes during a read, the source can
 * close only once that read is over: `waitForRead` (a regular file or bytes: the read ends
 * soon) waits for it, so nothing is left open when the AbortError is thrown; otherwise (a pipe
 * or a stream, which may never deliver) it is closed in the background as soon as the read ends.
 */
export async function* abortable<T>(source: AsyncIterable<T> | Iterable<T>, signal: AbortSignal | undefined, waitForRead: boolean): AsyncGenerator<T, void, undefined> {
  if (!signal) {
    yield* source;
    return;
  }
  if (!(Symbol.asyncIterator in source)) {
    // Nothing to wait for between items: a check before each.
    for (const item of source) {
      throwIfAborted(signal);
      yield item;
    }
    return;
  }
  const it = source[Symbol.asyncIterator]();
  let closed = false;
  try {
    for (;;) {
      throwIfAborted(signal);
      const next = it.next();
      const r = await raceAbort(next, signal);
      if (r === ABORTED) {
        closed = true;
        // An async generator runs return() after the pending next() settles.
        next.catch(() => undefined);
        const close = Promise.resolve(it.return?.()).catch(() => undefined);
        if (waitForRead) await close;
        throw new AbortError(signal.reason);
      }
      if (r.done) {
        closed = true;
        return;
      }
      yield r.value;
    }
  } finally {
    if (!closed) await it.return?.();
  }
}
