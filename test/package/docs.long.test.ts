import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';

describe('npm run docs', () => {
  it('builds the API reference from the TSDoc comments without a warning (broken link, unexported type)', () => {
    const r = spawnSync(process.execPath, ['node_modules/typedoc/bin/typedoc', '--emit', 'none', '--treatWarningsAsErrors'], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).not.toMatch(/\[warning\]|\[error\]/);
    expect(r.status).toBe(0);
  });
});
