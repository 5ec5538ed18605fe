/**
 * The web app in Chromium over a 100,000-row x 10-column dataset (issue 17's figures):
 * 1. navigation to the dataset page until its first cells are shown;
 * 2. a jump to the last row (Ctrl+ArrowDown) until its cells are shown;
 * 3. scrolling through 10,000 rows with the wheel: main-thread long tasks (PerformanceObserver);
 * 4. live updates: a task over 10,000 cells (ai_enrich, fake LLM answering at once) while the page
 *    is open on those rows: long tasks during the run, and the task's own cells per second;
 * 5. the JavaScript the first page loads, gzipped.
 * "Painted" is the grid's own user-timing mark (cellwise:rows-painted), set when it has drawn newly
 * loaded rows on the canvas; "shown" is read from the grid's accessibility layer, which the library
 * rebuilds 200 ms after a change (debounced): an upper bound of the paint. Server, fake LLM and browser share
 * this machine. Run: npm run bench -- web-app   (BENCH_ROWS to change the size)
 */
import os from 'node:os';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { startFakeOpenAI } from '../test/fakes/openai-server.ts';
import { ADMIN_KEY, startTestApp } from '../test/helpers/app.ts';
import { browserSkip, ensureWebBuild, launchBrowser, openPage } from '../test/helpers/browser.ts';
import { waitForTask } from '../test/helpers/tasks.ts';

declare const window: any, document: any, PerformanceObserver: any;

if (browserSkip) {
  console.log(`# ${browserSkip}`);
  process.exit(0);
}
const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const LIVE = Math.min(10_000, ROWS);
await ensureWebBuild();
const fake = await startFakeOpenAI({ latencyMs: 0 });
const app = await startTestApp({ openaiBaseUrl: fake.baseUrl, model: 'openai:gpt-4o-mini', llmConcurrency: 64 });
const browser = await launchBrowser();
console.log(`# cellwise web app benchmark: ${ROWS.toLocaleString()} rows x 10 columns, SQLite, Chromium ${browser.version()} (load average ${(os.loadavg()[0] ?? 0).toFixed(1)} at the start)`);
try {
  const header = ['id', 'name', 'domain', 'employees', 'city', 'notes', 'active', 'score', 'email', 'founded'];
  const lines = [header.join(',')];
  for (let i = 0; i < ROWS; i++) lines.push([i, `Company ${i}`, `company${i}.example.com`, (i * 7919) % 100000, `City ${i % 500}`, `Notes about row ${i}`, i % 2 ? 'yes' : 'no', (i * 0.37).toFixed(2), `c${i}@example.com`, `2024-01-${String((i % 28) + 1).padStart(2, '0')}`].join(','));
  let t = performance.now();
  const up = await app.upload('/api/v2/datasets/upload', [{ name: 'big.csv', content: lines.join('\n'), type: 'text/csv' }], { name: 'big', type: 'analysis' });
  if (up.status !== 201) throw new Error(JSON.stringify(up.body));
  const datasetId = up.body.datasetId as string;
  console.log(`import (setup): ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const { page, problems, context } = await openPage(browser, { width: 1280, height: 800 });
  await context.addInitScript((key: string) => {
    window.sessionStorage.setItem('cellwise.apiKey', key);
    window.__longTasks = [];
    new PerformanceObserver((list: any) => {
      for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  }, ADMIN_KEY);
  /**
   * When the grid drew `row` (ms on the page's clock, from its navigation start), after `since`:
   * the grid marks each repaint of loaded rows (updateCells draws the canvas synchronously).
   */
  const paintedAt = (row: number, since = 0) =>
    page.evaluate(
      ([r, t]) => {
        const e = (window.performance.getEntriesByName('cellwise:rows-painted') as any[]).find((m) => m.startTime >= t && m.detail.first <= r && r < m.detail.first + m.detail.count);
        return e ? (e.startTime as number) : null;
      },
      [row, since] as const,
    );
  const shown = (col: number, row: number, text: string) =>
    page.waitForFunction(([id, want]) => document.getElementById(id)?.textContent === want, [`glide-cell-${col + 1}-${row}`, text] as const, { polling: 'raf', timeout: 60_000 });
  // Warm the browser's cache of the app's files, as a returning user has it.
  await page.goto(`${app.baseUrl}/`);
  await page.getByRole('heading', { name: 'Datasets', exact: true }).waitFor();

  // 1. Navigation to the first visible cells.
  t = performance.now();
  await page.goto(`${app.baseUrl}/datasets/${datasetId}`);
  await shown(1, 0, 'Company 0');
  const firstCells = performance.now() - t;
  const firstPaint = await paintedAt(0);
  const timing = (await page.evaluate(() => {
    const res = (window.performance.getEntriesByType('resource') as any[]).filter((r) => /\/api\/v2\/datasets\/ds_[^/?]+(\/data\?|$)/.test(r.name));
    return res.map((r) => ({ name: r.name.replace(/^.*\/api\/v2/, ''), start: r.startTime, end: r.responseEnd }));
  })) as { name: string; start: number; end: number }[];
  console.log(`1. navigation to first visible cells: painted ${firstPaint?.toFixed(0) ?? '?'} ms after navigation start (target <= 1000); read in the accessibility layer after ${firstCells.toFixed(0)} ms`);
  for (const r of timing) console.log(`   ${r.name.slice(0, 60)}: ${r.start.toFixed(0)} -> ${r.end.toFixed(0)} ms`);

  // 2. Jump to the last row.
  const box = (await page.locator('.grid canvas').first().boundingBox())!;
  await page.mouse.click(box.x + 48 + 180 + 20, box.y + 36 + 17);
  const jumpStart = await page.evaluate(() => performance.now());
  await page.keyboard.press('Control+ArrowDown');
  await shown(1, ROWS - 1, `Company ${ROWS - 1}`);
  const jump = (await page.evaluate(() => performance.now())) - jumpStart;
  const jumpPaint = await paintedAt(ROWS - 1, jumpStart);
  const lastBlock = (await page.evaluate((t) => {
    const r = (window.performance.getEntriesByType('resource') as any[]).find((e) => e.startTime >= t && /\/data\?/.test(e.name));
    return r ? { start: r.startTime - t, end: r.responseEnd - t } : null;
  }, jumpStart)) as { start: number; end: number } | null;
  console.log(`2. jump to the last row until its cells are painted: ${jumpPaint === null ? '?' : (jumpPaint - jumpStart).toFixed(0)} ms (target <= 200); read in the accessibility layer after ${jump.toFixed(0)} ms (it is rebuilt 200 ms after a change)`);
  if (lastBlock) console.log(`   its block of rows (GET /data): asked at ${lastBlock.start.toFixed(0)} ms, answered at ${lastBlock.end.toFixed(0)} ms`);

  // 3. Scroll through 10,000 rows from the top with the wheel (34 px rows).
  await page.keyboard.press('Control+ArrowUp');
  await shown(1, 0, 'Company 0');
  await page.mouse.move(box.x + 400, box.y + 300);
  const scrollFrom = await page.evaluate(() => performance.now());
  const step = 34 * 40;
  for (let moved = 0; moved < 34 * 10_000; moved += step) {
    await page.mouse.wheel(0, step);
    await page.evaluate(() => new Promise((r) => window.requestAnimationFrame(() => r(null))));
  }
  await shown(1, 10_000, 'Company 10000').catch(() => undefined);
  const scrollTasks = (await page.evaluate((from) => window.__longTasks.filter((e: any) => e.start >= from), scrollFrom)) as { duration: number }[];
  const scrollMs = (await page.evaluate(() => performance.now())) - scrollFrom;
  console.log(`3. scroll through 10,000 rows (${(scrollMs / 1000).toFixed(1)} s): long tasks > 50 ms: ${scrollTasks.length}, longest ${Math.max(0, ...scrollTasks.map((x) => x.duration)).toFixed(0)} ms`);

  // 4. Live updates of 10,000 cells while the page shows them.
  // The new column goes second, so its cells are on screen while they fill.
  const col = await app.post(`/api/v2/datasets/${datasetId}/columns`, { name: 'Summary', taskType: 'ai_enrich', position: 1, metadata: { prompt: 'Summarise {{name}}' } });
  if (col.status !== 201) throw new Error(JSON.stringify(col.body));
  const rowIds: string[] = [];
  for (let p = 1; rowIds.length < LIVE; p++) rowIds.push(...(await app.get(`/api/v2/datasets/${datasetId}/data?page=${p}&limit=1000&columns=${col.body.columnId}`)).body.rowIds);
  await page.reload();
  await shown(0, 0, '0');
  await page.waitForFunction(() => [...document.querySelectorAll('[role=columnheader]')].some((th: any) => th.textContent === 'Summary'), undefined, { timeout: 30_000 });
  const liveFrom = await page.evaluate(() => performance.now());
  const task = await app.post(`/api/v2/datasets/${datasetId}/tasks/bulk`, { rowIds: rowIds.slice(0, LIVE), columnIds: [col.body.columnId] });
  if (task.status !== 202) throw new Error(JSON.stringify(task.body));
  const done = await waitForTask(app, datasetId, task.body.taskId, undefined, 600_000);
  await page.getByText(/Task completed/).waitFor({ timeout: 60_000 });
  const liveTasks = (await page.evaluate((from) => window.__longTasks.filter((e: any) => e.start >= from), liveFrom)) as { duration: number }[];
  const seconds = (Date.parse(done.completedAt) - Date.parse(done.startedAt)) / 1000;
  console.log(`4. live updates: ${done.progress.completed.toLocaleString()} cells in ${seconds.toFixed(1)} s (${(done.progress.completed / seconds).toFixed(0)} cells/s, paced by the server): long tasks > 100 ms: ${liveTasks.filter((x) => x.duration > 100).length}, > 50 ms: ${liveTasks.length}, longest ${Math.max(0, ...liveTasks.map((x) => x.duration)).toFixed(0)} ms`);

  // 5. JavaScript of the first page, gzipped: the entry chunk (lazy chunks load on use).
  const dist = path.join(import.meta.dirname, '..', 'web', 'dist');
  const html = await readFile(path.join(dist, 'index.html'), 'utf8');
  const entry = [...html.matchAll(/src="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  const preloads = [...html.matchAll(/href="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  let gz = 0;
  for (const f of [...entry, ...preloads]) gz += gzipSync(await readFile(path.join(dist, f))).length;
  const all = (await readdir(path.join(dist, 'assets'))).filter((f) => f.endsWith('.js'));
  let gzAll = 0;
  for (const f of all) gzAll += gzipSync(await readFile(path.join(dist, 'assets', f))).length;
  console.log(`5. JavaScript for the first page, gzipped: ${(gz / 1024).toFixed(0)} KB (target <= 400); all chunks: ${(gzAll / 1024).toFixed(0)} KB`);
  if (problems.length) console.log(`page problems: ${problems.join('; ')}`);
} finally {
  await browser.close();
  await app.close();
  await fake.close();
}
