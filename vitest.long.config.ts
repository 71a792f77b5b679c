import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// `npm run test:long` (CI runs it after `npm test`): the long runs. VMSIM_LONG=1 raises the
// counts (test/property-options.ts), and the suite is
//   - the long-only files, test/**/*.long.test.ts (packing and installing the package, typedoc);
//   - every test file that runs shorter under `npm test`: one that gives propertyOptions a quick
//     count (`propertyOptions(400, 100)`) or reads LONG — found here, so a new one joins by itself.
function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : []));
}
const SHORTENED = /propertyOptions\([^()]*,[^()]*\)|\bLONG\b/;
const scaled = testFiles('test').filter((f) => !f.endsWith('.long.test.ts') && SHORTENED.test(readFileSync(f, 'utf8')));

export default defineConfig({
  test: {
    pool: 'forks',
    setupFiles: ['test/support/yield-between-tests.ts'],
    include: ['test/**/*.long.test.ts', ...scaled],
    env: { VMSIM_LONG: '1' },
    globalSetup: ['test/support/tmp-guard.ts'],
    testTimeout: 240_000,
  },
});
