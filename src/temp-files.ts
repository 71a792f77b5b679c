/**
 * Temporary files and directories in use (a conversion's output before its rename, a sweep's
 * binary copy), so that a command interrupted by Ctrl-C or SIGTERM removes them: the command
 * installs the signal handlers (a library must not), the library only records what exists.
 */
import { rmSync } from 'node:fs';

const live = new Set<string>();

/** Records `path` as a temporary that must not outlive the process. */
export function trackTemp(path: string): void {
  live.add(path);
}

/** Forgets `path` (removed or renamed into place). */
export function untrackTemp(path: string): void {
  live.delete(path);
}

/** Removes every recorded temporary now, synchronously (signal handlers cannot wait); returns how many. */
export function removeTrackedTemps(): number {
  let n = 0;
  for (const p of live) {
    rmSync(p, { recursive: true, force: true });
    n++;
  }
  live.clear();
  return n;
}
