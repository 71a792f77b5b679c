/** Where the installed package is and what version it is (for the addon, --version and the shipped trace). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The directory holding vmsim's package.json and binding.gyp, found by walking up (src/, dist/, dist/cjs/ and dist-bench/ layouts differ). */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'binding.gyp')) && existsSync(join(dir, 'package.json'))) return (root = dir);
    dir = dirname(dir);
  }
  throw new Error('vmsim: cannot find the package root (binding.gyp) above ' + fileURLToPath(import.meta.url));
}

/** The version in vmsim's package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** The trace that ships with the package, as a path to type from the current directory (relative when inside it). */
export function shippedTracePath(): string {
  const abs = join(packageRoot(), 'traces', 'ls.lackey.gz');
  const cwd = process.cwd();
  return abs.startsWith(cwd + '/') ? abs.slice(cwd.length + 1) : abs;
}
