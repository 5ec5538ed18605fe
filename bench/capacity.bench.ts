/**
 * Capacity figures for docs/scaling.md (issue 14): what one ai_enrich cell costs PostgreSQL. One
 * task of N cells (in-process engine, fake LLM at 0 ms) on a fresh schema; around it, the WAL
 * written, the transactions and tuples of the database (pg_stat_database; other sessions on the
 * same database add to these), then the size of each table and index of the schema, right after
 * the run and after VACUUM FULL (its live rows only).
 *
 * Usage: CELLWISE_BENCH_DATABASE_URL=postgres://... npm run bench -- capacity   (BENCH_CELLS=10000)
 */
import pg from 'pg';
import { startFakeOpenAI } from '../test/fakes/openai-server.ts';
import { startTestApp } from '../test/helpers/app.ts';

const pgUrl = process.env.CELLWISE_BENCH_DATABASE_URL;
const cells = Number(process.env.BENCH_CELLS ?? 10_000);
if (!pgUrl) {
  console.log('capacity: skipped (set CELLWISE_BENCH_DATABASE_URL=postgres://...)');
} else {
  process.env.CELLWISE_TEST_BACKEND = 'postgres';
  process.env.CELLWISE_TEST_DATABASE_URL = pgUrl;
  const fake = await startFakeOpenAI();
  const app = await startTestApp({ openaiBaseUrl: fake.baseUrl, llmConcurrency: 32, logLevel: 'error' });
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  const stats = async () => {
    const r = await client.query(`SELECT pg_current_wal_lsn() AS lsn, xact_commit, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = current_database()`);
    return r.rows[0] as { lsn: string; xact_commit: string; tup_inserted: string; tup_updated: string; tup_deleted: string };
  };
  try {
    const rows = Array.from({ length: cells }, (_, i) => ({ Name: `capacity row ${i}` }));
    const ds = (await app.post('/api/v2/datasets', { name: 'capacity', type: 'analysis', rows, columns: [{ name: 'Out', taskType: 'ai_enrich', metadata: { prompt: 'Describe {{Name}}' } }] })).body;
    await client.query('SELECT pg_stat_force_next_flush()').catch(() => {});
    const before = await stats();
    const task = (await app.post(`/api/v2/datasets/${ds.datasetId}/tasks/bulk`, {})).body;
    for (;;) {
      const t = (await app.get(`/api/v2/datasets/${ds.datasetId}/tasks/${task.taskId}`)).body;
      if (t.status !== 'processing' && t.status !== 'queued') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 1000)); // statistics are flushed by backends about every second
    const after = await stats();
    const wal = Number((await client.query(`SELECT pg_wal_lsn_diff($1, $2) AS d`, [after.lsn, before.lsn])).rows[0].d);
    const per = (a: string, b: string) => ((Number(a) - Number(b)) / cells).toFixed(2);
    console.log(`capacity: ${cells} ai_enrich cells; per cell: WAL ${(wal / cells).toFixed(0)} bytes, commits ${per(after.xact_commit, before.xact_commit)}, tuples inserted ${per(after.tup_inserted, before.tup_inserted)}, updated ${per(after.tup_updated, before.tup_updated)}, deleted ${per(after.tup_deleted, before.tup_deleted)} (database-wide counters: other sessions add to them)`);
    const schema = app.config.databaseSchema;
    const sizesNow = async () => {
      const r = await client.query(
        `SELECT c.relname AS name, c.relkind AS kind, pg_relation_size(c.oid) AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'i') ORDER BY 3 DESC`,
        [schema],
      );
      return new Map((r.rows as { name: string; kind: string; bytes: string }[]).map((row) => [row.name, { kind: row.kind, bytes: Number(row.bytes) }]));
    };
    // Right after the run the tables also hold the row versions its updates left behind, which
    // autovacuum makes reusable but does not give back; VACUUM FULL leaves only the live rows.
    const afterRun = await sizesNow();
    const tables = [...afterRun].filter(([, v]) => v.kind === 'r').map(([name]) => name);
    for (const table of tables) await client.query(`VACUUM FULL "${schema}"."${table}"`);
    const live = await sizesNow();
    const gb = (bytes: number) => ((bytes / cells) * 1e6) / 1073741824;
    let total = 0;
    let totalLive = 0;
    for (const [name, { kind, bytes }] of afterRun) {
      const liveBytes = live.get(name)?.bytes ?? 0;
      total += bytes;
      totalLive += liveBytes;
      if (bytes <= 8192 && liveBytes <= 8192) continue;
      console.log(`capacity: ${kind === 'i' ? 'index' : 'table'} ${name}: ${(bytes / 1048576).toFixed(2)} MB after the run, ${(liveBytes / 1048576).toFixed(2)} MB live (GB per million cells: ${gb(bytes).toFixed(2)} / ${gb(liveBytes).toFixed(2)})`);
    }
    console.log(`capacity: the schema in all, GB per million cells: ${gb(total).toFixed(2)} after the run, ${gb(totalLive).toFixed(2)} live (VACUUM FULL)`);
  } finally {
    await client.end();
    await app.close();
    await fake.close();
  }
}
