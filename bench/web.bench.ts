/**
 * Web enrichment figures.
 * 1. Reading: N pages of the local test website, fetch + readable text through the web reader
 *    (safe fetcher, robots.txt, politeness gate, Readability on linkedom), inline and in the worker
 *    threads the server uses, against a floor of plain fetch() + text() of the same pages in the
 *    same run, all with the same concurrency.
 * 2. web_enrich over R rows (row URL + one linked page each) with the fake LLM at 50 ms latency:
 *    wall time, then a second run of the column: pages fetched again vs saved by the page cache.
 * Usage: node --import tsx bench/web.bench.ts [pages=500] [rows=300]
 * The website, the fake LLM and the server share this process (and the machine's 2 cores).
 */
import { createHttpFetcher } from '../src/providers/web/http-fetcher.ts';
import { createPoliteness } from '../src/providers/web/politeness.ts';
import { createReadablePool } from '../src/providers/web/readable-pool.ts';
import { createRobots } from '../src/providers/web/robots.ts';
import { createWebReader } from '../src/providers/web/web-reader.ts';
import { startFakeOpenAI } from '../test/fakes/openai-server.ts';
import { webAnswerer } from '../test/fakes/web-answerer.ts';
import { startFakeWebsite } from '../test/fakes/website.ts';
import { startTestApp } from '../test/helpers/app.ts';

const pages = Number(process.argv[2] ?? 500);
const rows = Number(process.argv[3] ?? 300);
const concurrency = 8;
const site = await startFakeWebsite();

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

try {
  const urls = Array.from({ length: pages }, (_, i) => `${site.url}/c/${i}`);
  // Warm both paths (connections, JIT) on other pages so neither pays first-use costs in the timing.
  const warm = Array.from({ length: 20 }, (_, i) => `${site.url}/c/${100_000 + i}`);
  const fetcher = createHttpFetcher({ allowPrivate: true, userAgent: 'cellwise/0.1 (bench)', connectTimeoutMs: 5_000, timeoutMs: 30_000, maxBytes: 5_000_000 });
  const reader = createWebReader({ fetcher, robots: createRobots({ fetcher, agent: 'cellwise' }), politeness: createPoliteness({ concurrency, delayMs: 0 }), maxAgeMs: 0 });
  const threads = createReadablePool();
  const threaded = createWebReader({ fetcher, robots: createRobots({ fetcher, agent: 'cellwise' }), politeness: createPoliteness({ concurrency, delayMs: 0 }), maxAgeMs: 0, readHtml: (html, url) => threads.read(html, url) });
  await pool(warm, concurrency, async (u) => (await fetch(u)).text());
  await pool(warm, concurrency, (u) => reader.read('bench', u));
  await pool(warm, concurrency, (u) => threaded.read('bench', u));

  let bytes = 0;
  let t = performance.now();
  await pool(urls, concurrency, async (u) => {
    const html = await (await fetch(u)).text();
    bytes += html.length;
  });
  const floorMs = performance.now() - t;
  let chars = 0;
  t = performance.now();
  await pool(urls, concurrency, async (u) => {
    const page = await reader.read('bench', u);
    chars += page.text.length;
  });
  const readMs = performance.now() - t;
  t = performance.now();
  await pool(urls, concurrency, (u) => threaded.read('bench', u));
  const threadedMs = performance.now() - t;
  await threads.close();
  const rate = (ms: number) => (pages / (ms / 1000)).toFixed(0);
  console.log(`reading: ${pages} pages (${(bytes / pages / 1024).toFixed(1)} KB HTML each), concurrency ${concurrency}`);
  console.log(`  plain fetch+text (floor): ${floorMs.toFixed(0)} ms, ${rate(floorMs)} pages/s`);
  console.log(`  fetch + readable text:    ${readMs.toFixed(0)} ms, ${rate(readMs)} pages/s (${(chars / pages).toFixed(0)} chars of text per page); ratio ${(readMs / floorMs).toFixed(2)}x the floor`);
  console.log(`  same, parsed in worker threads (as the server does): ${threadedMs.toFixed(0)} ms, ${rate(threadedMs)} pages/s; ratio ${(threadedMs / floorMs).toFixed(2)}x the floor`);

  const fake = await startFakeOpenAI({ latencyMs: 50, respond: webAnswerer() });
  // A local site: politeness opened up to the engine's concurrency (the default is 2 per host, 1 s apart).
  const app = await startTestApp({ openaiBaseUrl: fake.baseUrl, fetchAllowPrivate: true, fetchHostConcurrency: 32, fetchHostDelayMs: 0, llmConcurrency: 16, logLevel: 'error' });
  try {
    const ds = await app.post('/api/v2/datasets', { name: 'web bench', type: 'analysis', rows: Array.from({ length: rows }, (_, i) => ({ Website: `${site.url}/c/${i}` })) });
    const id = ds.body.datasetId as string;
    const website = (await app.get(`/api/v2/datasets/${id}`)).body.columns.find((c: { name: string }) => c.name === 'Website').columnId as string;
    const col = await app.post(`/api/v2/datasets/${id}/columns`, { name: 'CEO', taskType: 'web_enrich', metadata: { prompt: 'Who is the chief executive officer? How big is the team?', urlColumnId: website, maxPages: 2 } });
    const columnId = col.body.columnId as string;
    const run = async () => {
      const before = site.requests.length;
      const started = performance.now();
      const task = await app.post(`/api/v2/datasets/${id}/tasks/bulk`, { columnIds: [columnId] });
      for (;;) {
        const s = await app.get(`/api/v2/datasets/${id}/tasks/${task.body.taskId}`);
        if (['completed', 'failed', 'cancelled'].includes(s.body.status)) return { ms: performance.now() - started, fetches: site.requests.slice(before).filter((p) => p !== '/robots.txt').length, task: s.body };
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const llmBefore = fake.count;
    const first = await run();
    const llmFirst = fake.count - llmBefore;
    const grid = (await app.get(`/api/v2/datasets/${id}/data?includeMetadata=true&limit=${rows}`)).body;
    const k = grid.columns.findIndex((c: { columnId: string }) => c.columnId === columnId);
    const cells = grid.data.map((r: { metadata?: { sources?: unknown[] }; status: string }[]) => r[k]!);
    const withSources = cells.filter((c: { status: string; metadata?: { sources?: unknown[] } }) => c.status === 'done' && (c.metadata?.sources?.length ?? 0) > 0).length;
    console.log(`web_enrich: ${rows} rows, maxPages 2, fake LLM 50 ms, LLM concurrency 16`);
    console.log(`  first run:  ${first.ms.toFixed(0)} ms (${first.task.status}, ${first.task.progress?.completed ?? '?'} done, ${withSources} with verified sources), ${first.fetches} page fetches, ${llmFirst} LLM calls`);
    const llmBefore2 = fake.count;
    const second = await run();
    console.log(`  second run: ${second.ms.toFixed(0)} ms, ${second.fetches} page fetches (${first.fetches - second.fetches} saved by the page cache), ${fake.count - llmBefore2} LLM calls (${second.task.usage?.cachedCalls ?? '?'} from the LLM cache)`);
  } finally {
    await app.close();
    await fake.close();
  }
} finally {
  await site.close();
}
