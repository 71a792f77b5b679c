/** The temporary-directory helpers remove what they made even when the test fails or the work throws. */
import { describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { tempDir, withTempDir } from './temp-dir.js';

describe('temporary directories of tests', () => {
  let made = '';
  it.fails('a test that fails (this one, on purpose) ...', () => {
    made = tempDir('failing');
    writeFileSync(join(made, 'f'), 'x');
    expect(made.startsWith(tmpdir())).toBe(true);
    throw new Error('the test fails');
  });

  it('... still has its directory removed', () => {
    expect(made).not.toBe('');
    expect(existsSync(made)).toBe(false);
  });

  it('withTempDir removes its directory when the work throws', () => {
    let dir = '';
    expect(() =>
      withTempDir('throws', (d) => {
        dir = d;
        writeFileSync(join(d, 'f'), 'x');
        throw new Error('no');
      }),
    ).toThrow('no');
    expect(existsSync(dir)).toBe(false);
    expect(withTempDir('value', (d) => existsSync(d))).toBe(true);
  });
});
