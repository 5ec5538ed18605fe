/**
 * What the shared (PostgreSQL) rate-limit counter costs per request (issue 14): the same cheap
 * authenticated GET sent sequentially with the limit off (CELLWISE_RATE_LIMIT_PER_MINUTE=0) and
 * on (one upsert per request), alternating in rounds so drift on a shared machine hits both.
 *
 * Usage: CELLWISE_BENCH_DATABASE_URL=postgres://... npm run bench -- rate-limit   (BENCH_REQUESTS=2000)
 */
import os from 'node:os';
import { startTestApp } from '../test/helpers/app.ts';

const pgUrl = process.env.CELLWISE_BENCH_DATABASE_URL;
const requests = Number(process.env.BENCH_REQUESTS ?? 2000);
if (!pgUrl) {
  console.log('rate-limit cost: skipped (set CELLWISE_BENCH_DATABASE_URL=postgres://...)');
} else {
  process.env.CELLWISE_TEST_BACKEND = 'postgres';
  process.env.CELLWISE_TEST_DATABASE_URL = pgUrl;
  const off = await startTestApp({ rateLimitPerMinute: 0, logLevel: 'error' });
  const on = await startTestApp({ rateLimitPerMinute: 1_000_000, logLevel: 'error' });
  const times: Record<'off' | 'on', number[]> = { off: [], on: [] };
  try {
    for (let round = 0; round < 10; round++) {
      for (const [name, app] of [['off', off], ['on', on]] as const) {
        for (let i = 0; i < requests / 10; i++) {
          const t = performance.now();
          const res = await app.get('/api/v2/datasets?limit=1');
          if (res.status !== 200) throw new Error(`status ${res.status}`);
          times[name].push(performance.now() - t);
        }
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`rate-limit cost (PostgreSQL counter, ${requests} requests each, sequential, load average ${(os.loadavg()[0] ?? 0).toFixed(1)}): median ${median(times.off).toFixed(2)} ms off vs ${median(times.on).toFixed(2)} ms on (+${(median(times.on) - median(times.off)).toFixed(2)} ms); mean ${mean(times.off).toFixed(2)} vs ${mean(times.on).toFixed(2)} ms`);
  } finally {
    await off.close();
    await on.close();
  }
}
