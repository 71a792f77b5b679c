/**
 * Temporary directories of tests, removed whatever happens: `tempDir` inside a test (removed
 * when the test finishes, passed or failed), `fileTempDir` at a file's top level (removed
 * after its last test). Both live under os.tmpdir(), which `npm test` points at a private
 * folder that must be empty at the end (test/support/tmp-guard.ts).
 */
import { afterAll, onTestFinished } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function make(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `vmsim-${prefix}-`));
}

/** A fresh directory for the running test, removed when it finishes (even when it fails). */
export function tempDir(prefix: string): string {
  const dir = make(prefix);
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs `f` with a fresh directory and removes it after, whatever happens (for work outside a test: a probe built and run at load time). */
export function withTempDir<T>(prefix: string, f: (dir: string) => T): T {
  const dir = make(prefix);
  try {
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh directory for a whole test file (call it at the top level or in a describe), removed after the file's tests. */
export function fileTempDir(prefix: string): string {
  const dir = make(prefix);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
