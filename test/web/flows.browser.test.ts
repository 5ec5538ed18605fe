import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { destination } from '../../src/providers/places/geo.ts';
import { startFakeOpenAI, type FakeLlmServer, type FakeReply, type RecordedRequest } from '../fakes/openai-server.ts';
import { webAnswerer } from '../fakes/web-answerer.ts';
import { COMPANY, startFakeWebsite, type FakeWebsite } from '../fakes/website.ts';
import { osmPbf, type OsmNode } from '../fixtures/osm-pbf-writer.ts';
import { ADMIN_KEY, startTestApp, type TestApp } from '../helpers/app.ts';
import { browserSkip, cellText, clickCell, gotoDataset, ensureWebBuild, launchBrowser, pageTracker, signIn } from '../helpers/browser.ts';
import { waitForDatasource } from '../helpers/documents.ts';
import { waitForTask } from '../helpers/tasks.ts';

/**
 * The web app's other flows in Chromium, against the real server, the fake LLM, a fake website and
 * a local map extract: the datasets list (filters, pagination, rename, delete), columns (edit,
 * delete), what a selection of raw cells offers, cancel, new rows, web and map sources, linking a
 * document, downloading a datasource, and creating API keys and webhooks. Like the other browser
 * tests, each fails on a console error or a failed request it did not provoke.
 */
const STORE = { lat: 51.5, lng: -0.12 };
const near = (bearing: number, m: number) => destination(STORE.lat, STORE.lng, bearing, m);
const NODES: OsmNode[] = [
  { id: 1, ...near(0, 100), tags: { amenity: 'cafe', name: 'Cafe One' } },
  { id: 2, ...near(90, 300), tags: { amenity: 'cafe', name: 'Cafe Two' } },
  { id: 3, ...near(180, 800), tags: { shop: 'coffee', name: 'Beans' } },
  { id: 4, ...near(270, 2500), tags: { amenity: 'cafe', name: 'Far Cafe' } },
];

const userText = (req: RecordedRequest) => String(req.body.messages?.at(-1)?.content ?? '');
const schemaName = (req: RecordedRequest) => (req.body.response_format as { json_schema?: { name?: string } } | undefined)?.json_schema?.name;

describe('web app flows in the browser', { skip: browserSkip }, () => {
  let app: TestApp;
  let fake: FakeLlmServer;
  let site: FakeWebsite;
  let hooks: Server;
  const deliveries: string[] = [];
  let dir: string;
  let browser: Browser;
  /** Per test: a slower answer for some prompts (cancel). */
  let slow: ((req: RecordedRequest) => FakeReply | undefined) | undefined;
  const web = webAnswerer();
  before(async () => {
    await ensureWebBuild();
    dir = await mkdtemp(path.join(os.tmpdir(), 'cw-web-flows-'));
    await writeFile(path.join(dir, 'extract.osm.pbf'), osmPbf(NODES));
    site = await startFakeWebsite();
    hooks = createServer((req, res) => {
      deliveries.push(`${req.method} ${req.url} ${String(req.headers['x-cellwise-event'] ?? '')}`);
      req.resume();
      res.end('ok');
    });
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    fake = await startFakeOpenAI({
      latencyMs: 5,
      respond: (req) => {
        if (schemaName(req) === 'new_rows') {
          const count = Number(/Write (\d+) new rows/.exec(userText(req))?.[1]);
          return { kind: 'json', value: { rows: Array.from({ length: count }, (_, i) => ({ Name: `New ${i + 1}`, City: `Town ${i + 1}` })) } };
        }
        return slow?.(req) ?? web(req);
      },
    });
    app = await startTestApp({ openaiBaseUrl: fake.baseUrl, model: 'openai:gpt-4o-mini', llmMaxAttempts: 1, fetchAllowPrivate: true, fetchHostDelayMs: 0, placesFile: path.join(dir, 'extract.osm.pbf') });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await fake?.close();
    await site?.close();
    await new Promise((r) => hooks?.close(r));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const { page, finish, expectAxeClean } = pageTracker(() => browser);
  async function dataset(body: Record<string, unknown>): Promise<string> {
    const res = await app.post('/api/v2/datasets', body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.datasetId as string;
  }
  async function addColumn(datasetId: string, body: Record<string, unknown>): Promise<string> {
    const res = await app.post(`/api/v2/datasets/${datasetId}/columns`, body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.columnId as string;
  }
  async function openDataset(p: Page, datasetId: string, firstCell: RegExp) {
    await signIn(p, app.baseUrl, ADMIN_KEY);
    await gotoDataset(p, `${app.baseUrl}/datasets/${datasetId}`);
    await cellText(p, 0, 0, firstCell);
  }
  const pager = (p: Page) => p.getByRole('navigation', { name: 'Pagination' });
  const listNames = (p: Page) => p.locator('table.list tbody tr td:first-child').allTextContents();

  it('the datasets list filters by type and status and pages through 20 at a time', async () => {
    const classes = Array.from({ length: 22 }, (_, i) => `Class ${String(i + 1).padStart(2, '0')}`);
    for (const name of classes) await dataset({ name, type: 'classification', columns: [{ name: 'Text', taskType: 'raw' }] });
    await dataset({ name: 'Only analysis', type: 'analysis', columns: [{ name: 'Text', taskType: 'raw' }] });
    const p = await page();
    await signIn(p, app.baseUrl, ADMIN_KEY);
    await pager(p).getByText('Page 1 of 2 · 23 in all').waitFor();
    assert.equal((await listNames(p)).length, 20);

    await p.getByLabel('Type').selectOption('classification');
    await pager(p).getByText('Page 1 of 2 · 22 in all').waitFor();
    const first = await listNames(p);
    assert.equal(first.length, 20);
    assert.ok(!first.includes('Only analysis'));
    assert.deepEqual([...new Set(await p.locator('table.list tbody tr td:nth-child(2)').allTextContents())], ['classification']);
    await pager(p).getByRole('button', { name: 'Next' }).click();
    await pager(p).getByText('Page 2 of 2 · 22 in all').waitFor();
    await p.waitForFunction(() => (globalThis as any).document.querySelectorAll('table.list tbody tr').length === 2);
    const second = await listNames(p);
    assert.deepEqual([...first, ...second].sort(), classes, 'the two pages hold every classification dataset once');
    assert.ok(await pager(p).getByRole('button', { name: 'Next' }).isDisabled());
    await expectAxeClean(p, 'datasets, filtered, page 2');

    // A filter change goes back to page 1; a status nothing has shows the filtered empty state.
    await p.getByLabel('Status').selectOption('processing');
    await p.getByRole('heading', { name: 'No dataset matches these filters' }).waitFor();
    await p.getByLabel('Status').selectOption('completed');
    await pager(p).getByText('Page 1 of 2 · 22 in all').waitFor();
    await p.getByLabel('Type').selectOption('analysis');
    await pager(p).getByText('Page 1 of 1 · 1 in all').waitFor();
    assert.deepEqual(await listNames(p), ['Only analysis']);
    await finish();
  });

  it('renames a dataset, and deletes it only after the confirmation', async () => {
    const id = await dataset({ name: 'Before rename', type: 'extraction', columns: [{ name: 'Text', taskType: 'raw' }] });
    const p = await page();
    await signIn(p, app.baseUrl, ADMIN_KEY);
    await p.getByLabel('Type').selectOption('extraction');
    await p.getByRole('button', { name: 'Rename Before rename' }).click();
    const rename = p.getByRole('dialog', { name: 'Rename dataset' });
    await expectAxeClean(p, 'rename dialog');
    await rename.getByLabel('Name').fill('After rename');
    await rename.getByRole('button', { name: 'Save' }).click();
    await rename.waitFor({ state: 'detached' });
    await p.getByRole('link', { name: 'After rename' }).waitFor();
    assert.equal((await app.get(`/api/v2/datasets/${id}`)).body.name, 'After rename');

    await p.getByRole('button', { name: 'Delete After rename' }).click();
    let confirm = p.getByRole('dialog', { name: 'Delete dataset' });
    await confirm.getByText(/This cannot be undone/).waitFor();
    await expectAxeClean(p, 'delete confirmation');
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    assert.equal((await app.get(`/api/v2/datasets/${id}`)).status, 200, 'cancel keeps the dataset');
    await p.getByRole('link', { name: 'After rename' }).waitFor();

    await p.getByRole('button', { name: 'Delete After rename' }).click();
    confirm = p.getByRole('dialog', { name: 'Delete dataset' });
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await p.getByRole('heading', { name: 'No dataset matches these filters' }).waitFor();
    assert.equal((await app.get(`/api/v2/datasets/${id}`)).status, 404);
    await finish();
  });

  it('a selection of raw cells offers no run; edits a column from its header, and deletes it only after the confirmation', async () => {
    const id = await dataset({ name: 'Columns', type: 'analysis', rows: [{ Name: 'Ada', City: 'London' }, { Name: 'Alan', City: 'Wilmslow' }] });
    const columnId = await addColumn(id, { name: 'Greeting', taskType: 'ai_enrich', metadata: { prompt: 'Say hello to {{Name}}' } });
    const p = await page();
    await openDataset(p, id, /^Ada$/);
    const run = p.getByRole('toolbar').getByRole('button', { name: /^Run/ });

    // Raw cells only: the toolbar offers no "Run (n cells)", the dialog says the selection cannot run.
    await clickCell(p, 0, 0);
    await p.keyboard.press('Shift+ArrowRight');
    await p.keyboard.press('Shift+ArrowDown');
    await p.getByRole('complementary', { name: 'Cell Name, row 1' }).waitFor();
    assert.equal(await run.textContent(), 'Run');
    await run.click();
    let dialog = p.getByRole('dialog', { name: 'Run cells' });
    await dialog.getByText(/nothing to run/).waitFor();
    assert.ok(await dialog.getByRole('radio', { name: /The selection/ }).isDisabled());
    assert.ok(await dialog.getByRole('radio', { name: /Every empty or stale cell/ }).isChecked());
    await dialog.getByTestId('estimate-cells').filter({ hasText: '2' }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    // A range over raw and computed cells runs the computed ones only.
    await clickCell(p, 1, 0);
    await p.keyboard.press('Shift+ArrowRight');
    await p.keyboard.press('Shift+ArrowDown');
    await p.waitForFunction(() => (globalThis as any).document.querySelector('[role=toolbar] button.primary')?.textContent === 'Run (2 cells)');
    await run.click();
    dialog = p.getByRole('dialog', { name: 'Run cells' });
    assert.ok(await dialog.getByRole('radio', { name: /The selection \(2 cells\)/ }).isChecked());
    await dialog.getByTestId('estimate-cells').filter({ hasText: '2' }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    // Edit: the header opens the column panel with the column's fields.
    await clickCell(p, 2, -1);
    let panel = p.getByRole('complementary', { name: 'Column Greeting' });
    assert.equal(await panel.getByLabel(/^Prompt/).inputValue(), 'Say hello to {{Name}}');
    await panel.getByLabel('Name', { exact: true }).fill('Salutation');
    await panel.getByLabel(/^Prompt/).fill('Say hello to {{City}}');
    await panel.getByRole('button', { name: 'Save' }).click();
    await panel.waitFor({ state: 'detached' });
    await p.getByRole('columnheader', { name: 'Salutation', includeHidden: true }).waitFor({ state: 'attached' });
    const saved = (await app.get(`/api/v2/datasets/${id}`)).body.columns.find((c: { columnId: string }) => c.columnId === columnId);
    assert.equal(saved.name, 'Salutation');
    assert.equal(saved.metadata.prompt, 'Say hello to {{City}}');

    // Delete: asks first; Cancel keeps the column.
    await clickCell(p, 2, -1);
    panel = p.getByRole('complementary', { name: 'Column Salutation' });
    await panel.getByRole('button', { name: 'Delete column' }).click();
    let confirm = p.getByRole('dialog', { name: 'Delete column?' });
    await confirm.getByText(/Delete “Salutation” and all its values/).waitFor();
    await expectAxeClean(p, 'delete column confirmation');
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    assert.equal((await app.get(`/api/v2/datasets/${id}`)).body.columns.length, 3, 'cancel keeps the column');
    await panel.getByRole('button', { name: 'Delete column' }).click();
    confirm = p.getByRole('dialog', { name: 'Delete column?' });
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await panel.waitFor({ state: 'detached' });
    await p.getByRole('columnheader', { name: 'Salutation', includeHidden: true }).waitFor({ state: 'detached' });
    assert.deepEqual((await app.get(`/api/v2/datasets/${id}`)).body.columns.map((c: { name: string }) => c.name), ['Name', 'City']);
    await finish();
  });

  it('cancels a running task from its progress bar', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({ Name: `Slow ${i + 1}` }));
    const id = await dataset({ name: 'To cancel', type: 'analysis', rows });
    await addColumn(id, { name: 'Answer', taskType: 'ai_enrich', metadata: { prompt: 'Answer slowly for {{Name}}' } });
    slow = (req) => (/Answer slowly/.test(userText(req)) ? { kind: 'text', text: 'late', delayMs: 2_000 } : undefined);
    try {
      const p = await page();
      await openDataset(p, id, /^Slow 1$/);
      await p.getByRole('button', { name: /^Run/ }).click();
      await p.getByRole('dialog', { name: 'Run cells' }).getByRole('button', { name: 'Run 40 cells' }).click();
      const progress = p.locator('.task-progress');
      await progress.getByText(/Task (queued|processing)/).waitFor();
      await progress.getByRole('button', { name: 'Cancel' }).click();
      await progress.getByText(/Task cancelled/).waitFor();
      await progress.getByRole('button', { name: 'Dismiss' }).waitFor();
      const detail = (await app.get(`/api/v2/datasets/${id}`)).body;
      assert.equal(detail.activeTaskId, null);
      const tasks = (await app.get(`/api/v2/datasets/${id}/tasks`)).body.tasks as { status: string; progress: { completed: number } }[];
      assert.equal(tasks[0]!.status, 'cancelled');
      assert.ok(tasks[0]!.progress.completed < 40, JSON.stringify(tasks[0]));
      // The page is editable again: the toolbar's actions are back.
      assert.ok(await p.getByRole('toolbar').getByRole('button', { name: 'Add column' }).isEnabled());
      await finish();
    } finally {
      slow = undefined;
    }
  });

  it('generates new rows with the count asked for, and the grid shows them', async () => {
    const id = await dataset({ name: 'Growing', type: 'analysis', rows: [{ Name: 'Ada', City: 'London' }, { Name: 'Alan', City: 'Wilmslow' }] });
    const p = await page();
    await openDataset(p, id, /^Ada$/);
    await p.getByText('2 rows', { exact: false }).first().waitFor();
    await p.getByRole('toolbar').getByRole('button', { name: 'New rows' }).click();
    const dialog = p.getByRole('dialog', { name: 'Generate new rows' });
    await expectAxeClean(p, 'new rows dialog');
    await dialog.getByLabel(/How many rows/).fill('3');
    // The answer to the POST that starts the task is held back until the task has finished, so
    // the event stream says "completed" first: the late "queued" answer must not win.
    await p.route('**/tasks/new-rows', async (route) => {
      const answer = await route.fetch();
      const { taskId } = await answer.json();
      for (let i = 0; i < 300 && (await app.get(`/api/v2/datasets/${id}/tasks/${taskId}`)).body.status !== 'completed'; i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 300));
      await route.fulfill({ response: answer });
    });
    const answered = p.waitForResponse((r) => r.url().endsWith('/tasks/new-rows'));
    await dialog.getByRole('button', { name: 'Generate 3 rows' }).click();
    await answered;
    await p.getByText(/Task completed/).waitFor();
    await cellText(p, 0, 2, /^New 1$/);
    await cellText(p, 1, 4, /^Town 3$/);
    await p.getByText(/· 5 rows ·/).waitFor();
    const asked = fake.requests.filter((r) => schemaName(r) === 'new_rows').map((r) => Number(/Write (\d+) new rows/.exec(userText(r))?.[1]));
    assert.deepEqual(asked, [3]);
    assert.equal((await app.get(`/api/v2/datasets/${id}`)).body.rowCount, 5);
    await finish();
  });

  it('the cell panel shows a web_enrich cell\'s pages (title, safe link, quote) and a places cell\'s provider, tags and sample', async () => {
    const webId = await dataset({ name: 'Web', type: 'analysis', rows: [{ Company: 'Acme', Website: `${site.url}/` }] });
    const websiteColumn = (await app.get(`/api/v2/datasets/${webId}`)).body.columns.find((c: { name: string }) => c.name === 'Website').columnId;
    await addColumn(webId, { name: 'CEO', taskType: 'web_enrich', metadata: { prompt: 'Who is the chief executive officer of {{Company}}?', urlColumnId: websiteColumn, maxPages: 3 } });
    const placesId = await dataset({ name: 'Stores', type: 'analysis', rows: [{ Store: 'A', Latitude: STORE.lat, Longitude: STORE.lng }] });
    await addColumn(placesId, { name: 'Coffee', taskType: 'places_count', metadata: { prompt: 'coffee shops', radiusMeters: 1000 } });
    for (const id of [webId, placesId]) {
      const task = await app.post(`/api/v2/datasets/${id}/tasks/bulk`, {});
      assert.equal(task.status, 202, JSON.stringify(task.body));
      assert.equal((await waitForTask(app, id, task.body.taskId, undefined, 60_000)).status, 'completed');
    }

    const p = await page();
    await openDataset(p, webId, /^Acme$/);
    await cellText(p, 2, 0, /chief executive officer/);
    await clickCell(p, 2, 0);
    let sources = p.getByRole('complementary', { name: 'Cell CEO, row 1' }).getByRole('region', { name: 'Sources' });
    const link = sources.getByRole('link', { name: 'Our team' });
    await link.waitFor();
    assert.equal(await link.getAttribute('href'), `${site.url}/team`);
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    assert.equal(await sources.locator('blockquote').first().textContent(), COMPANY.ceo);
    await expectAxeClean(p, 'cell panel with a web source');

    await gotoDataset(p, `${app.baseUrl}/datasets/${placesId}`);
    await cellText(p, 3, 0, /^3$/);
    await clickCell(p, 3, 0);
    sources = p.getByRole('complementary', { name: 'Cell Coffee, row 1' }).getByRole('region', { name: 'Sources' });
    await sources.getByText(/Map.*: local/).waitFor();
    assert.equal(await sources.getByTestId('map-tags').textContent(), 'amenity=cafe or shop=coffee');
    assert.equal(await sources.getByTestId('map-sample').textContent(), 'Cafe One, Cafe Two, Beans');
    await sources.getByText('1,000 m').waitFor();
    await expectAxeClean(p, 'cell panel with a map source');
    await finish();
  });

  it('links an uploaded document to a raw cell of an extraction dataset, and uploads one into another cell', async () => {
    const up = await app.upload('/api/v2/datasources/upload', [{ name: 'invoice.txt', content: 'Total: 42 EUR', type: 'text/plain' }]);
    assert.equal(up.status, 201, JSON.stringify(up.body));
    await waitForDatasource(app, up.body.datasourceId);
    const id = await dataset({ name: 'Invoices', type: 'extraction', rows: [{ document: null, Note: 'first' }, { document: null, Note: 'second' }] });
    const p = await page();
    await openDataset(p, id, /^$/);
    await cellText(p, 1, 0, /^first$/);
    await clickCell(p, 0, 0);
    const panel = p.getByRole('complementary', { name: 'Cell document, row 1' });
    await panel.getByRole('option', { name: 'invoice.txt' }).waitFor({ state: 'attached' });
    await expectAxeClean(p, 'cell panel with document linking');
    await panel.getByLabel('Link a document').selectOption({ label: 'invoice.txt' });
    await panel.getByRole('button', { name: 'Link' }).click();
    await cellText(p, 0, 0, /^invoice\.txt$/);
    await panel.getByText('Document: invoice.txt').waitFor();
    assert.deepEqual((await app.get(`/api/v2/datasets/${id}`)).body.linkedDatasources, [up.body.datasourceId]);

    await p.keyboard.press('Escape');
    await clickCell(p, 0, 1);
    const second = p.getByRole('complementary', { name: 'Cell document, row 2' });
    await second.getByLabel('Upload a document into this cell').setInputFiles({ name: 'second.txt', mimeType: 'text/plain', buffer: Buffer.from('Total: 7 EUR') });
    await cellText(p, 0, 1, /^second\.txt$/);
    const cell = (await app.get(`/api/v2/datasets/${id}/data`)).body.data[1][0];
    assert.equal(cell.value.fileName, 'second.txt');
    await finish();
  });

  it('downloads a datasource\'s original file from the datasources page', async () => {
    const content = 'name,total\nAcme,250\n';
    const up = await app.upload('/api/v2/datasources/upload', [{ name: 'to-download.csv', content, type: 'text/csv' }]);
    assert.equal(up.status, 201, JSON.stringify(up.body));
    await waitForDatasource(app, up.body.datasourceId);
    const p = await page();
    await signIn(p, app.baseUrl, ADMIN_KEY);
    await p.getByRole('link', { name: 'Datasources' }).click();
    const row = p.getByRole('row').filter({ hasText: 'to-download.csv' });
    await row.getByText('completed').waitFor();
    const [download] = await Promise.all([p.waitForEvent('download'), row.getByRole('button', { name: 'Download to-download.csv' }).click()]);
    assert.equal(download.suggestedFilename(), 'to-download.csv');
    assert.equal(await readFile((await download.path())!, 'utf8'), content);
    await finish();
  });

  it('creates an API key (shown once, and it works) and a webhook (validation next to its field, test delivery)', async () => {
    const p = await page({ allow: [/response: 400 POST .*\/api\/v2\/webhooks$/] });
    await signIn(p, app.baseUrl, ADMIN_KEY);
    await p.getByRole('link', { name: 'API keys' }).click();
    await p.getByRole('heading', { name: 'API keys', exact: true }).waitFor();
    await p.getByLabel('Name').fill('reporting bot');
    await p.getByRole('checkbox', { name: 'write' }).uncheck();
    await p.getByRole('button', { name: 'Create key' }).click();
    const shown = p.getByRole('status').filter({ hasText: 'not shown again' });
    const key = (await shown.locator('code').textContent()) ?? '';
    assert.match(key, /^cw_/);
    await p.getByRole('row').filter({ hasText: 'reporting bot' }).getByText('read').waitFor();
    await expectAxeClean(p, 'keys with a new key');
    assert.equal((await app.get('/api/v2/datasets', { key })).status, 200, 'the new key reads');
    assert.equal((await app.post('/api/v2/datasets', { name: 'x', type: 'analysis' }, { key })).status, 403, 'and only reads');
    await p.reload();
    await p.getByRole('row').filter({ hasText: 'reporting bot' }).waitFor();
    assert.equal(await p.getByText(key).count(), 0, 'the key is not shown again');

    await p.getByRole('link', { name: 'Webhooks' }).click();
    await p.getByRole('heading', { name: 'Webhooks', exact: true }).waitFor();
    const hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`;
    await p.getByLabel('Name').fill('CRM sync');
    await p.getByLabel('URL').fill(hookUrl);
    await p.getByLabel(/^Secret/).fill('too short');
    await p.getByRole('checkbox', { name: 'dataset.deleted' }).check();
    await p.getByRole('button', { name: 'Create webhook' }).click();
    const secret = p.getByLabel(/^Secret/);
    await p.locator('#wh-secret + .field-error').waitFor();
    assert.equal(await secret.getAttribute('aria-invalid'), 'true');
    assert.equal(await secret.inputValue(), 'too short', 'what was typed stays');
    await secret.fill('a-secret-long-enough-for-signing');
    await p.getByRole('button', { name: 'Create webhook' }).click();
    const row = p.getByRole('row').filter({ hasText: 'CRM sync' });
    await row.getByText(hookUrl).waitFor();
    await expectAxeClean(p, 'webhooks with one');
    const saved = (await app.get('/api/v2/webhooks')).body.webhooks as { name: string; url: string; events: string[] }[];
    assert.deepEqual(saved.map((w) => [w.name, w.url, [...w.events].sort()]), [['CRM sync', hookUrl, ['dataset.deleted', 'dataset.task.completed']]]);
    await row.getByRole('button', { name: 'Test' }).click();
    await p.getByText('Test delivery sent.').waitFor();
    assert.equal(deliveries.length, 1);
    assert.match(deliveries[0]!, /^POST \/hook/);
    await finish();
  });
});
