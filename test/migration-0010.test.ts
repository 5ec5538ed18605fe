import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../src/config.ts';
import { startServer } from '../src/main.ts';
import { startFakeOpenAI } from './fakes/openai-server.ts';
import { ADMIN_KEY, freshDatabase } from './helpers/app.ts';
import { waitForTask } from './helpers/tasks.ts';

/**
 * Issue 12's migration (0010): a database made before it (no column types, no row datasources,
 * no rows_added) opens, is migrated, and works. The "old" database is made by today's server,
 * then taken back to its pre-0010 shape: the new columns dropped and the migration unrecorded.
 */
describe('migration 0010 (column types, row datasources, rows added)', () => {
  it('a database from before it opens and works: raw columns read as mixed, imported rows find their datasource', async () => {
    const db = await freshDatabase();
    const fake = await startFakeOpenAI();
    const config = loadConfig({}, { port: 0, host: '127.0.0.1', dataDir: db.dataDir, adminKey: ADMIN_KEY, logLevel: 'error', rateLimitPerMinute: 0, openaiBaseUrl: fake.baseUrl, model: 'openai:gpt-4o-mini', ...(db.databaseUrl ? { databaseUrl: db.databaseUrl, databaseSchema: db.databaseSchema } : {}) });
    const call = async (port: number, method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v2${path}`, { method, headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
      return { status: res.status, body: (await res.json()) as any };
    };
    let server = await startServer(config);
    try {
      const form = new FormData();
      form.append('name', 'Old');
      form.append('type', 'analysis');
      form.append('file', new Blob(['Zip,Name\n00501,a\n10001,b\n'], { type: 'text/csv' }), 'old.csv');
      const up = await fetch(`http://127.0.0.1:${server.port}/api/v2/datasets/upload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}` }, body: form });
      const ds = (await up.json()) as any;
      assert.equal(up.status, 201, JSON.stringify(ds));
      const d = server.store.db;
      for (const [table, column] of [['dataset_columns', 'data_type'], ['dataset_rows', 'datasource_id'], ['tasks', 'rows_added']] as const) await sql`ALTER TABLE ${sql.table(table)} DROP COLUMN ${sql.ref(column)}`.execute(d);
      await sql`DELETE FROM kysely_migration WHERE name = '0010_issue12_column_types'`.execute(d);
      await server.close();

      server = await startServer(config);
      const g = await call(server.port, 'GET', `/datasets/${ds.datasetId}/data?includeMetadata=true`);
      assert.equal(g.status, 200, JSON.stringify(g.body));
      assert.deepEqual(
        g.body.columns.map((c: any) => c.dataType),
        ['mixed', 'mixed'],
      );
      assert.ok(g.body.rows.every((r: any) => typeof r.datasourceId === 'string' && r.datasourceId.startsWith('dsrc_')), JSON.stringify(g.body.rows));
      const col = await call(server.port, 'POST', `/datasets/${ds.datasetId}/columns`, { name: 'Out', taskType: 'ai_enrich', metadata: { prompt: 'Describe {{Name}}' } });
      assert.equal(col.status, 201, JSON.stringify(col.body));
      const task = await call(server.port, 'POST', `/datasets/${ds.datasetId}/tasks/bulk`, {});
      const done = await waitForTask({ get: (p: string) => call(server.port, 'GET', p.replace('/api/v2', '')) } as any, ds.datasetId, task.body.taskId);
      assert.equal(done.status, 'completed');
      const zip = g.body.columns[0].columnId;
      const typed = await call(server.port, 'PATCH', `/datasets/${ds.datasetId}/columns/${zip}`, { dataType: 'text' });
      assert.equal(typed.status, 200, JSON.stringify(typed.body));
      const after = await call(server.port, 'GET', `/datasets/${ds.datasetId}/data`);
      assert.deepEqual(
        after.body.data.map((r: any[]) => r[0].value),
        ['00501', '10001'],
      );
    } finally {
      await server.close();
      await fake.close();
      await db.drop();
    }
  });
});
