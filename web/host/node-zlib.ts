/** node:zlib's raw DEFLATE for zswap, from pako (a port of zlib: the same bytes as Node's zlib at the same level). */
import { deflateRaw, inflateRaw } from 'pako';

/** Compresses with raw DEFLATE (zswap asks for level 1). */
export function deflateRawSync(data: Uint8Array, options: { level?: number } = {}): Uint8Array {
  return deflateRaw(data, { level: (options.level ?? 6) as 1 });
}

/** Decompresses raw DEFLATE. */
export function inflateRawSync(data: Uint8Array): Uint8Array {
  return inflateRaw(data);
}
