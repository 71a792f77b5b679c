// Builds dist/ from tsc's ES module output (dist/.tsc, tsconfig.build.json): ONE copy of the
// library, in CommonJS (dist/cjs/), and thin ES module entries over it, so that `import` and
// `require` load the same modules: one VmmError class (`instanceof` holds across the two), one
// addon load, one machine registry. (Node 20 cannot require() an ES module, so the shared copy
// must be the CommonJS one.)
//
//   dist/cjs/**          every module, transformed on its own by esbuild (no bundle), so relative
//                        paths (the sweep worker, the package root that holds the addon) stay as
//                        they are; import.meta.url becomes the file's URL. Declarations beside them
//                        (under dist/cjs/package.json {"type":"commonjs"} TypeScript reads them as CommonJS).
//   dist/index.js        the `import` entry: the CommonJS entry's exports, re-exported by name.
//   dist/index.d.ts      `export * from './cjs/index.js'`: the same declarations, so both module
//                        kinds see the same types.
//   dist/cli/main.js     the vmsim command: runs dist/cjs/cli/main.js as the program.
import { readdirSync, readFileSync, writeFileSync, mkdirSync, copyFileSync, rmSync, existsSync, chmodSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { transformSync } from 'esbuild';

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const dist = join(root, 'dist');
const tsc = join(dist, '.tsc');
const out = join(dist, 'cjs');
if (!existsSync(join(tsc, 'index.js'))) throw new Error(`build-cjs: ${relative(root, tsc)}/index.js is missing: run tsc -p tsconfig.build.json first (npm run build:ts does both)`);
// Everything but tsc's output is rebuilt: no module of an earlier build survives.
for (const e of readdirSync(dist)) if (e !== '.tsc') rmSync(join(dist, e), { recursive: true, force: true });

function* files(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else yield p;
  }
}

let n = 0;
for (const file of files(tsc)) {
  const target = join(out, relative(tsc, file));
  mkdirSync(dirname(target), { recursive: true });
  if (file.endsWith('.d.ts')) {
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
rmSync(tsc, { recursive: true, force: true });

// The ES module entry names every export of the CommonJS entry (read from the module itself, so it cannot drift).
const names = Object.keys(createRequire(import.meta.url)(join(out, 'index.js'))).sort();
const bad = names.filter((k) => !/^[A-Za-z_$][\w$]*$/.test(k) || k === 'default');
if (bad.length > 0) throw new Error(`build-cjs: exports that an ES module cannot re-export by name: ${bad.join(', ')}`);
const header = "// vmsim's ES module entry: the CommonJS build's exports (dist/cjs), so that `import` and\n// `require` share one copy of the library (one VmmError class, one addon). Built by scripts/build-cjs.mjs.\n";
writeFileSync(join(dist, 'index.js'), `${header}import vmsim from './cjs/index.js';\n\nexport const {\n${names.map((k) => `  ${k},`).join('\n')}\n} = vmsim;\n`);
writeFileSync(join(dist, 'index.d.ts'), `${header}export * from './cjs/index.js';\n`);
mkdirSync(join(dist, 'cli'));
const cli = join(dist, 'cli', 'main.js');
writeFileSync(
  cli,
  `#!/usr/bin/env node
// The vmsim command: the CommonJS build's CLI (one copy of the library), run as the program —
// it runs only when it is process.argv[1], as \`node dist/cjs/cli/main.js\` would make it.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../cjs/cli/main.js', import.meta.url));
process.argv[1] = main;
createRequire(import.meta.url)(main);
`,
);
chmodSync(cli, 0o755);
console.log(`dist/cjs: ${n} CommonJS modules; dist/index.js re-exports ${names.length} names`);
