// Builds dist/cjs: the CommonJS twin of tsc's ES module output in dist/, for require('vmsim').
// Each module is transformed on its own (no bundle), so relative paths (the sweep worker, the
// package root that holds the addon) stay as they are; import.meta.url becomes the file's URL.
import { readdirSync, readFileSync, writeFileSync, mkdirSync, copyFileSync, rmSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { transformSync } from 'esbuild';

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const dist = join(root, 'dist');
const out = join(dist, 'cjs');
rmSync(out, { recursive: true, force: true });

function* files(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (p !== out) yield* files(p);
    } else yield p;
  }
}

let n = 0;
for (const file of files(dist)) {
  const target = join(out, relative(dist, file));
  mkdirSync(dirname(target), { recursive: true });
  if (file.endsWith('.d.ts')) {
    // The same declarations: under dist/cjs/package.json ("commonjs") TypeScript reads them as CommonJS.
    copyFileSync(file, target);
  } else if (file.endsWith('.js')) {
    const code = readFileSync(file, 'utf8').replace(/^#!.*\n/, '');
    const r = transformSync(code, {
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      define: { 'import.meta.url': '__vmsimModuleUrl' },
      banner: code.includes('import.meta.url') ? 'const __vmsimModuleUrl = require("node:url").pathToFileURL(__filename).href;' : '',
      sourcefile: relative(root, file),
    });
    writeFileSync(target, r.code);
    n++;
  }
}
writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'commonjs' }) + '\n');
console.log(`dist/cjs: ${n} CommonJS modules`);
