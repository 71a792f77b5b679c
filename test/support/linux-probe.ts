/** Builds a C probe of test/vmm/linux/ with the system compiler and runs it: its JSON, or undefined without a compiler (the test then skips). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The parsed JSON the probe `name`.c prints, or undefined when it cannot be built or run, or
 * reports an error. With `workDir` the probe gets a fresh directory (inside the build's
 * temporary directory) as its first argument. The temporary directory is removed afterwards.
 */
export function runLinuxProbe<T>(name: string, options: { workDir?: boolean } = {}): T | undefined {
  const dir = mkdtempSync(join(tmpdir(), `vmsim-${name}-`));
  try {
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
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
