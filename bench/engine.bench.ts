/**
 * Engine throughput: N ai_enrich cells against the fake OpenAI server at 50 ms latency with
 * concurrency 32, against the floor N x 50 ms / 32. Then the same task again (cache: 0 calls).
 * Usage: node --import tsx bench/engine.bench.ts [cells=10000]
 * Note: the fake runs in this process (a child-process fake is still to do).
 */
import { startFakeOpenAI } from '../test/fakes/openai-server.ts';
import { startTestApp } from '../test/helpers/app.ts';

const cells = Number(process.argv[2] ?? 10_000);
const latencyMs = 50;
const concurrency = 32;
const fake = await startFakeOpenAI({ latencyMs });
const app = await startTestApp({ openaiBaseUrl: fake.baseUrl, llmConcurrency: concurrency, logLevel: 'error' });
try {
  const rows = Array.from({ length: cells }, (_, i) => ({ Name: `row ${i}` }));
  const ds = await app.post('/api/v2/datasets', { name: 'bench', type: 'analysis', rows });
  const id = ds.body.datasetId as string;
  await app.post(`/api/v2/datasets/${id}/columns`, { name: 'Out', taskType: 'ai_enrich', metadata: { prompt: 'Describe {{Name}}' } });
  const run = async (body: unknown) => {
    const started = performance.now();
    const task = await app.post(`/api/v2/datasets/${id}/tasks/bulk`, body);
    for (;;) {
      const t = await app.get(`/api/v2/datasets/${id}/tasks/${task.body.taskId}`);
      if (['completed', 'failed', 'cancelled'].includes(t.body.status)) return { ms: performance.now() - started, task: t.body };
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const floor = (cells * latencyMs) / concurrency;
  const first = await run({});
  console.log(`throughput: ${cells} cells in ${first.ms.toFixed(0)} ms; floor ${floor.toFixed(0)} ms; ratio ${(first.ms / floor).toFixed(2)} (${first.task.status}, calls ${first.task.usage.llmCalls})`);
  const before = fake.count;
  const second = await run({ columnIds: [(await app.get(`/api/v2/datasets/${id}`)).body.columns.find((c: any) => c.name === 'Out').columnId] });
  console.log(`cache: ${fake.count - before} LLM calls, ${second.task.usage.cachedCalls} cached, ${second.ms.toFixed(0)} ms`);
} finally {
  await app.close();
  await fake.close();
}
