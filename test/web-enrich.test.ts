import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHttpFetcher } from '../src/providers/web/http-fetcher.ts';
import { quoteOccurs } from '../src/engine/executors/web-quotes.ts';
import { startFakeOpenAI, type FakeLlmServer, type FakeReply, type RecordedRequest } from './fakes/openai-server.ts';
import { startFakeSearch } from './fakes/search-server.ts';
import { webAnswerer } from './fakes/web-answerer.ts';
import { COMPANY, startFakeWebsite, type FakeWebsite } from './fakes/website.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { waitForTask } from './helpers/tasks.ts';

let site: FakeWebsite;
let search: Awaited<ReturnType<typeof startFakeSearch>>;
let fake: FakeLlmServer;
let app: TestApp;
let closed: TestApp;
let script: ((req: RecordedRequest) => FakeReply | undefined) | undefined;
const honest = webAnswerer();

before(async () => {
  site = await startFakeWebsite({ slowMs: 5_000 });
  search = await startFakeSearch((q) => (q.includes('Acme') ? [{ url: `${site.url}/missing` }, { url: `${site.url}/team`, title: 'Team' }, { url: `${site.url}/hours` }, { url: `${site.url}/about` }] : []));
  fake = await startFakeOpenAI({ latencyMs: 1, respond: (r) => (script ?? honest)(r) });
  // Local website: private fetching allowed for this app only.
  app = await startTestApp({ openaiBaseUrl: fake.baseUrl, fetchAllowPrivate: true, searchUrl: search.url, fetchHostDelayMs: 0, llmMaxAttempts: 1, fetchTimeoutMs: 1_000 });
  // Private fetching disabled; `public.test` plays a public site (test-only fetcher option) that redirects.
  const fetcher = createHttpFetcher({ allowPrivate: false, userAgent: 'cellwise/0.1 (test)', connectTimeoutMs: 2_000, timeoutMs: 5_000, maxBytes: 1_000_000, pretendPublic: { 'public.test': { address: '127.0.0.1', port: site.port } } });
  closed = await startTestApp({ openaiBaseUrl: fake.baseUrl, fetchAllowPrivate: false, fetchHostDelayMs: 0, llmMaxAttempts: 1 }, { fetcher });
});
after(async () => {
  await app.close();
  await closed.close();
  await fake.close();
  await search.close();
  await site.close();
});

async function run(a: TestApp, rows: Record<string, unknown>[], metadata: Record<string, unknown>, name = 'Answer') {
  const ds = await a.post('/api/v2/datasets', { name: 'W', type: 'analysis', rows });
  assert.equal(ds.status, 201, JSON.stringify(ds.body));
  const id = ds.body.datasetId as string;
  const urlCol = (await a.get(`/api/v2/datasets/${id}`)).body.columns.find((c: any) => c.name === 'Website')?.columnId;
  const col = await a.post(`/api/v2/datasets/${id}/columns`, { name, taskType: 'web_enrich', metadata: { ...(urlCol && !('query' in metadata && !metadata.urlColumnId) ? { urlColumnId: urlCol } : {}), ...metadata } });
  assert.equal(col.status, 201, JSON.stringify(col.body));
  const task = await a.post(`/api/v2/datasets/${id}/tasks/bulk`, {});
  assert.equal(task.status, 202, JSON.stringify(task.body));
  const done = await waitForTask(a, id, task.body.taskId, undefined, 60_000);
  const grid = (await a.get(`/api/v2/datasets/${id}/data?includeMetadata=true`)).body;
  const k = grid.columns.findIndex((c: any) => c.columnId === col.body.columnId);
  return { id, task: done, cells: grid.data.map((r: any[]) => r[k]) as any[], columnId: col.body.columnId as string };
}

/** Every quote in a cell's sources occurs in the text of the page it cites, fetched again independently. */
async function assertQuotesOnPages(cell: any) {
  for (const s of cell.metadata.sources) {
    assert.equal(s.type, 'web');
    const html = await (await fetch(s.url)).text();
    const { readHtml } = await import('../src/providers/web/readable.ts');
    assert.ok(quoteOccurs(readHtml(html, s.url).text, s.quote), `${s.quote} is on ${s.url}`);
  }
}

describe('web_enrich', () => {
  it('answers from the row URL and the same site\'s relevant pages, with verified quotes', async () => {
    const { cells, task } = await run(app, [{ Company: 'Acme', Website: `${site.url}/` }], { prompt: 'Who is the chief executive officer of {{Company}}?', maxPages: 3 });
    assert.equal(task.status, 'completed', JSON.stringify(task));
    const [cell] = cells;
    assert.equal(cell.status, 'done', JSON.stringify(cell));
    assert.equal(cell.value, COMPANY.ceo);
    assert.ok(cell.metadata.sources.length >= 1);
    assert.equal(cell.metadata.sources[0].url, `${site.url}/team`);
    assert.equal(cell.metadata.sources[0].title, 'Our team');
    assert.equal(cell.metadata.confidence, 0.9);
    assert.equal(cell.metadata.confidenceSource, 'verified_quotes');
    assert.ok(cell.metadata.pagesRead.length <= 3 && cell.metadata.pagesRead.some((p: any) => p.url.endsWith('/team')));
    assert.ok(!site.requests.includes('/brochure.pdf'), 'links that are not pages are not read');
    await assertQuotesOnPages(cell);
  });

  it('a prompt that references no column asks with the row, each value labelled; with references only those values, unless includeRow', async () => {
    const userTexts = () => fake.requests.map((r) => String(r.body.messages?.find((m) => m.role === 'user')?.content));
    const row = { Company: 'Acme', Website: `${site.url}/about` };
    fake.reset();
    await run(app, [row], { prompt: 'When was it founded?', maxPages: 1 });
    assert.equal(fake.count, 1);
    assert.ok(userTexts()[0]!.includes(`When was it founded?\n\nRow:\nCompany: Acme\nWebsite: ${site.url}/about`), userTexts()[0]);
    fake.reset();
    await run(app, [row], { prompt: 'When was {{Company}} founded?', maxPages: 1 });
    assert.ok(userTexts()[0]!.includes('When was Acme founded?') && !userTexts()[0]!.includes('Row:'), userTexts()[0]);
    fake.reset();
    await run(app, [row], { prompt: 'When was {{Company}} founded?', maxPages: 1, includeRow: true });
    assert.ok(userTexts()[0]!.includes(`When was Acme founded?\n\nRow:\nCompany: Acme\nWebsite: ${site.url}/about`), userTexts()[0]);
  });

  it('drops a quote that is on no page and lowers the confidence', async () => {
    script = webAnswerer({ invent: true });
    try {
      const { cells } = await run(app, [{ Website: `${site.url}/about` }], { prompt: 'When was Acme Corp founded?', maxPages: 1 });
      const [cell] = cells;
      assert.equal(cell.status, 'done');
      assert.equal(cell.metadata.sources.length, 1);
      assert.equal(cell.metadata.droppedQuotes.length, 1);
      assert.equal(cell.metadata.droppedQuotes[0].quote, 'This sentence appears on no page at all.');
      assert.ok(cell.metadata.confidence < 0.9 && cell.metadata.confidence > 0, String(cell.metadata.confidence));
      await assertQuotesOnPages(cell);
    } finally {
      script = undefined;
    }
  });

  it('"not found" is an honest null with a reason, status done, and a confidence that says what it rests on', async () => {
    const { cells } = await run(app, [{ Website: `${site.url}/about` }, { Website: '' }], { prompt: 'What is the VAT number?', maxPages: 1, confidence: 0.5 });
    assert.equal(cells[0].status, 'done');
    assert.equal(cells[0].value, null);
    assert.ok(cells[0].metadata.reason.length > 0);
    assert.deepEqual(cells[0].metadata.sources, []);
    // Pages were read and the model said they do not answer: its own rating (the fake answers 0.8).
    assert.equal(cells[0].metadata.confidenceSource, 'self_reported');
    assert.equal(cells[0].metadata.confidence, 0.8);
    assert.equal(cells[0].metadata.needsReview, undefined);
    assert.equal(cells[1].status, 'done', 'an empty URL cell is not an error');
    assert.equal(cells[1].value, null);
    assert.match(cells[1].metadata.reason, /no URL/);
    // Nothing was read: no evidence either way, flagged by any threshold.
    assert.equal(cells[1].metadata.confidenceSource, 'nothing_read');
    assert.equal(cells[1].metadata.confidence, 0);
    assert.equal(cells[1].metadata.needsReview, true);
  });

  it('searches with the query template, skips pages that fail, and cites what it read', async () => {
    const before = search.queries.length;
    const { cells } = await run(app, [{ Company: 'Acme Corp' }], { prompt: 'Is the {{Company}} showroom open on Sundays?', query: '{{Company}} opening hours', maxPages: 2 });
    assert.equal(search.queries.slice(before)[0], 'Acme Corp opening hours');
    const [cell] = cells;
    assert.equal(cell.status, 'done', JSON.stringify(cell.metadata));
    assert.equal(cell.value, COMPANY.hours);
    assert.equal(cell.metadata.query, 'Acme Corp opening hours');
    assert.equal(cell.metadata.skipped[0].code, 'FETCH_HTTP_ERROR');
    assert.equal(cell.metadata.pagesRead.length, 2);
    await assertQuotesOnPages(cell);
  });

  it('a search that finds nothing is not found; no search engine configured is an error on the cell', async () => {
    const nothing = await run(app, [{ Company: 'Nobody' }], { prompt: 'CEO?', query: '{{Company}}' });
    assert.equal(nothing.cells[0].status, 'done');
    assert.equal(nothing.cells[0].value, null);
    assert.equal(nothing.cells[0].metadata.confidenceSource, 'nothing_read');
    assert.equal(nothing.cells[0].metadata.confidence, 0);
    const unconfigured = await run(closed, [{ Company: 'Acme' }], { prompt: 'CEO?', query: '{{Company}}' });
    assert.equal(unconfigured.cells[0].status, 'error');
    assert.equal(unconfigured.cells[0].metadata.error.code, 'SEARCH_NOT_CONFIGURED');
  });

  it('fetch failures of the row URL end on the cell with their code and reason', async () => {
    const { cells } = await run(app, [{ Website: `${site.url}/botwall` }, { Website: `${site.url}/login` }, { Website: `${site.url}/private/secret` }, { Website: `${site.url}/brochure.pdf` }, { Website: `${site.url}/slow` }], { prompt: 'CEO?', maxPages: 1 });
    assert.deepEqual(
      cells.map((c) => [c.status, c.metadata.error?.code]),
      [
        ['error', 'FETCH_BOT_WALL'],
        ['error', 'FETCH_LOGIN_WALL'],
        ['error', 'FETCH_ROBOTS_DISALLOWED'],
        ['error', 'FETCH_UNSUPPORTED_CONTENT'],
        ['error', 'FETCH_TIMEOUT'],
      ],
    );
    assert.ok(cells.every((c) => c.metadata.error.message.length > 10));
  });

  it('re-runs read pages from the cache instead of fetching them again', async () => {
    const first = await run(app, [{ Website: `${site.url}/c/41` }, { Website: `${site.url}/c/42` }], { prompt: 'Who is the chief executive officer?', maxPages: 1 });
    assert.equal(first.cells[1].value, 'The chief executive officer of Company 42 is Person 42.');
    const before = site.requests.length;
    const again = await app.post(`/api/v2/datasets/${first.id}/tasks/bulk`, { columnIds: [first.columnId] });
    await waitForTask(app, first.id, again.body.taskId, undefined, 60_000);
    assert.equal(site.requests.length, before, 'no page fetched on the second run');
    const grid = (await app.get(`/api/v2/datasets/${first.id}/data?includeMetadata=true`)).body;
    const k = grid.columns.findIndex((c: any) => c.columnId === first.columnId);
    assert.equal(grid.data[0][k].metadata.pagesRead[0].cached, true);
  });
});

describe('web_enrich estimate', () => {
  it('estimates calls and tokens without fetching or searching anything', async () => {
    const ds = await app.post('/api/v2/datasets', { name: 'E', type: 'analysis', rows: [{ Website: `${site.url}/c/77` }, { Website: `${site.url}/c/78` }] });
    const id = ds.body.datasetId as string;
    await app.post(`/api/v2/datasets/${id}/columns`, { name: 'CEO', taskType: 'web_enrich', metadata: { prompt: 'Who is the CEO?', query: '{{Website}} ceo', maxPages: 2 } });
    const pagesBefore = site.requests.length;
    const searchesBefore = search.queries.length;
    const llmBefore = fake.count;
    const est = await app.post(`/api/v2/datasets/${id}/tasks/estimate`, {});
    assert.equal(est.status, 200, JSON.stringify(est.body));
    assert.equal(est.body.llmCalls, 2);
    assert.ok(est.body.inputTokens > 2 * 2_000, String(est.body.inputTokens));
    assert.equal(site.requests.length, pagesBefore, 'no page fetched');
    assert.equal(search.queries.length, searchesBefore, 'no search made');
    assert.equal(fake.count, llmBefore, 'no LLM call made');
  });
});

describe('web_enrich SSRF end to end (private fetching disabled)', () => {
  it('refuses private, encoded, mapped, local-name, redirected, non-http and credentialed URLs on the cell', async () => {
    const p = site.port;
    const targets = [
      `http://127.0.0.1:${p}/about`,
      `http://2130706433:${p}/about`,
      `http://0x7f.1:${p}/about`,
      `http://[::1]:${p}/about`,
      `http://[::ffff:127.0.0.1]:${p}/about`,
      `localhost:${p}/about`,
      'http://169.254.169.254/latest/meta-data/',
      `http://public.test:${p}/go?to=http://127.0.0.1:${p}/about`,
      `http://public.test:${p}/go?to=file:///etc/passwd`,
      'file:///etc/passwd',
      'gopher://127.0.0.1:6379/_INFO',
      `http://user:pass@public.test:${p}/about`,
    ];
    const before = site.requests.length;
    const { cells, task } = await run(closed, targets.map((Website) => ({ Website })), { prompt: 'CEO?', maxPages: 1 });
    assert.equal(task.status, 'failed', 'every cell failed');
    cells.forEach((c, i) => {
      assert.equal(c.status, 'error', `${targets[i]}: ${JSON.stringify(c)}`);
      assert.equal(c.metadata.error.code, 'FETCH_BLOCKED', `${targets[i]}: ${c.metadata.error.message}`);
      assert.match(c.metadata.error.message, /Refused/);
    });
    const reached = site.requests.slice(before).filter((r) => !r.startsWith('/go') && r !== '/robots.txt');
    assert.deepEqual(reached, [], 'no private target was requested');
    // The same pretend-public site is readable, so the refusals are the policy at work.
    const ok = await run(closed, [{ Website: `http://public.test:${p}/team` }], { prompt: 'Who is the chief executive officer?', maxPages: 1 });
    assert.equal(ok.cells[0].value, COMPANY.ceo);
  });
});
