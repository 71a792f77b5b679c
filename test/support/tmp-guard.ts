/**
 * vitest's global setup: the whole run gets a temporary folder of its own (TMPDIR, which
 * os.tmpdir() and every child process read), listed before and after. Anything a test left
 * there fails the run, named, and is removed: every test must remove what it creates, even
 * when it fails (test/support/temp-dir.ts helps). Runs of other worktrees on the same machine
 * share /tmp; a folder of our own keeps their files out of the count.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const outer = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), 'vmsim-test-run-'));
  process.env.TMPDIR = dir;
  const before = readdirSync(dir);
  return () => {
    const left = readdirSync(dir).filter((f) => !before.includes(f));
    rmSync(dir, { recursive: true, force: true });
    if (outer === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = outer;
    if (left.length > 0) throw new Error(`the tests left ${left.length} file(s) in the temporary folder: ${left.sort().join(', ')}`);
  };
}
