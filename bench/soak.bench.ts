/**
 * The multi-node soak at full size (issue 14): 20,000 ai_enrich cells, fake LLM at 50 ms, 2 APIs +
 * 2 workers on PostgreSQL, one process SIGKILLed and restarted every 5 s (bench/support/soak.ts).
 *
 * Usage: CELLWISE_BENCH_DATABASE_URL=postgres://... npm run bench -- soak
 *        (BENCH_SOAK_CELLS=20000, BENCH_SOAK_KILL_MS=5000, BENCH_SOAK_CONCURRENCY=16)
 */
import { runSoak } from './support/soak.ts';

const pgUrl = process.env.CELLWISE_BENCH_DATABASE_URL;
if (!pgUrl) {
  console.log('soak: skipped (set CELLWISE_BENCH_DATABASE_URL=postgres://...)');
} else {
  process.env.CELLWISE_TEST_BACKEND = 'postgres';
  process.env.CELLWISE_TEST_DATABASE_URL = pgUrl;
  const concurrency = Number(process.env.BENCH_SOAK_CONCURRENCY ?? 16);
  const r = await runSoak({ cells: Number(process.env.BENCH_SOAK_CELLS ?? 20_000), latencyMs: 50, killEveryMs: Number(process.env.BENCH_SOAK_KILL_MS ?? 5000), workerConcurrency: concurrency, log: console.log });
  const inside = new Map<string, number>();
  for (const f of r.failuresInside) inside.set(String(f.status), (inside.get(String(f.status)) ?? 0) + 1);
  console.log(`soak: task ${r.task.status} in ${r.seconds.toFixed(1)} s; ${r.doneCells} cells done of ${r.task.progress.total}; ${r.distinctPrompts} distinct prompts, ${r.llmCalls} LLM calls (${r.repeated} repeats over ${r.workerKills} worker kills; bound ${r.workerKills * 3 * concurrency}); ${r.kills} kills`);
  console.log(`soak: failures outside kill windows: ${r.failuresOutside.length} ${JSON.stringify(r.failuresOutside.slice(0, 5))}; inside: ${JSON.stringify(Object.fromEntries(inside))}`);
  console.log(`soak: export made through API 1 downloaded through API 2: ${r.exportOk}; document uploaded through API 2 extracted and read through API 1: ${r.documentOk}`);
}
