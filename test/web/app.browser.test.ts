import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startFakeOpenAI, type FakeLlmServer, type FakeReply, type RecordedRequest } from '../fakes/openai-server.ts';
import { ADMIN_KEY, startTestApp, type TestApp } from '../helpers/app.ts';
import { browserSkip, cellText, clickCell, gotoDataset, ensureWebBuild, launchBrowser, pageTracker, signIn } from '../helpers/browser.ts';
import { cite, docAnswer } from '../helpers/doc-answers.ts';
import { textPdf } from '../helpers/documents.ts';

// Globals of the page, for the functions that run inside it (page.evaluate).
declare const window: any, document: any, sessionStorage: any, navigator: any;

/**
 * The web app in Chromium, against the real server and the fake LLM. Every page is checked with
 * axe (no serious or critical violation) and every test fails on a console error or a failed
 * request other than the ones it provokes.
 */
describe('web app in the browser', { skip: browserSkip }, () => {
  let app: TestApp;
  let fake: FakeLlmServer;
  let browser: Browser;
  let script: ((req: RecordedRequest) => FakeReply | undefined) | undefined;
  before(async () => {
    await ensureWebBuild();
    fake = await startFakeOpenAI({ latencyMs: 30, respond: (r) => script?.(r) });
    app = await startTestApp({ openaiBaseUrl: fake.baseUrl, model: 'openai:gpt-4o-mini', llmMaxAttempts: 1 });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await fake?.close();
  });

  const { page, finish, expectAxeClean } = pageTracker(() => browser);
  async function uploadFiles(p: Page, files: { name: string; mimeType: string; buffer: Buffer }[]) {
    await p.locator('#upload-input').setInputFiles(files);
  }

  let datasetUrl = '';

  it('signs in with an API key; a bad key stays on sign-in with the reason; a revoked key returns there', async () => {
    const p = await page({ allow: [/response: 401 /] });
    await p.goto(`${app.baseUrl}/`);
    await expectAxeClean(p, 'sign-in');
    await p.getByLabel('API key').fill('cw_not_a_real_key_000000000000');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('alert').filter({ hasText: /UNAUTHORIZED/ }).waitFor();
    assert.equal(await p.evaluate(() => sessionStorage.length), 0);

    const created = await app.post('/api/v2/keys', { name: 'browser', scopes: ['read', 'write'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await signIn(p, app.baseUrl, created.body.key);
    assert.equal(await p.evaluate(() => sessionStorage.getItem('cellwise.apiKey')), created.body.key);
    assert.ok(!p.url().includes(created.body.key));
    assert.equal((await app.del(`/api/v2/keys/${created.body.keyId}`)).status, 200);
    await p.getByRole('link', { name: 'Datasources' }).click();
    await p.getByLabel('API key').waitFor();
    await p.getByRole('alert').waitFor();
    assert.equal(await p.evaluate(() => sessionStorage.getItem('cellwise.apiKey')), null);
    await finish();
  });

  it('uploads a CSV, adds an ai_enrich column through the form (API error next to its field), estimates, runs and watches the cells fill live', async () => {
    const p = await page({ allow: [/response: 400 POST .*\/columns$/] });
    await signIn(p, app.baseUrl, ADMIN_KEY);
    await expectAxeClean(p, 'datasets (empty)');
    const csv = ['Name,City', ...Array.from({ length: 12 }, (_, i) => `Person ${i + 1},City ${i + 1}`)].join('\n');
    await uploadFiles(p, [{ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) }]);
    await p.getByRole('heading', { name: 'people' }).waitFor();
    datasetUrl = p.url();
    await cellText(p, 0, 0, /^Person 1$/);
    assert.deepEqual(await p.getByRole('columnheader', { includeHidden: true }).allTextContents(), ['Name', 'City']);
    await expectAxeClean(p, 'dataset grid');

    await p.getByRole('toolbar').getByRole('button', { name: 'Add column' }).click();
    const panel = p.getByRole('complementary', { name: 'New column' });
    await panel.getByLabel('Name', { exact: true }).fill('Greeting');
    await panel.getByLabel(/AI enrich/).check();
    const prompt = panel.getByLabel(/^Prompt/);
    await prompt.fill('Say hello to {{Nobody}}');
    await panel.getByRole('button', { name: 'Add column' }).click();
    const fieldError = panel.locator('#col-prompt-error');
    await fieldError.waitFor();
    assert.match((await fieldError.textContent()) ?? '', /Nobody/);
    assert.equal(await prompt.inputValue(), 'Say hello to {{Nobody}}', 'what was typed stays');
    await expectAxeClean(p, 'column panel with an error');

    // Autocomplete: {{ offers the columns; Enter inserts one.
    await prompt.fill('');
    await prompt.pressSequentially('Say hello to {{Na');
    await panel.getByRole('option', { name: 'Name' }).waitFor();
    await prompt.press('Enter');
    assert.equal(await prompt.inputValue(), 'Say hello to {{Name}}');
    await panel.getByRole('button', { name: 'Add column' }).click();
    await panel.waitFor({ state: 'detached' });
    await p.getByRole('columnheader', { name: 'Greeting', includeHidden: true }).waitFor({ state: 'attached' });

    await p.getByRole('button', { name: /^Run/ }).click();
    const dialog = p.getByRole('dialog', { name: 'Run cells' });
    await dialog.getByTestId('estimate-cells').filter({ hasText: '12' }).waitFor();
    await expectAxeClean(p, 'run dialog with estimate');
    // Live means no reload and no polling: the page keeps a marker, and no GET /data is made
    // between the run and the filled cells.
    await p.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
    let dataReads = 0;
    p.on('request', (r) => {
      if (/\/data\?/.test(r.url())) dataReads++;
    });
    await dialog.getByRole('button', { name: 'Run 12 cells' }).click();
    await p.locator('#task-bar').waitFor();
    await cellText(p, 2, 0, /^fake answer /);
    await cellText(p, 2, 11, /^fake answer /);
    assert.equal(dataReads, 0, 'cells filled from the event stream');
    assert.equal(await p.evaluate(() => (window as unknown as { marker: number }).marker), 1, 'no reload');
    await p.getByText(/Task completed: 12 of 12 cells/).waitFor();
    await finish();
  });

  it('edits a raw cell inline and its dependents turn stale; the cell panel shows how a value was made', async () => {
    const p = await page();
    await signIn(p, app.baseUrl, ADMIN_KEY);
    await gotoDataset(p, datasetUrl);
    await cellText(p, 2, 0, /^fake answer /);
    await clickCell(p, 0, 0);
    await p.keyboard.press('Enter');
    const editor = p.locator('#portal textarea, .gdg-input').first();
    await editor.waitFor();
    await editor.fill('Zed');
    await editor.press('Enter');
    await cellText(p, 0, 0, /^Zed$/);
    await cellText(p, 2, 0, /\(stale\)$/);
    await p.keyboard.press('Escape');

    // Keyboard selection and copy as TSV.
    await p.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.baseUrl });
    await clickCell(p, 0, 0);
    await p.keyboard.press('Shift+ArrowRight');
    await p.keyboard.press('Shift+ArrowDown');
    await p.keyboard.press('Control+c');
    await p.waitForFunction(() => navigator.clipboard.readText().then((t: string) => t.length > 0));
    assert.equal(await p.evaluate(() => navigator.clipboard.readText()), 'Zed\tCity 1\nPerson 2\tCity 2');
    await p.keyboard.press('Escape');

    await clickCell(p, 2, 1);
    const panel = p.getByRole('complementary', { name: 'Cell Greeting, row 2' });
    await panel.getByText('openai:gpt-4o-mini').waitFor();
    assert.match((await panel.getByTestId('cell-value').textContent()) ?? '', /^fake answer /);
    await panel.getByText('Attempts').waitFor();
    await expectAxeClean(p, 'cell panel');
    await finish();
  });

  it('exports the table and downloads the file', async () => {
    const p = await page();
    await signIn(p, app.baseUrl, ADMIN_KEY);
    await gotoDataset(p, datasetUrl);
    await cellText(p, 0, 0, /^Zed$/);
    await p.getByRole('button', { name: 'Export' }).click();
    const dialog = p.getByRole('dialog', { name: 'Export' });
    await expectAxeClean(p, 'export dialog');
    const [download] = await Promise.all([p.waitForEvent('download'), dialog.getByRole('button', { name: 'Export and download' }).click()]);
    const text = await readFile((await download.path())!, 'utf8');
    assert.match(text.split('\n')[0]!, /Name,City,Greeting/);
    assert.match(text, /Zed,City 1,/);
    assert.equal(text.trim().split('\n').length, 13);
    await finish();
  });

  it('an extraction dataset from two PDFs: a doc_extraction column, run, and the quote highlighted on its page', async () => {
    script = docAnswer((field, pages) => (/invoice/i.test(field.name) ? cite(pages, /Invoice number (\d+)/) : undefined));
    const p = await page();
    await signIn(p, app.baseUrl, ADMIN_KEY);
    const a = Buffer.from(await textPdf([['ACME GmbH'], ['Invoice number 1001', 'Total due: 250.00 EUR']]));
    const b = Buffer.from(await textPdf([['Invoice number 2002', 'Globex Inc']]));
    await uploadFiles(p, [
      { name: 'a.pdf', mimeType: 'application/pdf', buffer: a },
      { name: 'b.pdf', mimeType: 'application/pdf', buffer: b },
    ]);
    await p.getByRole('heading', { name: '2 documents' }).waitFor();
    await cellText(p, 0, 0, /^a\.pdf$/);
    await p.getByRole('toolbar').getByRole('button', { name: 'Add column' }).click();
    const panel = p.getByRole('complementary', { name: 'New column' });
    await panel.getByLabel('Name', { exact: true }).fill('Invoice number');
    assert.ok(await panel.getByLabel(/Document extraction/).isChecked(), 'extraction datasets default to doc_extraction');
    await panel.getByLabel(/^Extraction prompt/).fill('The invoice number');
    await panel.getByRole('button', { name: 'Add column' }).click();
    await p.getByRole('columnheader', { name: 'Invoice number', includeHidden: true }).waitFor({ state: 'attached' });
    await p.getByRole('button', { name: /^Run/ }).click();
    const dialog = p.getByRole('dialog', { name: 'Run cells' });
    await dialog.getByRole('button', { name: 'Run 2 cells' }).click();
    await cellText(p, 1, 0, /^1001$/, 120_000);
    await cellText(p, 1, 1, /^2002$/, 120_000);
    await clickCell(p, 1, 0);
    const cellPanel = p.getByRole('complementary', { name: 'Cell Invoice number, row 1' });
    const sources = cellPanel.getByRole('region', { name: 'Sources' });
    await sources.getByText('a.pdf').waitFor();
    await sources.getByText(/page 2/).first().waitFor();
    const mark = sources.locator('pre.page-text mark.quote');
    await mark.waitFor();
    assert.equal(await mark.textContent(), 'Invoice number 1001');
    assert.match((await sources.locator('pre.page-text').textContent()) ?? '', /Total due: 250\.00 EUR/);
    await expectAxeClean(p, 'cell panel with a document source');
    await finish();
  });

  it('script payloads from a CSV stay text in the grid and the cell panel: nothing runs', async () => {
    const p = await page();
    const dialogs: string[] = [];
    p.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await signIn(p, app.baseUrl, ADMIN_KEY);
    const payloads = ['<img src=x onerror="window.__xss=1;alert(1)">', 'javascript:window.__xss=2', '<script>window.__xss=3</script>', '<a href="javascript:alert(4)">click</a>'];
    const csv = 'Payload\n' + payloads.map((s) => `"${s.replace(/"/g, '""')}"`).join('\n');
    await uploadFiles(p, [{ name: 'evil.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) }]);
    await p.getByRole('heading', { name: 'evil' }).waitFor();
    for (let i = 0; i < payloads.length; i++) {
      await cellText(p, 0, i, new RegExp(`^${payloads[i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
      await clickCell(p, 0, i);
      const panel = p.getByRole('complementary', { name: `Cell Payload, row ${i + 1}` });
      await panel.waitFor();
      assert.equal(await panel.getByLabel('Value').inputValue(), payloads[i]);
      await p.keyboard.press('Escape');
    }
    const ran = await p.evaluate(() => ({
      xss: (window as unknown as { __xss?: number }).__xss,
      imgs: document.querySelectorAll('img[src="x"]').length,
      scripts: [...document.scripts].filter((s: { src: string }) => !s.src).length,
      jsLinks: document.querySelectorAll('a[href^="javascript:"]').length,
    }));
    assert.deepEqual(ran, { xss: undefined, imgs: 0, scripts: 0, jsLinks: 0 });
    assert.deepEqual(dialogs, []);
    await finish();
  });

  it('not-found pages, a failed upload with message and code, the unreachable-server banner with retry, and axe on the other pages in both themes and sizes', async () => {
    const p = await page({ allow: [/response: 404 GET .*\/datasets\/ds_nope/, /response: 415 POST .*\/datasets\/upload/, /requestfailed: GET .*\/datasources/] });
    await signIn(p, app.baseUrl, ADMIN_KEY);
    await p.goto(`${app.baseUrl}/datasets/ds_nope`);
    await p.getByRole('heading', { name: 'Not found' }).waitFor();
    await expectAxeClean(p, 'dataset not found');
    await p.goto(`${app.baseUrl}/no/such/page`);
    await p.getByRole('heading', { name: 'Not found' }).waitFor();

    await p.goto(`${app.baseUrl}/`);
    await uploadFiles(p, [{ name: 'blob.bin', mimeType: 'application/octet-stream', buffer: Buffer.from([0, 1, 2, 3, 255, 254, 0, 7]) }]);
    await p.getByRole('alert').filter({ hasText: 'UNSUPPORTED_FILE_TYPE' }).waitFor();

    await p.route('**/api/v2/datasources?**', (r) => r.abort());
    await p.getByRole('link', { name: 'Datasources' }).click();
    const banner = p.getByRole('alert').filter({ hasText: 'cannot be reached' });
    await banner.waitFor();
    await p.unroute('**/api/v2/datasources?**');
    await banner.getByRole('button', { name: 'Retry' }).click();
    await p.getByRole('cell', { name: 'a.pdf' }).first().waitFor();
    await banner.waitFor({ state: 'detached' });
    await expectAxeClean(p, 'datasources');
    for (const [path, heading] of [['/admin/keys', 'API keys'], ['/admin/webhooks', 'Webhooks']] as const) {
      await p.goto(`${app.baseUrl}${path}`);
      await p.getByRole('heading', { name: heading, exact: true }).waitFor();
      await expectAxeClean(p, path);
    }

    for (const dark of [false, true]) {
      for (const width of [1280, 390]) {
        const q = await page({ width, height: width === 390 ? 844 : 800, dark });
        const noSideways = async (where: string) => {
          const overflow = await q.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          assert.ok(overflow <= 0, `no sideways scrolling of ${where} at ${width}px (overflow ${overflow}px)`);
        };
        await signIn(q, app.baseUrl, ADMIN_KEY);
        await q.locator('table.list').waitFor();
        await expectAxeClean(q, `datasets ${width}px ${dark ? 'dark' : 'light'}`);
        await noSideways('the datasets list');
        await q.goto(`${app.baseUrl}/datasources`);
        await q.locator('table.list').waitFor();
        await noSideways('the datasources list');
        await gotoDataset(q, datasetUrl);
        await cellText(q, 0, 0, /^Zed$/);
        await expectAxeClean(q, `grid ${width}px ${dark ? 'dark' : 'light'}`);
        await noSideways('the grid');
        if (width === 390) await q.getByText(/Read-only on a narrow screen/).waitFor();
      }
    }
    await finish();
  });
});
