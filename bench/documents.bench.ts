/**
 * Documents: extraction speed (pages per second for a 200-page text PDF, OCR seconds per scanned
 * page) and doc_extraction over 200 documents with two columns against the fake OpenAI server at
 * 50 ms latency: wall time against the concurrency floor (calls x 50 ms / concurrency) and LLM
 * calls per document.
 * Usage: node --import tsx bench/documents.bench.ts [documents=200]
 */
import { startFakeOpenAI } from '../test/fakes/openai-server.ts';
import { startTestApp, type TestApp } from '../test/helpers/app.ts';
import { cite, docAnswer, parseDocRequest } from '../test/helpers/doc-answers.ts';
import { mixedPdf, textPdf, textPng, waitForDatasource } from '../test/helpers/documents.ts';

const documents = Number(process.argv[2] ?? 200);
const latencyMs = 50;
const concurrency = 8;
const fake = await startFakeOpenAI({ latencyMs, respond: docAnswer((field, pages) => (field.name === 'Invoice number' ? cite(pages, /Invoice number (\d+)/) : cite(pages, /Total due: ([\d.]+) EUR/))) });
const app = await startTestApp({ openaiBaseUrl: fake.baseUrl, llmConcurrency: concurrency, logLevel: 'error' });

async function timeExtraction(a: TestApp, name: string, content: Uint8Array): Promise<{ ms: number; pages: number }> {
  const started = performance.now();
  const res = await a.upload('/api/v2/datasources/upload', [{ name, content }]);
  const done = await waitForDatasource(a, res.body.datasourceId, 600_000);
  if (done.status !== 'completed') throw new Error(`${name}: ${JSON.stringify(done)}`);
  return { ms: performance.now() - started, pages: done.pageCount };
}

try {
  // Warm-up: the extraction thread starts and tesseract loads its model once per thread.
  await timeExtraction(app, 'warm.pdf', await mixedPdf(['warm-up page with a text layer', textPng(['warm up'])]));

  const long = await textPdf(Array.from({ length: 200 }, (_, i) => Array.from({ length: 30 }, (_, l) => `Page ${i + 1}, line ${l + 1}: the quick brown fox jumps over the lazy dog.`)));
  const text = await timeExtraction(app, 'report.pdf', long);
  console.log(`text PDF: ${text.pages} pages in ${text.ms.toFixed(0)} ms = ${((text.pages / text.ms) * 1000).toFixed(0)} pages/s (upload to completed)`);

  const scan = textPng(['Scanned page of an invoice', 'Invoice number 12345', 'Total due: 99.00 EUR', 'Payable within 30 days']);
  const ocr = await timeExtraction(app, 'scan.pdf', await mixedPdf([scan, scan, scan, scan, scan]));
  console.log(`OCR: ${ocr.pages} scanned pages in ${ocr.ms.toFixed(0)} ms = ${(ocr.ms / ocr.pages / 1000).toFixed(2)} s/page`);

  const files = await Promise.all(
    Array.from({ length: documents }, async (_, i) => ({ field: 'files[]', name: `invoice-${i}.pdf`, content: await textPdf([[`Vendor ${i}`, `Invoice number ${10_000 + i}`], ['Items ...', `Total due: ${(i * 3.5).toFixed(2)} EUR`]]) })),
  );
  const startedUpload = performance.now();
  const ds = await app.upload('/api/v2/datasets/upload', files, { name: 'Invoices' });
  const id = ds.body.datasetId as string;
  const grid = await app.get(`/api/v2/datasets/${id}/data?limit=1000`);
  for (const row of grid.body.data) await waitForDatasource(app, row[0].value.datasourceId, 600_000);
  const uploadMs = performance.now() - startedUpload;
  console.log(`${documents} two-page PDFs uploaded and extracted in ${uploadMs.toFixed(0)} ms (${((documents * 2 * 1000) / uploadMs).toFixed(0)} pages/s)`);

  const runTask = async (body: unknown) => {
    const started = performance.now();
    const task = await app.post(`/api/v2/datasets/${id}/tasks/bulk`, body);
    for (;;) {
      const t = (await app.get(`/api/v2/datasets/${id}/tasks/${task.body.taskId}`)).body;
      if (['completed', 'failed', 'cancelled'].includes(t.status)) return { ms: performance.now() - started, body: t };
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const columnIds: string[] = [];
  for (const name of ['Invoice number', 'Total']) columnIds.push((await app.post(`/api/v2/datasets/${id}/columns`, { name, taskType: 'doc_extraction' })).body.columnId);
  fake.reset();
  const { ms, body } = await runTask({ columnIds });
  const calls = fake.requests.filter((r) => parseDocRequest(r)).length;
  const floor = (calls * latencyMs) / concurrency;
  console.log(
    `doc_extraction: ${documents} documents x 2 columns in ${ms.toFixed(0)} ms; floor ${floor.toFixed(0)} ms (${calls} calls x ${latencyMs} ms / ${concurrency}); ratio ${(ms / floor).toFixed(2)}; ` +
      `${(calls / documents).toFixed(2)} LLM calls per document (${body.usage.cachedCalls} cells served by the cache); ${body.status}, ${body.progress.completed} cells done`,
  );
  // The engine's own overhead on this machine at this moment, for comparison: one ai_enrich call per row.
  const baselineColumn = (await app.post(`/api/v2/datasets/${id}/columns`, { name: 'Baseline', taskType: 'ai_enrich', metadata: { prompt: 'Say something about {{document}}' } })).body.columnId;
  const baseline = await runTask({ columnIds: [baselineColumn] });
  const baseFloor = (documents * latencyMs) / concurrency;
  console.log(`baseline ai_enrich over the same ${documents} rows: ${baseline.ms.toFixed(0)} ms; floor ${baseFloor.toFixed(0)} ms; ratio ${(baseline.ms / baseFloor).toFixed(2)}`);
} finally {
  await app.close();
  await fake.close();
}
