import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../src/config.ts';
import { cellId, newId } from '../src/ids.ts';
import { startServer } from '../src/main.ts';
import { startFakeOpenAI } from './fakes/openai-server.ts';
import { ADMIN_KEY, freshDatabase } from './helpers/app.ts';
import { databaseBefore } from './helpers/old-database.ts';
import { waitForTask } from './helpers/tasks.ts';

/**
 * Issue 13's migration (0016): a database whose cells are stored one row per cell, as every
 * release before it wrote them, opens, is migrated in place, and works: the same values (exact
 * JSON), statuses, metadata and datasource links, on SQLite and PostgreSQL. The old database is
 * made by the migrations that shipped before 0016, then filled the way the old store wrote cells.
 */
describe('migration 0016 (one stored row per dataset row)', () => {
  it('a database with one stored row per cell opens and reads, writes and runs as before', async () => {
    const db = await freshDatabase();
    const fake = await startFakeOpenAI();
    const old = await databaseBefore('0016', db);
    const at = '2026-01-01T00:00:00.000Z';
    const later = '2026-01-02T00:00:00.000Z';
    const ws = newId('workspace');
    const ds = newId('dataset');
    const dsrc = newId('datasource');
    const [name, doc, out] = [newId('column'), newId('column'), newId('column')];
    const rows = [newId('row'), newId('row'), newId('row')];
    await old.insertInto('workspaces').values({ id: ws, name: 'Default', created_at: at }).execute();
    await old.insertInto('datasets').values({ id: ds, workspace_id: ws, name: 'Old', description: null, type: 'analysis', source_datasource_id: null, status: 'completed', active_task_id: null, row_count: 3, created_at: at, updated_at: at }).execute();
    await old.insertInto('datasources').values({ id: dsrc, workspace_id: ws, file_name: 'a.pdf', content_type: 'application/pdf', format: 'pdf', kind: 'document', file_size: 3, blob_key: 'x', status: 'completed', error: null, info: '{}', uploaded_at: at, processed_at: at }).execute();
    const columns = [
      { id: name, name: 'Name', task_type: 'raw', metadata: '{}', depends_on: '[]', position: 0, data_type: 'text' },
      { id: doc, name: 'Doc', task_type: 'raw', metadata: '{}', depends_on: '[]', position: 1, data_type: 'json' },
      { id: out, name: 'Out', task_type: 'ai_enrich', metadata: JSON.stringify({ prompt: 'Describe {{Name}}' }), depends_on: JSON.stringify([name]), position: 2, data_type: null },
    ];
    await old.insertInto('dataset_columns').values(columns.map((c) => ({ ...c, dataset_id: ds, created_at: at, updated_at: at }))).execute();
    await old.insertInto('dataset_rows').values(rows.map((id, i) => ({ id, dataset_id: ds, position: i, created_at: at, datasource_id: null }))).execute();
    const link = JSON.stringify({ datasourceId: dsrc, fileName: 'a.pdf', contentType: 'application/pdf' });
    const meta = JSON.stringify({ model: 'openai:gpt-4o-mini', confidence: 0.8, confidenceSource: 'logprobs' });
    // Values as the old store wrote them: JSON text, SQL NULL for no value; one cell is missing
    // altogether (a row that never got one) and must read as empty.
    const cells = [
      [rows[0], name, '"Acme \\u00e9 \\"quoted\\""', 'done', '{}', null, at],
      [rows[0], doc, link, 'done', '{}', dsrc, at],
      [rows[0], out, '"An anvil maker"', 'done', meta, null, later],
      [rows[1], name, '"Globex"', 'done', '{}', null, at],
      [rows[1], doc, '"nul \\u0000 and \\ud800"', 'done', '{}', null, at],
      [rows[1], out, null, 'error', JSON.stringify({ error: 'rate limited' }), null, later],
      [rows[2], name, '12.50', 'done', '{}', null, at],
      [rows[2], doc, '[1,{"a":null}]', 'done', '{}', null, at],
    ];
    for (const [row_id, column_id, value, status, metadata, datasource_id, updated_at] of cells) {
      await old.insertInto('cells').values({ row_id, column_id, value, status, metadata, datasource_id, updated_at }).execute();
    }
    await old.destroy();

    const config = loadConfig({}, { port: 0, host: '127.0.0.1', dataDir: db.dataDir, adminKey: ADMIN_KEY, logLevel: 'error', rateLimitPerMinute: 0, openaiBaseUrl: fake.baseUrl, model: 'openai:gpt-4o-mini', ...(db.databaseUrl ? { databaseUrl: db.databaseUrl, databaseSchema: db.databaseSchema } : {}) });
    const server = await startServer(config);
    const call = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${server.port}/api/v2${p}`, { method, headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
      return { status: res.status, body: (await res.json()) as any };
    };
    try {
      const tables = server.store.dialect === 'postgres'
        ? await sql<{ n: string }>`SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = ${db.databaseSchema!} AND table_name = 'cells'`.execute(server.store.db)
        : await sql<{ n: number }>`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'cells'`.execute(server.store.db);
      assert.equal(Number(tables.rows[0]!.n), 0, 'the per-cell table is gone');

      const page = await call('GET', `/datasets/${ds}/data`);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      assert.deepEqual(page.body.rowIds, rows);
      assert.deepEqual(page.body.data, [
        [
          { cellId: cellId(rows[0]!, name), value: 'Acme é "quoted"', status: 'done' },
          { cellId: cellId(rows[0]!, doc), value: JSON.parse(link), status: 'done' },
          { cellId: cellId(rows[0]!, out), value: 'An anvil maker', status: 'done' },
        ],
        [
          { cellId: cellId(rows[1]!, name), value: 'Globex', status: 'done' },
          { cellId: cellId(rows[1]!, doc), value: 'nul \u0000 and \ud800', status: 'done' },
          { cellId: cellId(rows[1]!, out), value: null, status: 'error' },
        ],
        [
          { cellId: cellId(rows[2]!, name), value: 12.5, status: 'done' },
          { cellId: cellId(rows[2]!, doc), value: [1, { a: null }], status: 'done' },
          { cellId: cellId(rows[2]!, out), value: null, status: 'empty' },
        ],
      ]);
      const withMeta = await call('GET', `/datasets/${ds}/data?includeMetadata=true`);
      assert.deepEqual(withMeta.body.data[0][2].metadata, JSON.parse(meta));
      assert.deepEqual(withMeta.body.data[1][2].metadata, { error: 'rate limited' });
      assert.deepEqual(withMeta.body.data[0][0].metadata, {});
      assert.equal(withMeta.body.rows[0].updatedAt, later, 'a row changed when its last cell did');
      assert.equal(withMeta.body.rows[0].datasourceId, dsrc, 'the document the row links');
      const detail = await call('GET', `/datasets/${ds}`);
      assert.deepEqual(detail.body.linkedDatasources, [dsrc]);

      // Writes and runs work on the migrated rows.
      const patched = await call('PATCH', `/datasets/${ds}/cells/${cellId(rows[1]!, name)}`, { value: 'Globex Corp' });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      const task = await call('POST', `/datasets/${ds}/tasks/bulk`, {});
      assert.equal(task.status, 202, JSON.stringify(task.body));
      const done = await waitForTask({ get: (p: string) => call('GET', p.replace('/api/v2', '')) } as any, ds, task.body.taskId);
      assert.equal(done.status, 'completed');
      const after = await call('GET', `/datasets/${ds}/data`);
      // The run takes empty and stale cells (the error cell keeps its error until run on purpose).
      assert.deepEqual(after.body.data.map((r: any[]) => r[2].status), ['done', 'error', 'done']);
      assert.equal(after.body.data[0][2].value, 'An anvil maker', 'a done cell is not re-run');
      assert.equal(after.body.data[1][0].value, 'Globex Corp');
      assert.equal(fake.requests.length, 1, 'the empty cell ran');
      assert.match(JSON.stringify(fake.requests[0]!.body), /Describe 12\.5/);
    } finally {
      await server.close();
      await fake.close();
      await db.drop();
    }
  });
});
