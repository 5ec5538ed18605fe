import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startFakeOpenAI, type FakeLlmServer, type RecordedRequest } from '../fakes/openai-server.ts';
import { ADMIN_KEY, startTestApp, type TestApp } from '../helpers/app.ts';
import { browserSkip, cellText, clickCell, ensureWebBuild, gotoDataset, launchBrowser, pageTracker, signIn } from '../helpers/browser.ts';
import { waitForTask } from '../helpers/tasks.ts';

/**
 * Views in the browser (issue 19), against the real server and the fake LLM: the filter bar (value
 * and cell-state conditions, all/any), sorts from the header menu by keyboard, the search box,
 * saved views, review mode by keyboard, and the export of a view. Rows are filtered by the server;
 * each expectation is worked out here from the rows the test wrote.
 */
const CITIES = ['Lyon', 'Paris', 'Lille', 'Nantes'];
const N = 12;
/** Row i: Company i, its city, a revenue, and a Sector answered with confidence 0.4 when i % 3 === 0 (threshold 0.7). */
const ROWS = Array.from({ length: N }, (_, i) => ({ Name: `Company ${i}`, City: CITIES[i % 4]!, Revenue: (i * 37) % 100 }));
const NEEDS_REVIEW = ROWS.map((_, i) => i).filter((i) => i % 3 === 0);
const sector = (i: number) => `Sector ${i % 4}`;

// Run in the page (playwright serializes these functions): the DOM of the browser.
declare const document: { getElementById(id: string): unknown; querySelectorAll(s: string): Iterable<{ textContent: string | null }>; activeElement: unknown };
declare const requestAnimationFrame: (f: () => void) => void;

const userText = (r: RecordedRequest) => String(r.body.messages?.filter((m) => m.role === 'user').at(-1)?.content ?? '');

/** Generous for a loaded 2-core machine; every wait is on a condition. */
const WAIT = 30_000;

describe('views in the browser', { skip: browserSkip }, () => {
  let app: TestApp;
  let fake: FakeLlmServer;
  let browser: Browser;
  before(async () => {
    await ensureWebBuild();
    fake = await startFakeOpenAI({
      omitLogprobs: true,
      respond: (r) => {
        const i = Number(/Company (\d+)/.exec(userText(r))?.[1] ?? 0);
        return { kind: 'json', value: { value: sector(i), confidence: i % 3 === 0 ? 0.4 : 0.9 } };
      },
    });
    app = await startTestApp({ openaiBaseUrl: fake.baseUrl, model: 'openai:gpt-4o-mini', llmMaxAttempts: 1 });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await fake?.close();
  });
  const { page, finish, expectAxeClean } = pageTracker(() => browser);

  /** A dataset of ROWS with the Sector column run: NEEDS_REVIEW cells need review. */
  async function enriched(name: string): Promise<{ id: string; cols: Record<string, string> }> {
    const res = await app.post('/api/v2/datasets', { name, type: 'analysis', rows: ROWS, columns: [{ name: 'Sector', taskType: 'ai_enrich', metadata: { prompt: 'Sector of {{Name}}', confidence: 0.7 } }] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.datasetId as string;
    const run = await app.post(`/api/v2/datasets/${id}/tasks/bulk`, {});
    assert.equal(run.status, 202, JSON.stringify(run.body));
    assert.equal((await waitForTask(app, id, run.body.taskId, undefined, WAIT)).status, 'completed');
    return { id, cols: Object.fromEntries(res.body.columns.map((c: { name: string; columnId: string }) => [c.name, c.columnId])) };
  }
  async function openDataset(p: Page, id: string) {
    await signIn(p, app.baseUrl, ADMIN_KEY);
    await gotoDataset(p, `${app.baseUrl}/datasets/${id}`);
    await cellText(p, 0, 0, /^Company 0$/, WAIT);
  }
  const count = (p: Page, text: string) => p.getByTestId('view-count').filter({ hasText: new RegExp(`^${text}$`) }).waitFor({ timeout: WAIT });
  /** The first column of the grid's rows, top down, once it reads `names` (and no row after them). */
  async function rowsAre(p: Page, names: number[]) {
    for (const [row, i] of names.entries()) await cellText(p, 0, row, new RegExp(`^Company ${i}$`), WAIT);
    await p.waitForFunction((id) => !document.getElementById(id), `glide-cell-1-${names.length}`, { timeout: WAIT });
  }
  const header = (p: Page, text: RegExp) => p.waitForFunction((src) => [...document.querySelectorAll('[role=columnheader]')].some((h) => new RegExp(src).test(h.textContent ?? '')), text.source, { timeout: WAIT });
  const review = (p: Page) => p.getByRole('complementary', { name: 'Review' });

  it('the filter bar narrows rows by a value and by a cell state, with all or any; the count follows', async () => {
    const { id } = await enriched('Filters');
    const p = await page();
    await openDataset(p, id);
    await p.getByRole('button', { name: 'Filter' }).click();
    await p.getByRole('button', { name: '+ Add condition' }).click();
    const c1 = p.getByRole('group', { name: 'Condition 1' });
    await c1.getByLabel('Column').selectOption({ label: 'City' });
    await c1.getByLabel('Value').fill('Lyon');
    const lyon = ROWS.map((_, i) => i).filter((i) => ROWS[i]!.City === 'Lyon');
    await count(p, `${lyon.length} of ${N} rows`);
    await rowsAre(p, lyon);

    // A number column compares as numbers: Revenue > 40 (text order would put "7" above "40").
    await p.getByRole('button', { name: '+ Add condition' }).click();
    const c2 = p.getByRole('group', { name: 'Condition 2' });
    await c2.getByLabel('Column').selectOption({ label: 'Revenue' });
    await c2.getByLabel('Operator').selectOption('gt');
    await c2.getByLabel('Value').fill('40');
    const both = lyon.filter((i) => ROWS[i]!.Revenue > 40);
    await count(p, `${both.length} of ${N} rows`);
    await rowsAre(p, both);
    await expectAxeClean(p, 'the filter bar');

    await p.getByLabel('Show rows matching').selectOption('or');
    const either = ROWS.map((_, i) => i).filter((i) => ROWS[i]!.City === 'Lyon' || ROWS[i]!.Revenue > 40);
    await count(p, `${either.length} of ${N} rows`);
    await rowsAre(p, either);

    // A cell-state condition on any cell: needs review.
    await p.getByRole('button', { name: 'Remove condition 2' }).click();
    await p.getByRole('group', { name: 'Condition 1' }).getByLabel('Condition on').selectOption('needsReview');
    await count(p, `${NEEDS_REVIEW.length} of ${N} rows`);
    await rowsAre(p, NEEDS_REVIEW);
    await cellText(p, 3, 0, /^Sector 0 \(needs review\)$/, WAIT);
    // Confidence above 0.5 on the Sector column: the others.
    const c = p.getByRole('group', { name: 'Condition 1' });
    await c.getByLabel('Condition on').selectOption('confidence');
    await c.getByLabel('Column').selectOption({ label: 'Sector' });
    await c.getByLabel('Below or above').selectOption('gt');
    await c.getByLabel('Confidence (0 to 1)').fill('0.5');
    const sure = ROWS.map((_, i) => i).filter((i) => !NEEDS_REVIEW.includes(i));
    await count(p, `${sure.length} of ${N} rows`);
    await rowsAre(p, sure);

    await p.getByRole('button', { name: 'Clear filter' }).click();
    await count(p, `${N} rows`);
    await rowsAre(p, ROWS.map((_, i) => i));
    await finish();
  });

  it('sorts from the header menu by keyboard, several sorts with the header marks; the search box searches', async () => {
    const { id } = await enriched('Sorts');
    const p = await page();
    await openDataset(p, id);
    // Keyboard: a cell of Revenue, then Shift+F10 opens its column menu.
    await clickCell(p, 2, 0);
    await p.keyboard.press('Shift+F10');
    let menu = p.getByRole('menu', { name: 'Column Revenue' });
    await menu.waitFor();
    await expectAxeClean(p, 'the header menu');
    await p.keyboard.press('ArrowDown');
    await p.keyboard.press('Enter');
    await menu.waitFor({ state: 'detached' });
    const byRevenue = ROWS.map((_, i) => i).sort((a, b) => ROWS[b]!.Revenue - ROWS[a]!.Revenue);
    await header(p, /^Revenue ↓$/);
    await rowsAre(p, byRevenue);
    // A cell's panel reads that cell of the sorted rows (its 4th row), not the 4th row of the table.
    const [read] = await Promise.all([p.waitForResponse((r) => /\/data\?.*limit=1\b/.test(r.url()), { timeout: WAIT }), clickCell(p, 3, 3)]);
    await read.finished();
    await p.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
    assert.equal(await p.getByRole('complementary', { name: 'Cell Sector, row 4' }).getByTestId('cell-value').textContent(), sector(byRevenue[3]!));

    // City ascending, then Revenue descending: the ties of a city in revenue order.
    await clickCell(p, 1, 0);
    await p.keyboard.press('Shift+F10');
    menu = p.getByRole('menu', { name: 'Column City' });
    await menu.getByRole('menuitem', { name: 'Sort ascending' }).focus();
    await p.keyboard.press('Enter');
    await header(p, /^City ↑$/);
    await clickCell(p, 2, 0);
    await p.keyboard.press('Shift+F10');
    await p.getByRole('menu', { name: 'Column Revenue' }).getByRole('menuitem', { name: 'Then by, descending' }).click();
    await header(p, /^City ↑1$/);
    await header(p, /^Revenue ↓2$/);
    const twoKeys = ROWS.map((_, i) => i).sort((a, b) => ROWS[a]!.City.localeCompare(ROWS[b]!.City) || ROWS[b]!.Revenue - ROWS[a]!.Revenue);
    await rowsAre(p, twoKeys);
    // The sort panel lists them in order.
    await p.getByRole('button', { name: 'Sort (2)' }).click();
    assert.equal(await p.getByLabel('Sort 1 column').inputValue().then((v) => p.locator(`#view-panel option[value="${v}"]`).first().textContent()), 'City');
    await p.getByLabel('Sort 2 direction').selectOption('asc');
    await header(p, /^Revenue ↑2$/);
    const ascTies = ROWS.map((_, i) => i).sort((a, b) => ROWS[a]!.City.localeCompare(ROWS[b]!.City) || ROWS[a]!.Revenue - ROWS[b]!.Revenue);
    await rowsAre(p, ascTies);
    await p.getByRole('button', { name: 'Clear sort' }).click();

    // Search: the rows whose text has the word.
    await p.getByLabel('Search rows').fill('Nantes');
    const nantes = ROWS.map((_, i) => i).filter((i) => ROWS[i]!.City === 'Nantes');
    await count(p, `${nantes.length} of ${N} rows`);
    await rowsAre(p, nantes);
    await p.getByLabel('Search rows').fill('nothing-has-this');
    await p.getByRole('heading', { name: 'No rows match this view' }).waitFor({ timeout: WAIT });
    await p.getByLabel('Search rows').fill('');
    await count(p, `${N} rows`);

    // Hide a column from its menu; the Columns panel shows it again.
    await clickCell(p, 1, 0);
    await p.keyboard.press('Shift+F10');
    await p.getByRole('menu', { name: 'Column City' }).getByRole('menuitem', { name: 'Hide column' }).click();
    await p.waitForFunction(() => ![...document.querySelectorAll('[role=columnheader]')].some((h) => h.textContent === 'City'), undefined, { timeout: WAIT });
    await cellText(p, 1, 0, /^0$/, WAIT);
    await p.getByRole('button', { name: 'Columns (3/4)' }).click();
    await p.getByRole('button', { name: 'Show every column' }).click();
    await header(p, /^City$/);
    await cellText(p, 1, 0, /^Lyon$/, WAIT);
    await finish();
  });

  it('review mode walks the cells that need review: approve and reject with a note by keyboard; the grid and the counts follow', async () => {
    const { id, cols } = await enriched('Review');
    const p = await page();
    await openDataset(p, id);
    await p.getByRole('button', { name: `Review (${NEEDS_REVIEW.length})` }).click();
    const panel = review(p);
    await panel.getByTestId('review-progress').filter({ hasText: `${NEEDS_REVIEW.length} left to review` }).waitFor({ timeout: WAIT });
    const at = (i: number) => panel.getByRole('heading', { name: `Sector · row “Company ${i}”` }).waitFor({ timeout: WAIT });
    await at(NEEDS_REVIEW[0]!);
    assert.equal(await panel.getByTestId('review-value').textContent(), sector(NEEDS_REVIEW[0]!));
    assert.equal(await panel.getByTestId('review-confidence').textContent(), '40% (self_reported)');
    await expectAxeClean(p, 'review mode');

    // A approves; the next cell comes.
    await p.keyboard.press('a');
    await at(NEEDS_REVIEW[1]!);
    await panel.getByTestId('review-progress').filter({ hasText: `${NEEDS_REVIEW.length - 1} left to review` }).waitFor({ timeout: WAIT });
    // R asks for a note; Enter rejects with it.
    await p.keyboard.press('r');
    const note = panel.getByLabel(/Why is it wrong/);
    await note.waitFor();
    assert.ok(await note.evaluate((el) => el === document.activeElement), 'the note has the focus');
    await p.keyboard.type('Not this sector');
    await p.keyboard.press('Enter');
    await at(NEEDS_REVIEW[2]!);
    // N skips, P goes back to it.
    await p.keyboard.press('n');
    await at(NEEDS_REVIEW[3]!);
    await p.keyboard.press('p');
    await at(NEEDS_REVIEW[2]!);
    await panel.getByTestId('review-progress').filter({ hasText: `${NEEDS_REVIEW.length - 2} left to review` }).waitFor({ timeout: WAIT });
    await p.getByRole('button', { name: `Review (${NEEDS_REVIEW.length - 2})` }).waitFor({ timeout: WAIT });

    // The server has the decisions.
    const data = (await app.get(`/api/v2/datasets/${id}/data?includeMetadata=true&limit=100`)).body;
    const k = data.columns.findIndex((c: { columnId: string }) => c.columnId === cols.Sector);
    const cell = (i: number) => data.data[i][k];
    assert.equal(cell(NEEDS_REVIEW[0]!).metadata.review.decision, 'approved');
    assert.equal(cell(NEEDS_REVIEW[0]!).metadata.needsReview, false);
    assert.equal(cell(NEEDS_REVIEW[1]!).status, 'stale');
    assert.deepEqual([cell(NEEDS_REVIEW[1]!).metadata.review.decision, cell(NEEDS_REVIEW[1]!).metadata.review.note], ['rejected', 'Not this sector']);
    assert.equal(cell(NEEDS_REVIEW[2]!).metadata.review, undefined, 'a skipped cell is not reviewed');

    // The grid: the approved cell is done, the rejected one stale, the skipped one still needs review.
    await p.keyboard.press('Escape');
    await panel.waitFor({ state: 'detached' });
    await cellText(p, 3, NEEDS_REVIEW[0]!, new RegExp(`^${sector(NEEDS_REVIEW[0]!)}$`), WAIT);
    await cellText(p, 3, NEEDS_REVIEW[1]!, /\(stale\)$/, WAIT);
    await cellText(p, 3, NEEDS_REVIEW[2]!, /\(needs review\)$/, WAIT);
    // The cell panel shows the review and its note.
    await clickCell(p, 3, NEEDS_REVIEW[1]!);
    await p.getByRole('complementary', { name: `Cell Sector, row ${NEEDS_REVIEW[1]! + 1}` }).getByTestId('cell-review').filter({ hasText: /rejected.*Not this sector/ }).waitFor({ timeout: WAIT });
    await finish();
  });
  it('saves the view (filter: approved, sort), applies, renames and deletes it; exports just that view; a view over a deleted column says so', async () => {
    const { id, cols } = await enriched('Saved views');
    const approved = NEEDS_REVIEW.slice(0, 3);
    for (const i of approved) {
      const rowId = (await app.get(`/api/v2/datasets/${id}/data?limit=100`)).body.rowIds[i];
      const res = await app.post(`/api/v2/datasets/${id}/review`, { decision: 'approved', rowIds: [rowId], columnIds: [cols.Sector] });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    const p = await page({ allow: [/response: 4\d\d GET .*\/data\?.*viewId/] });
    await openDataset(p, id);
    await p.getByRole('button', { name: 'Filter' }).click();
    await p.getByRole('button', { name: '+ Add condition' }).click();
    const c1 = p.getByRole('group', { name: 'Condition 1' });
    await c1.getByLabel('Condition on').selectOption('reviewed');
    await c1.getByLabel('Review decision').selectOption('approved');
    await count(p, `${approved.length} of ${N} rows`);
    await p.getByRole('button', { name: 'Sort', exact: true }).click();
    await p.getByRole('button', { name: '+ Add sort' }).click();
    await p.getByLabel('Sort 1 column').selectOption({ label: 'Revenue' });
    await p.getByLabel('Sort 1 direction').selectOption('desc');
    const order = [...approved].sort((a, b) => ROWS[b]!.Revenue - ROWS[a]!.Revenue);
    await rowsAre(p, order);

    await p.getByRole('button', { name: 'Save as view…' }).click();
    const save = p.getByRole('dialog', { name: 'Save view' });
    await save.getByLabel('Name').fill('Approved');
    await expectAxeClean(p, 'save view dialog');
    await save.getByRole('button', { name: 'Save view' }).click();
    await save.waitFor({ state: 'detached' });
    const select = p.getByLabel('View', { exact: true });
    await p.waitForFunction(() => (document as any).querySelector('#view-select option:checked')?.textContent === 'Approved', undefined, { timeout: WAIT });
    const listed = (await app.get(`/api/v2/datasets/${id}/views`)).body.views;
    assert.equal(listed.length, 1);
    assert.equal(listed[0].name, 'Approved');

    // All rows, then the view again: its rows in its order.
    await select.selectOption({ label: 'All rows' });
    await count(p, `${N} rows`);
    await rowsAre(p, ROWS.map((_, i) => i));
    await select.selectOption({ label: 'Approved' });
    await count(p, `${approved.length} of ${N} rows`);
    await rowsAre(p, order);
    // The view is in the address: a reload opens it again.
    assert.match(p.url(), /\?view=view_/);
    await p.reload();
    await count(p, `${approved.length} of ${N} rows`);
    await rowsAre(p, order);

    // Export: the view's rows only, in its order.
    await p.getByRole('button', { name: 'Export' }).click();
    const dialog = p.getByRole('dialog', { name: 'Export' });
    assert.ok(await dialog.getByRole('radio', { name: /The view “Approved” \(3 rows\)/ }).isChecked());
    await expectAxeClean(p, 'export dialog with a view');
    const [download] = await Promise.all([p.waitForEvent('download', { timeout: WAIT }), dialog.getByRole('button', { name: 'Export and download' }).click()]);
    const lines = (await readFile((await download.path())!, 'utf8')).trim().split('\n');
    assert.match(lines[0]!, /^Name,City,Revenue,Sector/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(',')[0]), order.map((i) => `Company ${i}`));
    await dialog.getByRole('button', { name: 'Close', exact: true }).first().click();
    await dialog.waitFor({ state: 'detached' });

    // A change to the applied view: "Update" saves it into the view.
    await p.getByRole('button', { name: 'Sort (1)' }).click();
    await p.getByLabel('Sort 1 direction').selectOption('asc');
    await rowsAre(p, [...order].reverse());
    await p.getByRole('button', { name: 'Update “Approved”' }).click();
    await p.getByRole('button', { name: 'Update “Approved”' }).waitFor({ state: 'detached', timeout: WAIT });
    assert.equal((await app.get(`/api/v2/datasets/${id}/views`)).body.views[0].sort, `${cols.Revenue}:asc`);

    // Rename, then delete.
    await p.getByRole('button', { name: 'Rename view' }).click();
    const rename = p.getByRole('dialog', { name: 'Rename view' });
    await rename.getByLabel('Name').fill('Approved ones');
    await rename.getByRole('button', { name: 'Save' }).click();
    await rename.waitFor({ state: 'detached' });
    await p.waitForFunction(() => (document as any).querySelector('#view-select option:checked')?.textContent === 'Approved ones', undefined, { timeout: WAIT });
    assert.equal((await app.get(`/api/v2/datasets/${id}/views`)).body.views[0].name, 'Approved ones');
    await p.getByRole('button', { name: 'Delete view' }).click();
    await p.getByRole('dialog', { name: 'Delete view' }).getByRole('button', { name: 'Delete' }).click();
    await count(p, `${N} rows`);
    assert.deepEqual((await app.get(`/api/v2/datasets/${id}/views`)).body.views, []);

    // A view naming a column that is then deleted: applying it shows the server's error, no rows.
    const made = await app.post(`/api/v2/datasets/${id}/views`, { name: 'By city', filter: { and: [{ column: cols.City, op: 'eq', value: 'Lyon' }] } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal((await app.del(`/api/v2/datasets/${id}/columns/${cols.City}`)).status, 200);
    await p.reload();
    await cellText(p, 0, 0, /^Company 0$/, WAIT);
    await p.getByLabel('View', { exact: true }).selectOption({ label: 'By city (names a deleted column)' });
    await p.getByRole('alert').filter({ hasText: 'VIEW_OUTDATED' }).waitFor({ timeout: WAIT });
    await finish();
  });
  it('reviews a selection at once (the bulk form), and review mode works at phone width in the dark theme', async () => {
    const { id, cols } = await enriched('Bulk review');
    const p = await page();
    await openDataset(p, id);
    // Rows 0 to 3 of Sector: two need review (0 and 3), all four have a value.
    await clickCell(p, 3, 0);
    await p.keyboard.press('Shift+ArrowDown');
    await p.keyboard.press('Shift+ArrowDown');
    await p.keyboard.press('Shift+ArrowDown');
    await p.getByRole('toolbar', { name: 'Dataset actions' }).getByRole('button', { name: 'Review 4 cells…' }).click();
    const dialog = p.getByRole('dialog', { name: 'Review the selection' });
    await expectAxeClean(p, 'bulk review dialog');
    await dialog.getByRole('button', { name: 'Approve 4 cells' }).click();
    await dialog.getByRole('status').filter({ hasText: '4 cells approved' }).waitFor({ timeout: WAIT });
    await dialog.getByRole('button', { name: 'Close', exact: true }).last().click();
    const left = NEEDS_REVIEW.filter((i) => i > 3).length;
    await p.getByRole('button', { name: `Review (${left})` }).waitFor({ timeout: WAIT });
    await cellText(p, 3, 3, new RegExp(`^${sector(3)}$`), WAIT);
    const data = (await app.get(`/api/v2/datasets/${id}/data?includeMetadata=true&limit=4&columns=${cols.Sector}`)).body;
    assert.deepEqual(data.data.map((r: { metadata: { review?: { decision: string } } }[]) => r[0]!.metadata.review?.decision), ['approved', 'approved', 'approved', 'approved']);

    const phone = await page({ width: 390, height: 844, dark: true });
    await openDataset(phone, id);
    await phone.getByRole('button', { name: `Review (${left})` }).click();
    await review(phone).getByRole('heading', { name: `Sector · row “Company ${NEEDS_REVIEW.find((i) => i > 3)}”` }).waitFor({ timeout: WAIT });
    await expectAxeClean(phone, 'review mode at 390 px, dark');
    const overflow = await phone.evaluate(() => (document as any).documentElement.scrollWidth - (globalThis as any).innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling (overflow ${overflow}px)`);
    await phone.keyboard.press('a');
    await phone.getByRole('button', { name: `Review (${left - 1})` }).waitFor({ timeout: WAIT });
    await finish();
  });
});
