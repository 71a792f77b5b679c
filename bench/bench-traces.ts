/** The traces several benchmark sections replay: the shipped ls trace, and a hot/cold access pattern. */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { LackeyParser } from '../src/trace/lackey-parser.js';
import { packRecord, type TraceChunk } from '../src/trace/trace-record.js';

/** The ls trace (traces/ls.lackey.gz) as one array of packed records, and its text. */
export function loadLsTrace(): { words: Uint32Array; count: number; text: Buffer } {
  const text = gunzipSync(readFileSync('traces/ls.lackey.gz'));
  const parser = new LackeyParser({ chunkRecords: 1 << 20 });
  const parts: Uint32Array[] = [];
  for (const c of parser.feed(text)) parts.push(c.words.slice(0, c.count * 2));
  for (const c of parser.finish()) parts.push(c.words.slice(0, c.count * 2));
  const words = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    words.set(p, o);
    o += p.length;
  }
  return { words, count: words.length / 2, text };
}

/**
 * `n` 8-byte accesses with locality at 0x10_0000_0000: 99.5% to 48 hot pages (mostly TLB
 * hits), the rest over 8192 pages, half of them writes, in 64 Ki-record chunks (seeded mulberry32:
 * consecutive values independent, as an LCG's are not).
 */
export function hotColdTrace(n: number, seed: number): TraceChunk[] {
  const words = new Uint32Array(n * 2);
  let st = seed;
  const rnd = () => {
    let t = (st = (st + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  for (let i = 0; i < n; i++) {
    const page = rnd() % 1000 < 995 ? rnd() % 48 : rnd() % 8192;
    packRecord(words, i, 0x10_0000_0000 + page * 4096 + (rnd() & 0xff8), rnd() & 1, 8);
  }
  const chunks: TraceChunk[] = [];
  for (let o = 0; o < n; o += 65536) chunks.push({ words: words.subarray(o * 2, Math.min(n, o + 65536) * 2), count: Math.min(65536, n - o) });
  return chunks;
}
