/** Builds a C probe of test/vmm/linux/ with the system compiler and runs it: its JSON, or undefined without a compiler (the test then skips). */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { withTempDir } from './temp-dir.js';

/**
 * The parsed JSON the probe `name`.c prints, or undefined when it cannot be built or run, or
 * reports an error. With `workDir` the probe gets a fresh directory (inside the build's
 * temporary directory, removed afterwards) as its first argument.
 */
export function runLinuxProbe<T>(name: string, options: { workDir?: boolean } = {}): T | undefined {
  try {
    return withTempDir(name, (dir) => {
      const exe = join(dir, name);
      execFileSync('cc', ['-O2', '-o', exe, join(import.meta.dirname, '..', 'vmm', 'linux', `${name}.c`)], { stdio: 'pipe' });
      const args: string[] = [];
      if (options.workDir) {
        const work = join(dir, 'work');
        mkdirSync(work);
        args.push(work);
      }
      const out = JSON.parse(execFileSync(exe, args, { encoding: 'utf8', timeout: 60_000 })) as T & { error?: string };
      return out.error ? undefined : out;
    });
  } catch {
    return undefined;
  }
}
