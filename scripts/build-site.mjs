// Builds the teaching page (web/) into one self-contained file, web/dist/index.html: the page's
// code and the library's pure-TS backend bundled by esbuild, its CSS, no network at run time.
// The library is bundled from its own sources; the few modules that touch Node are resolved to
// the browser's stand-ins in web/host/ (see web/host/README.md); any other node: import fails
// the build, so nothing of Node can slip into the bundle unseen.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'web');
const host = join(web, 'host');

/** node: modules the library's machine path imports, and where the browser's versions live. */
const NODE_SHIMS = { 'node:zlib': 'node-zlib.ts', 'node:fs': 'node-fs.ts', 'node:os': 'node-os.ts', 'node:path': 'node-path.ts', 'node:buffer': 'node-buffer.ts' };

const browserHost = {
  name: 'vmsim-browser-host',
  setup(b) {
    // The addon loader: the browser has no addon (createCore('auto') then picks the js core).
    const nativeUsers = [join('src', 'core', 'create-core.ts'), join('src', 'reclaim', 'swap-lock.ts'), join('src', 'snapshot', 'core-image.ts'), join('src', 'system', 'machine.ts')];
    b.onResolve({ filter: /\/native-core\.js$/ }, (a) => (nativeUsers.some((u) => a.importer.endsWith(u)) ? { path: join(host, 'native-core.ts') } : undefined));
    // Snapshot files: a page has no files (machine.save and Machine.load refuse, ENOSYS).
    b.onResolve({ filter: /\/snapshot-file\.js$/ }, (a) => (a.importer.endsWith(join('src', 'system', 'machine.ts')) ? { path: join(host, 'snapshot-file.ts') } : undefined));
    b.onResolve({ filter: /^node:/ }, (a) => {
      const shim = NODE_SHIMS[a.path];
      if (shim) return { path: join(host, shim) };
      return { errors: [{ text: `${a.path} (imported by ${a.importer.slice(root.length + 1)}) has no place in the browser bundle: import the page's library modules by a narrower entry point` }] };
    });
  },
};

/**
 * Builds the page into `outDir` (default web/dist); returns the file's path and its sizes.
 * `minify` false keeps names readable (tests that read the bundle's code).
 */
export async function buildSite({ outDir = join(web, 'dist'), minify = true } = {}) {
  const result = await build({
    entryPoints: [join(web, 'src', 'main.ts')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    minify,
    // Snapshots register classes by name (src/snapshot/class-registry.ts): minified names would collide.
    keepNames: true,
    write: false,
    legalComments: 'eof',
    inject: [join(host, 'shared-array-buffer.ts')],
    plugins: [browserHost],
    logLevel: 'silent',
    metafile: true,
  });
  const js = result.outputFiles[0].text.replace(/<\/script/gi, '<\\/script');
  const css = readFileSync(join(web, 'src', 'style.css'), 'utf8');
  const script = `\n${js}\n`;
  // The page allows exactly its own inline script and style, and no connection of any kind.
  const sha = (s) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
  const csp = `default-src 'none'; script-src ${sha(script)}; style-src ${sha(css)}; img-src data:; base-uri 'none'; form-action 'none'`;
  const html = readFileSync(join(web, 'src', 'index.html'), 'utf8')
    .replace('%CSP%', csp)
    .replace('<style></style>', () => `<style>${css}</style>`)
    .replace('<script></script>', () => `<script>${script}</script>`);
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'index.html');
  writeFileSync(file, html);
  const inputs = Object.keys(result.metafile.inputs);
  return { file, bytes: Buffer.byteLength(html), gzipBytes: gzipSync(html, { level: 9 }).length, inputs };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await buildSite();
  console.log(`${r.file.slice(root.length + 1)}: ${(r.bytes / 1024).toFixed(1)} KiB, ${(r.gzipBytes / 1024).toFixed(1)} KiB gzipped (${r.inputs.length} modules)`);
}
