// Before the tests: a native addon built from source that is older than native/ or binding.gyp
// is rebuilt. node-gyp-build (npm ci's install step) loads whatever build/Release holds, so
// after pulling C++ changes the tests would otherwise run the old addon. A fresh clone's
// build (made by npm ci) is newer than its sources, so CI never rebuilds here.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const addon = path.join(root, 'build', 'Release', 'vmsim_native.node');
if (!fs.existsSync(addon)) process.exit(0); // no source build: node-gyp-build uses a prebuild or the js backend
const built = fs.statSync(addon).mtimeMs;
const sources = [path.join(root, 'binding.gyp'), ...fs.readdirSync(path.join(root, 'native')).map((f) => path.join(root, 'native', f))];
const stale = sources.filter((f) => fs.statSync(f).mtimeMs > built);
if (stale.length === 0) process.exit(0);
process.stderr.write(`vmsim: the native addon is older than ${path.relative(root, stale[0])}${stale.length > 1 ? ` and ${stale.length - 1} more` : ''}: rebuilding it (npm run build:native)\n`);
const r = spawnSync('npm', ['run', 'build:native'], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
