#!/usr/bin/env bash
# The native test files against an ASan + UBSan build of the same native sources (docs/sanitizers.md).
# Builds into build-sanitize/ (the normal build/ stays as it is), then runs vitest with the
# sanitizer runtimes preloaded into node. Exits non-zero on any sanitizer report or test failure.
# Run through npm (`npm run test:sanitize`), which puts node-gyp on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build-sanitize
mkdir -p "$dir"
cp binding.gyp "$dir/binding.gyp"
ln -sfn ../native "$dir/native"
(cd "$dir" && node-gyp rebuild --loglevel=warn -- -Dsanitize=1 >/dev/null)
export VMSIM_NATIVE_ADDON="$PWD/$dir/build/Release/vmsim_native.node"
# node is not instrumented, so the runtimes must be loaded first; gcc knows where they are.
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
# Node's own allocations live until exit: leak reports would be about node, not the addon.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1:exitcode=86"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87"
# V8's WebAssembly trap handler takes SIGSEGV first and would swallow ASan's report.
export NODE_OPTIONS="--disable-wasm-trap-handler"
# The fuzz test without its state snapshots (ASan checks the memory; snapshots are slow under it).
export VMSIM_FUZZ_LIGHT=1
files=(${VMSIM_SANITIZE_FILES:-test/core test/machine test/vmm/vmm-property.test.ts test/vmm/bad-inputs.test.ts test/replay/replay.test.ts test/soak})
exec npx vitest run "${files[@]}"
