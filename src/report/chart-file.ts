/** Where a chart goes: the format follows the file's name (.svg or .png), checked before any work; PNG is rendered from the SVG. */
import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { svgToPng } from './png.js';

/** The formats a chart file may have. */
export type ChartFormat = 'svg' | 'png';

/**
 * The format of chart file `path` by its name; throws an Error saying why it cannot be written
 * (another extension, a missing directory, a directory in its place, no write permission).
 */
export function chartFormat(path: string): ChartFormat {
  const ext = extname(path).toLowerCase();
  if (ext !== '.svg' && ext !== '.png') throw new Error(`must end in .svg or .png (the format follows the name)${ext ? `, not ${ext}` : ''}`);
  checkWritable(path);
  return ext === '.png' ? 'png' : 'svg';
}

/** Throws an Error saying why a file could not be created or replaced at `path` (no directory, a directory in its place, no permission). */
export function checkWritable(path: string): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`directory ${dirname(path)} does not exist`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new Error('is a directory');
  try {
    accessSync(existsSync(path) ? path : dir, constants.W_OK);
  } catch {
    throw new Error('is not writable');
  }
}

/** Writes `svg` to `path` as SVG, or as a PNG rendered at twice its size when the name ends in .png. */
export function writeChart(path: string, svg: string): void {
  writeFileSync(path, extname(path).toLowerCase() === '.png' ? svgToPng(svg) : svg);
}
