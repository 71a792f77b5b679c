/**
 * The recording's one output stream: chunks from several connections, each with its events,
 * written in the order they are handed over. A chunk from another connection than the last
 * starts with a THREAD event naming its first records' thread, so every record stays with its
 * thread wherever the streams interleave. Bytes wait in a queue for the file; when too many
 * wait, the recorder stops reading its connections (valgrind then blocks on its log).
 */
import { Readable } from 'node:stream';
import { encodeChunk, encodeHeader, TRACE_EVENTS_VERSION } from '../trace/binary-trace.js';
import { encodeEvent, type NewTraceEvent, type TraceEvent } from '../trace/trace-events.js';
import type { TraceChunk } from '../trace/trace-record.js';

/** Bytes queued above which the producers are asked to wait. */
const HIGH_WATER = 16 << 20;

/** A thread as (pid, thread number). */
export interface ThreadRef {
  pid: number;
  thread: number;
}

/** The version-2 trace being written, as a byte stream for the file writer. */
export class TraceOutput {
  /** The bytes, to pipe into the file. */
  readonly body: Readable;
  records = 0;
  events = 0;
  private context: ThreadRef | undefined;
  private readonly waiters: Array<() => void> = [];

  constructor() {
    this.body = new Readable({ read: () => this.drained() });
    this.push(encodeHeader(TRACE_EVENTS_VERSION));
  }

  /** True while producers should wait (see whenDrained). */
  get full(): boolean {
    return this.body.readableLength > HIGH_WATER;
  }

  /** Resolves once the queue has room. */
  whenDrained(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /** Writes events on their own (not tied to any records). */
  write(events: NewTraceEvent[]): void {
    for (const e of events) {
      this.push(encodeEvent(e));
      this.events++;
      if (e.type === 'thread') this.context = { pid: e.pid, thread: e.thread };
    }
  }

  /**
   * Writes a chunk whose first records are `start`'s (undefined: no thread yet); returns the
   * thread its last records belong to.
   */
  chunk(chunk: TraceChunk, start: ThreadRef | undefined): ThreadRef | undefined {
    if (start && (this.context?.pid !== start.pid || this.context.thread !== start.thread) && chunk.count > 0 && !(chunk.events?.[0]?.at === 0 && chunk.events[0].type === 'thread')) {
      this.write([{ type: 'thread', pid: start.pid, thread: start.thread }]);
    }
    for (const b of encodeChunk(chunk)) this.push(b);
    this.records += chunk.count;
    this.events += chunk.events?.length ?? 0;
    let last = start;
    for (const e of chunk.events ?? []) if (e.type === 'thread') last = { pid: e.pid, thread: e.thread };
    if (last) this.context = last;
    return last;
  }

  /** No more bytes. */
  end(): void {
    this.body.push(null);
  }

  private push(b: Uint8Array): void {
    this.body.push(b);
  }

  /** The file took bytes: producers waiting for room may go on. */
  private drained(): void {
    if (!this.full) for (const w of this.waiters.splice(0)) w();
  }
}

/** The events of a chunk, as a writer wants them (place-free). */
export type ChunkEvents = TraceEvent[];
