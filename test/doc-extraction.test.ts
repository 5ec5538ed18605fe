import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeOpenAI, type FakeLlmServer, type FakeReply, type RecordedRequest } from './fakes/openai-server.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { cite, docAnswer, parseDocRequest } from './helpers/doc-answers.ts';
import { mixedPdf, textPdf, textPng, waitForDatasource } from './helpers/documents.ts';
import { waitForTask } from './helpers/tasks.ts';

let app: TestApp;
let fake: FakeLlmServer;
let script: ((req: RecordedRequest) => FakeReply | undefined) | undefined;
before(async () => {
  fake = await startFakeOpenAI({ latencyMs: 5, respond: (r) => script?.(r) });
  app = await startTestApp({ openaiBaseUrl: fake.baseUrl, model: 'openai:gpt-4o-mini', llmMaxAttempts: 2 });
});
after(async () => {
  await app.close();
  await fake.close();
});

const squash = (s: string) => s.replace(/\s+/g, '');

/** The model reads invoice numbers and totals where they really are. */
const honest = docAnswer((field, pages) => (field.name === 'Invoice number' ? cite(pages, /Invoice (?:number )?(\d+)/) : field.name === 'Total' ? cite(pages, /Total due: ([\d.]+) EUR/) : undefined));

async function extractionDataset(a: TestApp, files: { name: string; content: Uint8Array }[]) {
  const res = await a.upload('/api/v2/datasets/upload', files.map((f) => ({ field: 'files[]', ...f })), { name: 'Invoices' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.type, 'extraction');
  return res.body as { datasetId: string; columns: { columnId: string; name: string }[] };
}
async function addColumn(a: TestApp, id: string, name: string, metadata: Record<string, unknown> = {}) {
  const res = await a.post(`/api/v2/datasets/${id}/columns`, { name, taskType: 'doc_extraction', metadata });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.columnId as string;
}
async function run(a: TestApp, id: string, body: unknown = {}) {
  const res = await a.post(`/api/v2/datasets/${id}/tasks/bulk`, body);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return waitForTask(a, id, res.body.taskId, undefined, 120_000);
}
async function grid(a: TestApp, id: string) {
  const g = (await a.get(`/api/v2/datasets/${id}/data?includeMetadata=true`)).body;
  return (name: string) => {
    const k = g.columns.findIndex((c: any) => c.name === name);
    return g.data.map((r: any[]) => r[k]);
  };
}
async function pageText(a: TestApp, datasourceId: string, page: number): Promise<string> {
  const res = await a.get(`/api/v2/datasources/${datasourceId}/data?page=${page}&limit=1`);
  return res.body.pages[0].text;
}

describe('doc_extraction', () => {
  it('fills every column of a folder of PDFs with values whose quotes are on the cited page, one LLM call per document', async () => {
    script = honest;
    const files = [
      { name: 'a.pdf', content: await textPdf([['ACME GmbH', 'Invoice number 1001'], ['Line items', 'Total due: 250.00 EUR']]) },
      { name: 'b.pdf', content: await textPdf([['Globex Inc', 'Invoice number 2002'], ['Nothing here'], ['Total due: 99.50 EUR']]) },
      // A scanned invoice: its only page is an image, read by OCR.
      { name: 'c.pdf', content: await mixedPdf([textPng(['Invoice number 3003', 'Total due: 12.00 EUR'])]) },
    ];
    const ds = await extractionDataset(app, files);
    await addColumn(app, ds.datasetId, 'Invoice number', { extractionPrompt: 'The invoice number' });
    await addColumn(app, ds.datasetId, 'Total', { extractionPrompt: 'The total amount due, in EUR', outputSchema: { type: 'string' } });
    fake.reset();
    const task = await run(app, ds.datasetId);
    assert.equal(task.status, 'completed', JSON.stringify(task));
    assert.equal(task.progress.completed, 6);
    const calls = fake.requests.filter((r) => parseDocRequest(r));
    assert.equal(calls.length, 3, 'one call per document serves both columns');
    assert.equal(task.usage.llmCalls, 3);
    assert.equal(task.usage.cachedCalls, 3);
    for (const r of calls) assert.deepEqual(parseDocRequest(r)!.fields.map((f) => f.name), ['Invoice number', 'Total']);

    const col = await grid(app, ds.datasetId);
    assert.deepEqual(col('Invoice number').map((c: any) => c.value), ['1001', '2002', '3003']);
    assert.deepEqual(col('Total').map((c: any) => c.value), ['250.00', '99.50', '12.00']);
    const docs = col('document').map((c: any) => c.value.datasourceId);
    for (const name of ['Invoice number', 'Total']) {
      for (const [i, cell] of col(name).entries()) {
        assert.equal(cell.status, 'done');
        assert.equal(cell.metadata.confidence, 1);
        assert.equal(cell.metadata.confidenceSource, 'verified_quotes');
        assert.equal(cell.metadata.sources.length, 1);
        const source = cell.metadata.sources[0];
        assert.equal(source.type, 'document');
        assert.equal(source.datasourceId, docs[i]);
        assert.ok(squash(await pageText(app, source.datasourceId, source.page)).includes(squash(source.quote)), `${name} row ${i}: quote on its page`);
      }
    }
    assert.deepEqual(col('Total').map((c: any) => c.metadata.sources[0].page), [2, 3, 1]);
  });

  it('drops quotes that are not on the page, moves a quote to the page it is really on, and lowers confidence', async () => {
    const ds = await extractionDataset(app, [{ name: 'd.pdf', content: await textPdf([['Invoice number 4004'], ['Total due: 10.00 EUR']]) }]);
    await addColumn(app, ds.datasetId, 'Invoice number');
    await addColumn(app, ds.datasetId, 'Total', { confidence: 0.9 });
    script = docAnswer((field) =>
      field.name === 'Invoice number'
        ? [
            { value: '4004', page: 2, quote: 'Invoice   number\n4004' }, // on page 1, cited as page 2
            { value: '4004', page: 1, quote: 'Invoice number 9999' }, // nowhere
          ]
        : { value: '10.00', page: 2, quote: 'Total payable 10.00' }, // invented
    );
    const task = await run(app, ds.datasetId);
    assert.equal(task.status, 'completed');
    const col = await grid(app, ds.datasetId);
    const invoice = col('Invoice number')[0];
    assert.equal(invoice.value, '4004');
    assert.deepEqual(invoice.metadata.sources.map((s: any) => [s.page, s.quote]), [[1, 'Invoice   number\n4004']]);
    assert.ok(invoice.metadata.confidence < 1 && invoice.metadata.confidence > 0.3);
    assert.equal(invoice.metadata.unverifiedQuotes, 1);
    const total = col('Total')[0];
    assert.equal(total.value, '10.00');
    assert.deepEqual(total.metadata.sources, []);
    assert.ok(total.metadata.confidence <= 0.3);
    assert.equal(total.metadata.needsReview, true);
  });

  it('a failed document puts its cells in error with DOCUMENT_FAILED', async () => {
    script = honest;
    const ds = await extractionDataset(app, [{ name: 'broken.pdf', content: new TextEncoder().encode('%PDF-1.7\nnot a pdf\n%%EOF') }]);
    await addColumn(app, ds.datasetId, 'Invoice number');
    const task = await run(app, ds.datasetId);
    assert.equal(task.progress.failed, 1);
    const cell = (await grid(app, ds.datasetId))('Invoice number')[0];
    assert.equal(cell.status, 'error');
    assert.equal(cell.metadata.error.code, 'DOCUMENT_FAILED');
  });

  it('a long document is sent in chunks; beyond the chunk budget the relevant pages are chosen and the skipped ones named', async () => {
    const small = await startTestApp({ openaiBaseUrl: fake.baseUrl, docExtractionChunkChars: 1_000, docExtractionMaxChunks: 2 });
    try {
      script = honest;
      const filler = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. '.repeat(9);
      const pages = Array.from({ length: 12 }, (_, i) => [`Page ${i + 1}`, filler.slice(0, 90), filler.slice(90, 180), filler.slice(180, 270), filler.slice(270, 360), filler.slice(360, 450), filler.slice(450, 540)]);
      pages[8] = ['Page 9', 'Invoice number 5005 is printed here only'];
      const ds = await extractionDataset(small, [{ name: 'long.pdf', content: await textPdf(pages) }]);
      await addColumn(small, ds.datasetId, 'Invoice number', { extractionPrompt: 'The invoice number' });
      fake.reset();
      const task = await run(small, ds.datasetId);
      assert.equal(task.status, 'completed', JSON.stringify(task));
      const calls = fake.requests.map((r) => parseDocRequest(r)).filter((r) => r !== undefined);
      assert.equal(calls.length, 2);
      for (const c of calls) assert.ok(c.pages.reduce((n, p) => n + p.text.length, 0) <= 1_000);
      const cell = (await grid(small, ds.datasetId))('Invoice number')[0];
      assert.equal(cell.value, '5005');
      assert.equal(cell.metadata.sources[0].page, 9);
      assert.equal(cell.metadata.documentPages, 12);
      assert.match(cell.metadata.pagesSkipped, /\d/);
      assert.ok(cell.metadata.pagesSent.startsWith('1'));
    } finally {
      await small.close();
    }
  });

  it('ocr: never leaves OCR text out; a document without text then errors as DOCUMENT_EMPTY', async () => {
    script = honest;
    const ds = await extractionDataset(app, [{ name: 'scan.png', content: textPng(['Invoice number 6006']) }]);
    const docId = (await grid(app, ds.datasetId))('document')[0].value.datasourceId;
    await waitForDatasource(app, docId, 120_000);
    await addColumn(app, ds.datasetId, 'Invoice number', { ocr: 'never' });
    await addColumn(app, ds.datasetId, 'Again', { ocr: 'auto', extractionPrompt: 'The Invoice number' });
    script = docAnswer((field, pages) => cite(pages, /Invoice number (\d+)/) && { ...cite(pages, /Invoice number (\d+)/)!, value: field.name });
    await run(app, ds.datasetId);
    const col = await grid(app, ds.datasetId);
    assert.equal(col('Invoice number')[0].metadata.error.code, 'DOCUMENT_EMPTY');
    assert.equal(col('Again')[0].status, 'done');
  });

  it('ocr: always reads text-layer pages through OCR too (one OCR pass, stored) and cites what OCR read', async () => {
    const ds = await extractionDataset(app, [{ name: 'typed.pdf', content: await textPdf([['Cover page of the typed document'], ['Invoice number 7007', 'Total due: 70.00 EUR']]) }]);
    await addColumn(app, ds.datasetId, 'Invoice number', { ocr: 'always' });
    let sent: { page: number; text: string }[] = [];
    script = (req) => {
      const parsed = parseDocRequest(req);
      if (parsed) sent = parsed.pages;
      return honest(req);
    };
    const task = await run(app, ds.datasetId);
    assert.equal(task.status, 'completed', JSON.stringify(task));
    const cell = (await grid(app, ds.datasetId))('Invoice number')[0];
    assert.equal(cell.value, '7007');
    assert.equal(cell.metadata.sources[0].page, 2);
    assert.match(sent.find((p) => p.page === 2)!.text, /Invoice number 7007/);
    const stored = await app.running.store.db.selectFrom('document_pages').select(['page', 'method', 'ocr_text']).where('datasource_id', '=', cell.metadata.sources[0].datasourceId).orderBy('page').execute();
    assert.deepEqual(stored.map((p) => p.method), ['text', 'text']);
    assert.ok(stored.every((p) => typeof p.ocr_text === 'string' && p.ocr_text.length > 0), 'the OCR pass is stored beside the text layer');
  });

  it('includeRow sends the row with the field (each value labelled); without it the field goes alone', async () => {
    script = honest;
    const ds = await extractionDataset(app, [{ name: 'row.pdf', content: await textPdf([['Invoice number 6006']]) }]);
    const userText = () => String(fake.requests.find((r) => parseDocRequest(r))?.body.messages?.find((m) => m.role === 'user')?.content);
    const plain = await addColumn(app, ds.datasetId, 'Invoice number', { extractionPrompt: 'The invoice number' });
    fake.reset();
    await run(app, ds.datasetId, { columnIds: [plain] });
    assert.ok(!userText().includes('Row:'), userText());
    const withRow = await addColumn(app, ds.datasetId, 'Number again', { extractionPrompt: 'The invoice number', includeRow: true });
    fake.reset();
    await run(app, ds.datasetId, { columnIds: [withRow] });
    const document = (await grid(app, ds.datasetId))('document')[0].value;
    assert.match(userText(), /: The invoice number\nRow:\ndocument: .+\nInvoice number: 6006$/m);
    assert.ok(userText().includes(document.datasourceId), 'the document cell is described by its value');
  });

  it('the cost estimate counts one call per document for its doc_extraction columns, and makes none', async () => {
    script = honest;
    const ds = await extractionDataset(app, [
      { name: 'e1.pdf', content: await textPdf([['Invoice number 8008', 'Estimate me']]) },
      { name: 'e2.pdf', content: await textPdf([['Invoice number 8009', 'Estimate me too']]) },
    ]);
    const g = await grid(app, ds.datasetId);
    for (const cell of g('document')) await waitForDatasource(app, cell.value.datasourceId);
    await addColumn(app, ds.datasetId, 'Invoice number', { extractionPrompt: 'The invoice number, for the estimate' });
    await addColumn(app, ds.datasetId, 'Total', { extractionPrompt: 'The total, for the estimate' });
    const before = fake.count;
    const est = await app.post(`/api/v2/datasets/${ds.datasetId}/tasks/estimate`, {});
    assert.equal(est.status, 200, JSON.stringify(est.body));
    assert.deepEqual([est.body.cells, est.body.llmCalls, est.body.expectedCacheHits], [4, 2, 2]);
    assert.equal(fake.count, before);
  });
});
