import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_KEY, startTestApp, type TestApp } from './helpers/app.ts';
import { rawHttp } from './helpers/raw-http.ts';

/** Issue 11, items 10 and 11: query parameters and URLs at the edge of the HTTP layer. */
let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.close());

describe('query parameters', () => {
  it('unknown ones are ignored (a cache-busting _=123 included); known ones stay validated', async () => {
    assert.equal((await app.get('/api/v2/datasets?foo=bar&_=123')).status, 200);
    assert.equal((await app.get('/api/v2/datasources?_=1')).status, 200);
    assert.equal((await app.get('/api/v2/webhooks?x=1')).status, 200);
    assert.equal((await app.get('/api/v2/datasets?limit=0&_=1')).status, 400);
    // Bodies stay strict.
    assert.equal((await app.post('/api/v2/datasets', { name: 'x', type: 'analysis', foo: 1 })).status, 400);
  });

  it('the type filter takes the same names as create and upload (data_extraction, data_enrichment)', async () => {
    const ex = (await app.post('/api/v2/datasets', { name: 'ex', type: 'data_extraction' })).body;
    await app.post('/api/v2/datasets', { name: 'an', type: 'analysis' });
    for (const type of ['data_extraction', 'extraction']) {
      const res = await app.get(`/api/v2/datasets?type=${type}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.datasets.map((d: any) => d.datasetId), [ex.datasetId]);
    }
    assert.equal((await app.get('/api/v2/datasets?type=data_enrichment')).body.datasets.length, 1);
  });
});

describe('URLs over 16 KB', () => {
  it('are answered 431 in the error shape, and the server keeps serving', async () => {
    const res = await rawHttp(app.baseUrl, `GET /api/v2/datasources/${'x'.repeat(20_000)} HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer ${ADMIN_KEY}\nConnection: close`);
    assert.equal(res.status, 431, res.text.slice(0, 300));
    assert.equal(res.json.code, 'HEADERS_TOO_LARGE');
    assert.equal(typeof res.json.error, 'string');
    assert.equal(res.json.details.maxBytes, 16384);
    const garbage = await rawHttp(app.baseUrl, 'NOT A REQUEST\n');
    assert.equal(garbage.status, 400);
    assert.equal(garbage.json.code, 'INVALID_PARAMETERS');
    assert.equal((await app.get('/health')).status, 200);
  });
});

describe('documentation', () => {
  it('/docs (and /docs/) serve the API page; the README stands alone (no link outside the repository)', async () => {
    const page = await fetch(`${app.baseUrl}/docs/`);
    assert.equal(page.status, 200);
    assert.match(page.url, /\/docs$/);
    assert.match(await page.text(), /openapi\.json/);
    const { readFile, access } = await import('node:fs/promises');
    const readme = await readFile('README.md', 'utf8');
    const links = [...readme.matchAll(/\]\(([^)#\s]+)[^)]*\)/g)].map((m) => m[1]!).filter((l) => !/^https?:/.test(l));
    assert.ok(links.includes('docs/api.md'));
    for (const link of links) {
      assert.ok(!link.startsWith('..'), `README links outside the repository: ${link}`);
      await access(link);
    }
    assert.doesNotMatch(readme, /\.\.\/shared/);
  });
});
