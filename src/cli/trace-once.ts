/**
 * A trace that a command reads several times (curve: once per point), read from its input only
 * once: a stream, FIFO, '-' or compressed or text file becomes a temporary binary copy (8 bytes an
 * access, removed afterwards, and on Ctrl-C); an uncompressed binary file is used as it is.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertTrace } from '../trace/trace-writer.js';
import { openTrace } from '../trace/trace-reader.js';
import { trackTemp, untrackTemp } from '../temp-files.js';

/** Runs `use` with a path that can be read again and again and holds the same records as `trace` ('-' = standard input); `strict` stops at the first malformed record. */
export async function withRereadableTrace<T>(trace: string, strict: boolean, use: (path: string) => Promise<T>, format?: 'auto' | 'champsim' | 'champsim-cloudsuite'): Promise<T> {
  const regular = trace !== '-' && (await stat(trace).then((s) => s.isFile(), () => false));
  // With strict, the copy is where malformed records are refused, so every input goes through it.
  if (regular && !strict) {
    const r = await openTrace(trace, format ? { format } : {});
    const direct = r.format === 'binary' && r.compression === 'none';
    await r.close();
    if (direct) return use(trace);
  }
  const dir = await mkdtemp(join(tmpdir(), 'vmsim-curve-'));
  trackTemp(dir);
  try {
    const bin = join(dir, 'trace.bin');
    await convertTrace(trace === '-' ? process.stdin : trace, bin, { strict, ...(format ? { format } : {}) });
    return await use(bin);
  } finally {
    await rm(dir, { recursive: true, force: true });
    untrackTemp(dir);
  }
}
