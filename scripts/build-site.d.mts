/** Builds the teaching page into `outDir` (default web/dist): web/dist/index.html, one self-contained file. */
export function buildSite(options?: { outDir?: string; minify?: boolean }): Promise<{ file: string; bytes: number; gzipBytes: number; inputs: string[] }>;
