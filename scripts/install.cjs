// npm's install step: load the prebuilt addon for this platform, or build it from source
// (node-gyp-build does both); when neither works the install still succeeds, because vmsim
// runs on its pure-TS backend with identical results. `vmsim --version` says which is in use.
'use strict';
const { spawnSync } = require('node:child_process');

const bin = require.resolve('node-gyp-build/bin.js');
const r = spawnSync(process.execPath, [bin], { stdio: 'inherit' });
if (r.status !== 0) {
  process.stderr.write(
    'vmsim: no prebuilt native addon for ' + process.platform + '-' + process.arch +
      ' and building it failed (is a C++ compiler installed?); vmsim will use its js backend (same results, slower).\n',
  );
}
process.exit(0);
