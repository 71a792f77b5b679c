import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { runDemo } from '../src/cli/demo.js';
import { BACKENDS } from './backends.js';

describe('vmsim demo', () => {
  it.each(BACKENDS)('runs the default job and reports what happened (%s)', (backend) => {
    const text = runDemo(backend);
    expect(text).toContain(`backend ${backend}`);
    expect(text).toContain('parent reads: hello from the heap');
    expect(text).toContain('child reads:  HELLO from the heap');
    expect(text).toMatch(/SEGV_ACCERR at 0x00007ffff6fff000/);
    expect(text).toMatch(/parent: 4097 minor faults, 4097 resident pages, 4 regions/);
    // Per buffer page: the first write misses and faults, its retry (re-execution after the
    // resolved fault, counted apart, not as a miss) walks again and fills, then three reads hit
    // (4096 * 3 = 12288 hits, 4096 misses, 8192 walks); the heap and fork add the rest.
    expect(text).toMatch(/TLB: 12289 hits, 4100 misses \(hit rate 75.0%\), 8198 walks/);
    expect(text).toMatch(/after destroying both: 259 frames used/);
  });

  it('gives the same report on both backends (determinism)', () => {
    const strip = (t: string) => t.replace(/backend \w+/, '');
    if (BACKENDS.length === 2) expect(strip(runDemo('native'))).toBe(strip(runDemo('js')));
    expect(runDemo('js')).toBe(runDemo('js'));
  });
});

describe('the vmsim command', () => {
  const main = 'dist/cli/main.js'; // built by npm install (prepare)
  it('exits 2 with usage on a bad command or option, 0 on --help', () => {
    const bad = spawnSync(process.execPath, [main, 'bogus'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/"bogus" is not a vmsim command/);
    const opt = spawnSync(process.execPath, [main, 'demo', '--backend', 'gpu'], { encoding: 'utf8' });
    expect(opt.status).toBe(2);
    expect(opt.stderr).toMatch(/^vmsim demo: --backend gpu: must be one of native, js, auto\n$/);
    expect(execFileSync(process.execPath, [main, '--help'], { encoding: 'utf8' })).toMatch(/usage: vmsim COMMAND/);
  });
});
