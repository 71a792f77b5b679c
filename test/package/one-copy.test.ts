/**
 * One copy of the library however it is loaded: the built ES module entry (dist/index.js) is a
 * thin wrapper over the CommonJS build (dist/cjs), so `import` and `require` in one process give
 * the same classes and functions. Runs on dist/ (built by `npm test` first); the packed package
 * is checked the same way in a consumer project by pack-install.long.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';

const dist = resolve('dist');

function node(kind: 'mjs' | 'cjs', source: string): unknown {
  const r = spawnSync(process.execPath, [`--input-type=${kind === 'mjs' ? 'module' : 'commonjs'}`, '-e', source], { encoding: 'utf8', timeout: 30_000 });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

const CHECK = `
const names = Object.keys(cjs).sort();
const differ = names.filter((k) => esm[k] !== cjs[k]);
const caught = (f) => { try { f(); } catch (e) { return e; } };
const e1 = caught(() => new esm.Machine({ memory: 'lots' }));
const e2 = caught(() => new cjs.Machine({ memory: 'lots' }));
console.log(JSON.stringify({ esmNames: Object.keys(esm).sort().join(), cjsNames: names.join(), differ, crossed: e1 instanceof cjs.VmmError && e2 instanceof esm.VmmError, code: e1.code }));
`;

describe('the built entries', () => {
  it('import and require share every export (instanceof VmmError holds across them), both ways round', () => {
    const fromEsm = node('mjs', `import * as esm from ${JSON.stringify(`${dist}/index.js`)};\nimport { createRequire } from 'node:module';\nconst cjs = createRequire(import.meta.url)(${JSON.stringify(`${dist}/cjs/index.js`)});\n${CHECK}`);
    const fromCjs = node('cjs', `const cjs = require(${JSON.stringify(`${dist}/cjs/index.js`)});\nimport(${JSON.stringify(`${dist}/index.js`)}).then((esm) => {\n${CHECK}\n});`);
    for (const r of [fromEsm, fromCjs] as Array<{ esmNames: string; cjsNames: string; differ: string[]; crossed: boolean; code: string }>) {
      expect(r.esmNames).toBe(r.cjsNames);
      expect(r.cjsNames.split(',')).toEqual(expect.arrayContaining(['Machine', 'VmmError', 'replay', 'sweep', 'faultCurve']));
      expect(r.differ).toEqual([]);
      expect(r.crossed).toBe(true);
      expect(r.code).toBe('EINVAL');
    }
  });

  it('hold no second copy: outside dist/cjs only the entries over it', () => {
    const top = readdirSync(dist).sort();
    expect(top).toEqual(['cjs', 'cli', 'index.d.ts', 'index.js']);
    expect(readdirSync(resolve(dist, 'cli'))).toEqual(['main.js']);
  });
});
