import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config.ts';
import type { DomainEvent } from '../src/events.ts';
import { startServer } from '../src/main.ts';
import { ADMIN_KEY, expectError, freshDatabase, startTestApp, type TestApp } from './helpers/app.ts';
import { docx, encryptedPdf, mixedPdf, textPdf, textPng, waitForDatasource } from './helpers/documents.ts';

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

let app: TestApp;
const events: DomainEvent[] = [];
before(async () => {
  app = await startTestApp();
  app.running.events.on((e) => events.push(e));
});
after(() => app.close());

async function upload(name: string, content: Uint8Array | string) {
  const res = await app.upload('/api/v2/datasources/upload', [{ name, content }]);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

describe('document extraction', () => {
  it('a multi-page PDF: processing, then completed with per-page text, a datasource.processed event, and paged data', async () => {
    const pdf = await textPdf([['Invoice 1001', 'Acme Corporation'], ['Total due: 250.00 EUR'], ['Thank you']]);
    const created = await upload('invoice.pdf', pdf);
    assert.equal(created.status, 'processing');
    const done = await waitForDatasource(app, created.datasourceId);
    assert.equal(done.status, 'completed');
    assert.equal(done.pageCount, 3);
    assert.ok(done.processedAt);
    const event = events.find((e) => e.type === 'datasource.processed' && e.data.datasourceId === created.datasourceId);
    assert.equal(event?.data.status, 'completed');
    const data = await app.get(`/api/v2/datasources/${created.datasourceId}/data?page=1&limit=2`);
    assert.equal(data.status, 200);
    assert.equal(data.body.kind, 'document');
    assert.deepEqual(data.body.pages.map((p: any) => [p.page, squash(p.text), p.method]), [
      [1, 'Invoice 1001 Acme Corporation', 'text'],
      [2, 'Total due: 250.00 EUR', 'text'],
    ]);
    assert.equal(data.body.pagination.total, 3);
    const second = await app.get(`/api/v2/datasources/${created.datasourceId}/data?page=2&limit=2`);
    assert.deepEqual(second.body.pages.map((p: any) => p.page), [3]);
  });

  it('DOCX, HTML and TXT become text sections', async () => {
    const cases: [string, Uint8Array | string, string][] = [
      ['contract.docx', await docx(['Service agreement', 'The term is 24 months.']), 'The term is 24 months.'],
      ['page.html', '<!doctype html><html><head><title>t</title><style>p{color:red}</style><script>var hidden = 1</script></head><body><h1>Quarterly report</h1><p>Revenue grew 12%.</p></body></html>', 'Revenue grew 12%.'],
      ['notes.txt', 'First line of notes.\nSecond line mentions Berlin.', 'Second line mentions Berlin.'],
    ];
    for (const [name, content, expected] of cases) {
      const created = await upload(name, content);
      const done = await waitForDatasource(app, created.datasourceId);
      assert.equal(done.status, 'completed', `${name}: ${JSON.stringify(done)}`);
      const data = await app.get(`/api/v2/datasources/${created.datasourceId}/data`);
      const text = data.body.pages.map((p: any) => p.text).join('\n');
      assert.ok(squash(text).includes(expected), `${name}: ${text}`);
      assert.ok(!text.includes('hidden') && !text.includes('color:red'), `${name}: scripts and styles are not text`);
    }
  });

  it('OCR reads a PNG of text and the image-only page of a PDF, offline', async () => {
    const png = textPng(['Invoice number 4711', 'Total 99 EUR']);
    const image = await upload('scan.png', png);
    const pdf = await upload('mixed.pdf', await mixedPdf(['A page with a real text layer here', textPng(['Delivery address Hamburg'])]));
    const doneImage = await waitForDatasource(app, image.datasourceId, 120_000);
    assert.equal(doneImage.status, 'completed', JSON.stringify(doneImage));
    const imageData = await app.get(`/api/v2/datasources/${image.datasourceId}/data`);
    assert.equal(imageData.body.pages[0].method, 'ocr');
    assert.match(imageData.body.pages[0].text, /Invoice number 4711/);
    const donePdf = await waitForDatasource(app, pdf.datasourceId, 120_000);
    assert.equal(donePdf.status, 'completed', JSON.stringify(donePdf));
    const pdfData = await app.get(`/api/v2/datasources/${pdf.datasourceId}/data`);
    assert.deepEqual(pdfData.body.pages.map((p: any) => p.method), ['text', 'ocr']);
    assert.match(pdfData.body.pages[1].text, /Delivery address Hamburg/);
    const jpeg = await upload('photo.jpg', textPng(['Order reference 5150'], 1400, 'image/jpeg'));
    assert.equal(jpeg.contentType, 'image/jpeg');
    assert.equal((await waitForDatasource(app, jpeg.datasourceId, 120_000)).status, 'completed');
    assert.match((await app.get(`/api/v2/datasources/${jpeg.datasourceId}/data`)).body.pages[0].text, /Order reference 5150/);
  });

  it('a 500-page PDF is extracted, every page kept', async () => {
    const pdf = await textPdf(Array.from({ length: 500 }, (_, i) => [`This is page ${i + 1} of the long report`]));
    const created = await upload('long.pdf', pdf);
    const done = await waitForDatasource(app, created.datasourceId, 120_000);
    assert.equal(done.status, 'completed');
    assert.equal(done.pageCount, 500);
    const last = await app.get(`/api/v2/datasources/${created.datasourceId}/data?page=500&limit=1`);
    assert.equal(squash(last.body.pages[0].text), 'This is page 500 of the long report');
  });
});

describe('bad documents', () => {
  it('corrupt, truncated and encrypted PDFs and a broken PNG fail with a reason; the pipeline keeps working', async () => {
    const good = await textPdf([['Good page']]);
    const cases: [string, Uint8Array | string, string[]][] = [
      ['corrupt.pdf', '%PDF-1.7\nthis is not really a pdf at all\n%%EOF', ['DOCUMENT_INVALID']],
      ['truncated.pdf', good.slice(0, 40), ['DOCUMENT_INVALID']],
      ['secret.pdf', await encryptedPdf('Top secret content'), ['DOCUMENT_ENCRYPTED']],
      ['broken.png', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('no image data here')]), ['DOCUMENT_INVALID']],
    ];
    for (const [name, content, codes] of cases) {
      const created = await upload(name, content);
      const done = await waitForDatasource(app, created.datasourceId);
      assert.equal(done.status, 'failed', `${name}: ${JSON.stringify(done)}`);
      assert.ok(codes.includes(done.errorCode), `${name}: ${JSON.stringify(done)}`);
      assert.equal(typeof done.error, 'string');
      const event = events.find((e) => e.type === 'datasource.processed' && e.data.datasourceId === created.datasourceId);
      assert.equal(event?.data.status, 'failed');
    }
    const after = await upload('good.pdf', good);
    assert.equal((await waitForDatasource(app, after.datasourceId)).status, 'completed');
  });

  it('a zero-byte file is a 400, and a file whose extension lies is read as what it is', async () => {
    expectError(await app.upload('/api/v2/datasources/upload', [{ name: 'empty.pdf', content: new Uint8Array(0) }]), 400, 'INVALID_PARAMETERS');
    const notPng = await upload('photo.png', 'Just some words in a text file.\nNothing else.');
    assert.equal(notPng.contentType, 'text/plain');
    const pdfNamedTxt = await upload('notes.txt', await textPdf([['Actually a PDF']]));
    assert.equal(pdfNamedTxt.contentType, 'application/pdf');
    assert.equal((await waitForDatasource(app, notPng.datasourceId)).status, 'completed');
    const done = await waitForDatasource(app, pdfNamedTxt.datasourceId);
    assert.equal(done.status, 'completed');
    const data = await app.get(`/api/v2/datasources/${pdfNamedTxt.datasourceId}/data`);
    assert.equal(squash(data.body.pages[0].text), 'Actually a PDF');
  });

  it('too many pages and a slow extraction fail with clear codes; the thread is replaced', async () => {
    // The job is stopped at the timeout whatever its length, so the slow scan can be long enough
    // for any machine: 300 scanned pages need 300 s of OCR at 1 s a page (measured here under load:
    // 0.8 s) and still 3 s at an unlikely 10 ms a page.
    const scan = textPng(['Slow scanned page with quite a lot of words', 'and a second line of words', 'and a third line']);
    const pages = 300;
    const strict = await startTestApp({ documentMaxPages: 300, documentTimeoutMs: 1_000 });
    try {
      const big = await strict.upload('/api/v2/datasources/upload', [{ name: 'big.pdf', content: await textPdf(Array.from({ length: 301 }, (_, i) => [`Page ${i}`])) }]);
      const bigDone = await waitForDatasource(strict, big.body.datasourceId);
      assert.equal(bigDone.errorCode, 'DOCUMENT_TOO_MANY_PAGES');
      const slow = await strict.upload('/api/v2/datasources/upload', [{ name: 'slow.pdf', content: await mixedPdf(Array.from({ length: pages }, () => scan)) }]);
      const slowDone = await waitForDatasource(strict, slow.body.datasourceId);
      assert.equal(slowDone.errorCode, 'DOCUMENT_TIMEOUT');
      const ok = await strict.upload('/api/v2/datasources/upload', [{ name: 'ok.txt', content: 'still works' }]);
      assert.equal((await waitForDatasource(strict, ok.body.datasourceId)).status, 'completed');
    } finally {
      await strict.close();
    }
  });
});

describe('restart', () => {
  it('documents left processing by a stopped server are extracted at the next start', async () => {
    const db = await freshDatabase();
    const config = loadConfig({}, { port: 0, dataDir: db.dataDir, adminKey: ADMIN_KEY, logLevel: 'error', rateLimitPerMinute: 0, ...(db.databaseUrl ? { databaseUrl: db.databaseUrl, databaseSchema: db.databaseSchema } : {}) });
    const client = (port: number) => ({ get: async (p: string) => {
      const r = await fetch(`http://127.0.0.1:${port}${p}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      return { status: r.status, body: (await r.json()) as any, headers: r.headers };
    } });
    let server = await startServer(config);
    try {
      const form = new FormData();
      form.append('file', new Blob([await textPdf([['Survives a restart']])]), 'restart.pdf');
      const res = await fetch(`http://127.0.0.1:${server.port}/api/v2/datasources/upload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}` }, body: form });
      const id = ((await res.json()) as { datasourceId: string }).datasourceId;
      await waitForDatasource(client(server.port), id);
      // As if the process had died mid-extraction: the row says processing and no page is stored.
      await server.store.db.updateTable('datasources').set({ status: 'processing', processed_at: null, info: '{}' }).where('id', '=', id).execute();
      await server.store.db.deleteFrom('document_pages').where('datasource_id', '=', id).execute();
      await server.close();
      server = await startServer(config);
      const done = await waitForDatasource(client(server.port), id);
      assert.equal(done.status, 'completed');
      assert.equal(done.pageCount, 1);
    } finally {
      await server.close();
      await db.drop();
    }
  });
});
