import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// What a new user gets: the package is packed (`npm pack`, which runs prepack = prebuildify and
// prepare = the TypeScript build) from a copy of the sources, and the tarball is installed
// offline (from npm's cache, filled by `npm ci`) into a fresh project on a PATH that has node,
// npm and sh but no compiler, make or python; CC/CXX are `false`. Then it is used as users do.
const repo = resolve('.');
const work = mkdtempSync(join(tmpdir(), 'vmsim-pack-'));
const project = join(work, 'project');
const bin = join(work, 'bin');
let tarball = '';

function which(cmd: string): string {
  return realpathSync(execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim());
}

/** Environment without a compiler: only node, npm and sh on PATH. */
function noCompilerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: bin, CC: 'false', CXX: 'false', npm_config_build_from_source: 'false' };
  for (const k of Object.keys(env)) if (k.startsWith('npm_') && k !== 'npm_config_build_from_source' && k !== 'npm_config_cache') delete env[k];
  delete env.NODE_OPTIONS;
  delete env.VITEST;
  return env;
}

function run(cmd: string, args: string[], cwd = project): SpawnSyncReturns<string> {
  return spawnSync(cmd.includes('/') ? resolve(cwd, cmd) : join(bin, cmd), args, { cwd, env: noCompilerEnv(), encoding: 'utf8', timeout: 120_000 });
}

function ok(r: SpawnSyncReturns<string>): string {
  if (r.status !== 0) throw new Error(`exit ${r.status} ${r.error?.message ?? ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

interface LockEntry {
  version: string;
  dev?: boolean;
  [k: string]: unknown;
}

/**
 * The fresh project depends on the tarball, typescript and @types/node. Its lockfile takes their
 * resolved versions and integrities from the repository's, so `npm ci --offline` installs from the
 * tarballs that `npm ci` put in npm's cache: no network, nothing that can hang.
 */
function writeProject(): void {
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const tools = ['node_modules/typescript', 'node_modules/@types/node', 'node_modules/undici-types'];
  const self = lock.packages['']! as LockEntry & { dependencies: Record<string, string> };
  const packages: Record<string, LockEntry> = {};
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || (entry.dev && !tools.includes(path))) continue;
    const { dev: _dev, devOptional: _devOptional, ...rest } = entry;
    // This repository's lockfile omits `resolved`; with the registry URL npm finds the cached tarball by integrity.
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    rest.resolved ??= `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${entry.version}.tgz`;
    packages[path] = rest as LockEntry;
  }
  const deps = { vmsim: `file:${tarball}`, typescript: lock.packages['node_modules/typescript']!.version, '@types/node': lock.packages['node_modules/@types/node']!.version };
  const bin = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin;
  packages['node_modules/vmsim'] = { version: self.version as string, resolved: `file:${tarball}`, hasInstallScript: true, license: 'MIT', dependencies: self.dependencies, bin };
  const pkg = { name: 'fresh-project', version: '1.0.0', private: true, dependencies: deps };
  writeFileSync(join(project, 'package.json'), JSON.stringify(pkg, null, 2));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify({ name: pkg.name, version: pkg.version, lockfileVersion: 3, requires: true, packages: { '': pkg, ...packages } }, null, 2));
}

beforeAll(() => {
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  symlinkSync(which('npm'), join(bin, 'npm'));
  symlinkSync(which('sh'), join(bin, 'sh'));
  // Pack from a copy: packing rebuilds dist/ and build/, which the other test files use meanwhile.
  const src = join(work, 'src');
  mkdirSync(src);
  for (const f of ['package.json', 'package-lock.json', 'binding.gyp', 'tsconfig.json', 'tsconfig.build.json', 'typedoc.json', 'LICENSE', 'README.md', 'CHANGELOG.md', 'src', 'native', 'scripts', 'docs', 'traces', 'web']) {
    cpSync(join(repo, f), join(src, f), { recursive: true });
  }
  symlinkSync(join(repo, 'node_modules'), join(src, 'node_modules'));
  // prebuildify (prepack) makes a folder in TMPDIR for node-gyp: this test's own, removed with it.
  mkdirSync(join(work, 'tmp'));
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: src, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error', TMPDIR: join(work, 'tmp') } });
  tarball = join(work, packed.trim().split('\n').pop()!);
  mkdirSync(project);
  writeProject();
  ok(run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error']));
}, 240_000);

afterAll(() => {
  if (!process.env.VMSIM_KEEP_PACK_TEST) rmSync(work, { recursive: true, force: true });
  // The installed project is some thousand files (the queue's client included): removing them can outlast the default 10 s on a busy disk.
}, 60_000);

describe('the packed package, installed where no compiler is', () => {
  it('ships a LICENSE, a CHANGELOG, the API reference, the linux-x64 prebuild and declarations without @internal members, and no source maps', () => {
    const list = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(list).toContain('package/LICENSE');
    expect(list).toContain('package/CHANGELOG.md');
    expect(list).toContain('package/docs/api/index.html');
    expect(list).toContain('package/docs/api/classes/Machine.html');
    expect(list).toContain('package/prebuilds/linux-x64/vmsim.node');
    expect(list).toContain('package/dist/cjs/index.js');
    expect(list.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(list.filter((f) => f.startsWith('package/test/') || f.startsWith('package/src/') || f.startsWith('package/web/src/'))).toEqual([]);
    expect(list).toContain('package/web/dist/index.html'); // the teaching page, for vmsim serve
    // One copy of the library: the CommonJS build, and three thin entries over it.
    expect(list.filter((f) => f.startsWith('package/dist/') && !f.startsWith('package/dist/cjs/')).sort()).toEqual(['package/dist/cli/main.js', 'package/dist/index.d.ts', 'package/dist/index.js']);
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules/vmsim/package.json'), 'utf8')) as { keywords?: string[]; repository?: unknown };
    expect(pkg.keywords).toEqual(expect.arrayContaining(['tlb', 'page-table', 'virtual-memory']));
    const dts = readFileSync(join(project, 'node_modules/vmsim/dist/cjs/system/machine.d.ts'), 'utf8');
    expect(dts).toContain('createAddressSpace');
    expect(dts).not.toMatch(/\bcore: Core\b|@internal/);
    expect(existsSync(join(project, 'node_modules/vmsim/build'))).toBe(false); // the prebuild loaded: nothing was compiled
  });

  const script = (load: string) => `${load}
const m = new Machine({ memory: '64MiB' });
const p = m.createAddressSpace();
const buf = p.mmap({ length: 8192, prot: 'rw' });
p.write(buf, [7, 8, 9]);
const child = p.fork();
child.write(buf, [1]);
replay(process.argv[2], { tlb: { entries: 64 } }).then(async (r) => {
  // sweep's worker threads load the worker module of the same kind (ESM or CommonJS).
  const rows = await sweep(process.argv[2], [{ tlb: { entries: 16 } }, { tlb: { entries: 64 } }], { jobs: 2 });
  console.log(JSON.stringify({ parent: p.read(buf, 1)[0], child: child.read(buf, 1)[0], native: nativeAvailable(), backend: r.backend, accesses: r.accesses, swept: rows.map((row) => row.result.accesses) }));
});
`;

  it('loads with import (ESM) and require (CommonJS), on the native backend', () => {
    const trace = join(project, 'node_modules/vmsim/traces/ls.lackey.gz');
    writeFileSync(join(project, 'esm.mjs'), script("import { Machine, replay, sweep, nativeAvailable } from 'vmsim';"));
    writeFileSync(join(project, 'cjs.cjs'), script("const { Machine, replay, sweep, nativeAvailable } = require('vmsim');"));
    const esm = JSON.parse(ok(run('node', ['esm.mjs', trace])));
    const cjs = JSON.parse(ok(run('node', ['cjs.cjs', trace])));
    expect(esm).toEqual({ parent: 7, child: 1, native: true, backend: 'native', accesses: expect.any(Number), swept: [esm.accesses, esm.accesses] });
    expect(esm.accesses).toBeGreaterThan(100_000);
    expect(cjs).toEqual(esm);
  });

  it('is one copy however it is loaded: instanceof holds across import and require, both ways', () => {
    // An ES module that also requires vmsim, and a CommonJS module that also imports it.
    const check = `
const same = esm.VmmError === cjs.VmmError && esm.Machine === cjs.Machine && esm.replay === cjs.replay;
const caught = (f) => { try { f(); } catch (e) { return e; } };
// Thrown by one entry's class, tested with the other's (the README's example relies on it).
const fromEsm = caught(() => new esm.Machine({ memory: 'lots' }));
const fromCjs = caught(() => new cjs.Machine({ memory: 'lots' }));
const m = new cjs.Machine({ memory: '64MiB' });
const space = m.createAddressSpace();
const segv = caught(() => space.read(0x1000, 1));
console.log(JSON.stringify({ same, esmToCjs: fromEsm instanceof cjs.VmmError, cjsToEsm: fromCjs instanceof esm.VmmError, code: fromCjs.code, segv: segv instanceof esm.SegmentationFault, keys: Object.keys(esm).length === Object.keys(cjs).length }));
`;
    writeFileSync(join(project, 'both.mjs'), `import * as esm from 'vmsim';\nimport { createRequire } from 'node:module';\nconst cjs = createRequire(import.meta.url)('vmsim');\n${check}`);
    writeFileSync(join(project, 'both.cjs'), `const cjs = require('vmsim');\nimport('vmsim').then((esm) => {\n${check}\n});`);
    const expected = { same: true, esmToCjs: true, cjsToEsm: true, code: 'EINVAL', segv: true, keys: true };
    expect(JSON.parse(ok(run('node', ['both.mjs'])))).toEqual(expected);
    expect(JSON.parse(ok(run('node', ['both.cjs'])))).toEqual(expected);
  });

  it('type-checks strict TypeScript of both module kinds against the published types, and runs it', () => {
    const program = (load: string) => `${load}
const m = new Machine({ memory: '64MiB', backend: 'auto' });
const p = m.createAddressSpace();
const addr: Address = p.mmap({ length: 4096, prot: 'rw', name: 'buf' });
p.write(addr, [1]);
const regions: readonly Region[] = p.regions();
const stats: SpaceStats = p.stats();
const faults: FaultCounters = stats.faults;
const opts: AddressSpaceOptions = { faults: 'vmm' };
const shm: SharedMemoryObject = m.createSharedMemory('x', 4096);
const ro: RegionOptions | undefined = undefined;
const ts: TraceStats | undefined = undefined;
let refused = false;
try {
  new Machine({ memory: 'lots' });
} catch (e) {
  // The README's check: the error's class, narrowed to its code.
  if (e instanceof VmmError) refused = e.code === 'EINVAL';
}
const ac = new AbortController();
ac.abort();
const aborted: Promise<ReplayResult | string> = replay(new Uint8Array(0), { signal: ac.signal }).catch((e: Error) => e.name);
aborted.then((name) => console.log(JSON.stringify({ regions: regions.length > 0, minor: faults.minor, shm: shm.size, opts: opts.faults, ro, ts, refused, name })));
`;
    const types = 'Machine, VmmError, replay, type ReplayResult, type Address, type Region, type SpaceStats, type FaultCounters, type AddressSpaceOptions, type SharedMemoryObject, type RegionOptions, type TraceStats';
    writeFileSync(join(project, 'esm.mts'), program(`import { ${types} } from 'vmsim';`));
    writeFileSync(join(project, 'cjs.cts'), program(`import { ${types} } from 'vmsim';`));
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, module: 'nodenext', target: 'es2022', skipLibCheck: false, noEmitOnError: true, outDir: 'out', types: ['node'] }, files: ['esm.mts', 'cjs.cts'] }),
    );
    ok(run('node', ['node_modules/typescript/bin/tsc', '-p', '.']));
    expect(readFileSync(join(project, 'out/cjs.cjs'), 'utf8')).toMatch(/require\("vmsim"\)/);
    const esm = JSON.parse(ok(run('node', ['out/esm.mjs'])));
    expect(esm).toEqual({ regions: true, minor: 1, shm: 4096, opts: 'vmm', refused: true, name: 'AbortError' });
    expect(JSON.parse(ok(run('node', ['out/cjs.cjs'])))).toEqual(esm);
  });

  it('runs the vmsim command, whose help example works as printed', () => {
    const version = ok(run('node_modules/.bin/vmsim', ['--version']));
    expect(version).toMatch(/^vmsim \d+\.\d+\.\d+\nbackend: native \(prebuilds\/linux-x64\/vmsim\.node\)/);
    const help = ok(run('node_modules/.bin/vmsim', ['--help']));
    const example = /try one: +vmsim (replay \S+)/.exec(help)![1]!.split(' ');
    const r = JSON.parse(ok(run('node_modules/.bin/vmsim', [...example, '--json'])));
    expect(r.backend).toBe('native');
    expect(r.accesses).toBeGreaterThan(100_000);
  });

  it('still installs without a prebuild for the platform, and runs on the js backend, saying so', () => {
    const pkg = join(project, 'node_modules/vmsim');
    renameSync(join(pkg, 'prebuilds'), join(pkg, 'prebuilds.off'));
    try {
      const install = run('node', ['scripts/install.cjs'], pkg);
      expect(install.status).toBe(0);
      expect(install.stderr).toMatch(/vmsim will use its js backend/);
      expect(ok(run('node_modules/.bin/vmsim', ['--version']))).toMatch(/backend: js — the native addon did not load/);
      const trace = join(pkg, 'traces/ls.lackey.gz');
      expect(JSON.parse(ok(run('node', ['cjs.cjs', trace])))).toMatchObject({ parent: 7, child: 1, native: false, backend: 'js' });
    } finally {
      rmSync(join(pkg, 'build'), { recursive: true, force: true });
      renameSync(join(pkg, 'prebuilds.off'), join(pkg, 'prebuilds'));
    }
    expect(readdirSync(join(pkg, 'prebuilds'))).toEqual(['linux-x64']);
  });
});
