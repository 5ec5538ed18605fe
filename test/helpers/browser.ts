import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { webSourceHash } from '../../src/http/web-source-hash.ts';

export const CHROMIUM = process.env.CELLWISE_CHROMIUM ?? '/usr/bin/chromium';
/** Why browser tests are skipped here, or undefined when they run. */
export const browserSkip: string | undefined = !existsSync(CHROMIUM)
  ? `browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium to enable them)`
  : process.env.CELLWISE_TEST_BACKEND === 'postgres'
    ? 'browser tests run on the SQLite pass only (the API is the same on PostgreSQL)'
    : undefined;

const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const webDir = fileURLToPath(new URL('../../web', import.meta.url));

/**
 * Builds web/dist when it is missing or older than its sources (the server would answer "run
 * npm run build:web"). Test files run in parallel: a lock directory keeps it to one build.
 */
export async function ensureWebBuild(): Promise<void> {
  const current = () => {
    try {
      return JSON.parse(readFileSync(path.join(webDir, 'dist', 'build-info.json'), 'utf8')).sourceHash === webSourceHash(webDir);
    } catch {
      return false;
    }
  };
  if (current()) return;
  const lock = path.join(webDir, '.build-lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
      if (current()) return;
    }
  }
  try {
    if (!current()) execFileSync(process.execPath, [path.join(webDir, '..', 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', path.join(webDir, 'vite.config.ts'), '--logLevel', 'warn'], { stdio: 'inherit' });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS, headless: true });
}

export type Watched = { page: Page; context: BrowserContext; problems: string[] };

/**
 * A page that records every console error, uncaught exception and failed request (4xx/5xx
 * answers included, except those a test expects), so a test can assert there were none.
 */
export async function openPage(browser: Browser, options: { width?: number; height?: number; dark?: boolean; allow?: RegExp[] } = {}): Promise<Watched> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: options.height ?? 800 }, colorScheme: options.dark ? 'dark' : 'light', acceptDownloads: true });
  const page = await context.newPage();
  const problems: string[] = [];
  const allowed = (s: string) => (options.allow ?? []).some((r) => r.test(s));
  page.on('console', (m) => {
    if (m.type() === 'error' && !allowed(m.text()) && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText ?? '';
    // Streams the page itself ends (the events stream on navigation) are not failures.
    if (/ERR_ABORTED/.test(why)) return;
    const s = `requestfailed: ${r.method()} ${r.url()} ${why}`;
    if (!allowed(s)) problems.push(s);
  });
  page.on('response', (r) => {
    const s = `response: ${r.status()} ${r.request().method()} ${r.url()}`;
    if (r.status() >= 400 && !allowed(s)) problems.push(s);
  });
  return { page, context, problems };
}

/** axe-core on the current page: serious and critical violations, as readable lines. */
export async function axeViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(' | ')}`);
}

export async function signIn(page: Page, baseUrl: string, key: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Datasets', exact: true }).waitFor();
}

// The grid's accessibility layer is a table inside its <canvas> (fallback content, read by screen
// readers): Playwright counts it as hidden, hence DOM reads (and includeHidden in role queries).
declare const document: { getElementById(id: string): { textContent: string | null } | null };

/** Waits until the grid's cell (col, row), as its accessibility layer reads, matches `pattern`. */
export async function cellText(page: Page, col: number, row: number, pattern: RegExp, timeout = 30_000): Promise<void> {
  await page.waitForFunction(([id, src]) => new RegExp(src).test(document.getElementById(id)?.textContent ?? ''), [`glide-cell-${col + 1}-${row}`, pattern.source] as const, { timeout });
}

/**
 * Opens a dataset page and waits until the full page is in: until then the grid drawn from the
 * first rows is read-only (the page is aria-busy), and a click or a key would go to it.
 */
export async function gotoDataset(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator('.dataset-page:not([aria-busy])').waitFor();
}

/**
 * A real mouse click on a cell of the canvas: row markers 48 px, header 36, rows 34, and the
 * columns before it raw (180 px). Row -1 is the header.
 */
export async function clickCell(page: Page, col: number, row: number): Promise<void> {
  const box = (await page.locator('.grid canvas').first().boundingBox())!;
  await page.mouse.click(box.x + 48 + col * 180 + 20, row < 0 ? box.y + 18 : box.y + 36 + row * 34 + 17);
}

/**
 * The pages a test opens (`page`), closed together by `finish`, which fails the test on any console
 * error or failed request they recorded; `expectAxeClean` fails it on accessibility violations.
 * `browser` is read when a page opens (suites launch it in `before`).
 */
export function pageTracker(browser: () => Browser) {
  const opened: Watched[] = [];
  return {
    async page(options: Parameters<typeof openPage>[1] = {}): Promise<Page> {
      const w = await openPage(browser(), options);
      opened.push(w);
      return w.page;
    },
    async finish(): Promise<void> {
      const problems = opened.flatMap((w) => w.problems);
      await Promise.all(opened.splice(0).map((w) => w.context.close()));
      assert.deepEqual(problems, [], 'console errors or failed requests');
    },
    async expectAxeClean(p: Page, where: string): Promise<void> {
      assert.deepEqual(await axeViolations(p), [], `axe on ${where}`);
    },
  };
}
