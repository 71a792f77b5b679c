/**
 * Chromium for the page's tests: the distribution's /usr/bin/chromium driven by playwright-core
 * (which downloads nothing), one launch per test file, a fresh profile that is removed after.
 * When Chromium is not installed the tests skip and say why (CI installs it: .ci/run).
 */
import { existsSync, mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';

/** Where the distribution installs Chromium (VMSIM_CHROMIUM overrides). */
export const CHROMIUM = process.env.VMSIM_CHROMIUM ?? '/usr/bin/chromium';
/** True when the browser tests can run. */
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
/** The skip reason in a test title. */
export const NO_CHROMIUM = `(skipped: ${CHROMIUM} is not installed; apt-get install chromium)`;

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A browser with a fresh profile, the page built into a temporary folder, and the cleanup. */
export interface PageRig {
  context: BrowserContext;
  page: Page;
  /** file:// URL of the built page. */
  url: string;
  /** Every request the page made. */
  requests: string[];
  /** Console errors and uncaught exceptions. */
  errors: string[];
  /** Saves a full-page screenshot (kept in $VMSIM_SCREENSHOTS when set, else in the rig's temp folder). */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Builds the page and opens it in Chromium. */
export async function openPage(): Promise<PageRig> {
  const dir = mkdtempSync(join(tmpdir(), 'vmsim-web-'));
  try {
    const { buildSite } = await import('../../scripts/build-site.mjs');
    const { file } = await buildSite({ outDir: join(dir, 'site') });
    const { chromium } = await import('playwright-core');
    const context = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
    const page = context.pages()[0] ?? (await context.newPage());
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    const shots = process.env.VMSIM_SCREENSHOTS ?? join(dir, 'shots');
    mkdirSync(shots, { recursive: true });
    return {
      context,
      page,
      url: pathToFileURL(file).href,
      requests,
      errors,
      async screenshot(name) {
        const path = join(shots, `${name}.png`);
        await page.screenshot({ path, fullPage: true });
        return path;
      },
      async close() {
        try {
          await context.close();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
