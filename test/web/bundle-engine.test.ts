/**
 * The page's engine is the library: the same inputs give the same numbers in the browser bundle
 * (js backend, pako for zswap) as in Node (native backend when it loads, node:zlib).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { HAVE_CHROMIUM, NO_CHROMIUM, openPage, type PageRig } from '../support/browser.js';
import { runReferenceString } from '../../src/replay/reference-run.js';
import { POLICY_NAMES } from '../../src/reclaim/registry.js';
import { nativeAvailable } from '../../src/core/native-core.js';
import { parseScript } from '../../web/src/engine/script.js';
import { ProcessLab } from '../../web/src/engine/process-lab.js';
import { frameUses } from '../../web/src/engine/memory-map.js';
import * as browserZlib from '../../web/host/node-zlib.js';
import { cpuScriptArb } from '../support/cpu-scripts.js';

const BACKEND = nativeAvailable() ? 'native' : 'js';
type Engine = typeof import('../../web/src/engine/index.js');
declare const vmsim: Engine;

const refsArb = fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.boolean()), { minLength: 1, maxLength: 30 }).map((a) => a.map(([p, w]) => `${p}${w ? 'w' : ''}`).join(','));

/** A random script of library calls over up to three processes (some calls fail, as they may). */
const scriptArb = fc
  .tuple(
    fc.constantFrom('', 'machine memory=8M swap=256K', 'machine memory=8M swap=256K zswap', 'machine memory=4M swap=64K'),
    fc.boolean(),
    fc.array(
      fc.oneof(
        fc.tuple(fc.constantFrom('write', 'read'), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 24 })).map(([op, p, pg, n]) => `${op} p${p + 1} ${0x100000 + pg * 4096} ${n * 4096}`),
        fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })).map(([a, b]) => `p${b + 1} = fork p${a + 1}`),
        fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 8 }), fc.constantFrom('r', 'rw', 'none')).map(([p, pg, n, pr]) => `mprotect p${p + 1} ${0x100000 + pg * 4096} ${n * 4096} ${pr}`),
        fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 8 })).map(([p, pg, n]) => `munmap p${p + 1} ${0x100000 + pg * 4096} ${n * 4096}`),
        fc.integer({ min: 0, max: 2 }).map((p) => `exit p${p + 1}`),
      ),
      { maxLength: 12 },
    ),
  )
  .map(([machine, limit, ops]) => [machine, `p1 = spawn${limit && machine ? ' limit=8 policy=clock' : ''}`, 'mmap p1 0x100000 256K rw', ...ops].filter(Boolean).join('\n'));

/** What the lab shows, as plain data: every step's outcome, the processes' maps and statistics, the frames, swap and zswap. */
function observe(script: string, backend: 'js' | 'native'): unknown {
  const lab = new ProcessLab(parseScript(script), Number.MAX_SAFE_INTEGER, backend);
  try {
    return {
      steps: lab.results.map((r) => [r.ok, r.message]),
      procs: lab.live.map((p) => [p.name, p.space.maps(), p.space.stats(), p.space.reclaimStats()]),
      frames: frameUses(lab.machine, lab.procs),
      reclaim: lab.machine.reclaimStats(),
      kills: lab.machine.oomKills().map((k) => ({ ...k, space: null })),
    };
  } finally {
    lab.dispose();
  }
}

describe('the browser build of zlib (pako) for zswap', () => {
  it('compresses pages byte for byte as node:zlib does at level 1, and inflates them back', () => {
    const page = fc.oneof(
      fc.uint8Array({ minLength: 4096, maxLength: 4096 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 0, max: 255 })), { maxLength: 64 }).map((w) => {
        const p = new Uint8Array(4096);
        for (const [i, v] of w) p[i] = v;
        return p;
      }),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4096, maxLength: 4096 }).map((a) => Uint8Array.from(a)),
    );
    fc.assert(
      fc.property(page, (p) => {
        const ours = browserZlib.deflateRawSync(p, { level: 1 });
        expect(Buffer.from(ours).equals(deflateRawSync(p, { level: 1 }))).toBe(true);
        expect(Buffer.from(browserZlib.inflateRawSync(ours)).equals(inflateRawSync(ours))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe.skipIf(!HAVE_CHROMIUM)(`the page's engine in Chromium gives the library's numbers ${HAVE_CHROMIUM ? '' : NO_CHROMIUM}`, () => {
  let rig: PageRig;
  beforeAll(async () => {
    rig = await openPage();
    await rig.page.goto(`${rig.url}#tab=replace`);
    await rig.page.waitForFunction(() => typeof (globalThis as { vmsim?: unknown }).vmsim === 'object');
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('reference strings: every policy, the same table as runReferenceString in Node; the instrumented run agrees', async () => {
    await fc.assert(
      fc.asyncProperty(refsArb, fc.integer({ min: 1, max: 6 }), fc.constantFrom(...POLICY_NAMES), async (refs, frames, policy) => {
        const page = await rig.page.evaluate(([r, f, p]) => {
          const run = vmsim.runPolicy(r, f, p as never, 1);
          return { result: run.result, agrees: run.agrees };
        }, [refs, frames, policy] as const);
        const node = runReferenceString(refs, { frames, policy, ...(policy === 'random' ? { policyOptions: { seed: 1 } } : {}), flushAccessed: true, backend: BACKEND });
        expect(page.result).toEqual(node);
        expect(page.agrees).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('process scripts (fork, COW, mprotect, munmap, swap, zswap, the OOM killer): the same steps, maps, statistics and frames', async () => {
    await fc.assert(
      fc.asyncProperty(scriptArb, async (script) => {
        const page = await rig.page.evaluate((s) => {
          const lab = new vmsim.ProcessLab(vmsim.parseScript(s), Number.MAX_SAFE_INTEGER);
          try {
            return JSON.parse(JSON.stringify({
              steps: lab.results.map((r) => [r.ok, r.message]),
              procs: lab.live.map((p) => [p.name, p.space.maps(), p.space.stats(), p.space.reclaimStats()]),
              frames: vmsim.frameUses(lab.machine, lab.procs),
              reclaim: lab.machine.reclaimStats(),
              kills: lab.machine.oomKills().map((k) => ({ ...k, space: null })),
            }));
          } finally {
            lab.dispose();
          }
        }, script);
        expect(page, script).toEqual(JSON.parse(JSON.stringify(observe(script, BACKEND))));
      }),
      { numRuns: 40 },
    );
  });

  it('the CPU lab (threads on four CPUs, shootdowns, ASIDs): the same flush requests, context switches, TLB entries and counters', async () => {
    const { CpuLab } = await import('../../web/src/engine/cpu-lab.js');
    const { parseScript } = await import('../../web/src/engine/script.js');
    const view = (l: InstanceType<typeof CpuLab>) => ({ results: l.lab.results.map((r) => [r.ok, r.message]), requests: l.requests, switches: l.switches, cpus: l.cpus() });
    await fc.assert(
      fc.asyncProperty(cpuScriptArb, async (script) => {
        const page = await rig.page.evaluate((s) => {
          const l = new vmsim.CpuLab(vmsim.parseScript(s), Number.MAX_SAFE_INTEGER);
          try {
            return JSON.parse(JSON.stringify({ results: l.lab.results.map((r) => [r.ok, r.message]), requests: l.requests, switches: l.switches, cpus: l.cpus() }));
          } finally {
            l.dispose();
          }
        }, script);
        const l = new CpuLab(parseScript(script), Number.MAX_SAFE_INTEGER, BACKEND);
        try {
          expect(page, script).toEqual(JSON.parse(JSON.stringify(view(l))));
        } finally {
          l.dispose();
        }
      }),
      { numRuns: 25 },
    );
  });

  it('the translation lab: each access records the same walk, TLB entry, faults and physical address', async () => {
    const specs = (await import('../../web/src/engine/translation.js')).PRESETS.map((p) => p.spec);
    const { TranslationLab } = await import('../../web/src/engine/translation.js');
    const page = await rig.page.evaluate((list) => {
      const lab = new vmsim.TranslationLab();
      try {
        return JSON.parse(JSON.stringify(list.map((s) => lab.access(s)), (_, v) => (typeof v === 'bigint' ? v.toString(16) : v)));
      } finally {
        lab.dispose();
      }
    }, specs);
    const lab = new TranslationLab(BACKEND);
    try {
      const node = JSON.parse(JSON.stringify(specs.map((s) => lab.access(s)), (_, v) => (typeof v === 'bigint' ? v.toString(16) : v)));
      expect(page).toEqual(node);
    } finally {
      lab.dispose();
    }
  });

  it('ships no Node module: the bundle has no node: import, no require, and is under 300 KB gzipped', async () => {
    const { buildSite } = await import('../../scripts/build-site.mjs');
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'vmsim-site-'));
    try {
      const r = await buildSite({ outDir: dir });
      const html = readFileSync(r.file, 'utf8');
      expect(html).not.toMatch(/["']node:[a-z_/]+["']/);
      expect(html).not.toMatch(/\brequire\(/);
      expect(r.inputs.some((i) => /native-core\.ts$/.test(i) && i.startsWith('src/'))).toBe(false);
      // Nothing that reads files, spawns or runs workers: the CLI, the trace readers and writers, the recorder, sweeps.
      expect(r.inputs.filter((i) => /^src\/(cli\/|trace\/(trace-reader|decompress|trace-writer|lackey-recorder|binary-file-reader)|replay\/(sweep|replay\.ts)|package-info|temp-files)/.test(i))).toEqual([]);
      expect(r.gzipBytes).toBeLessThan(300 * 1024);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
