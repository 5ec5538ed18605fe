import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { cellId, newId } from '../src/ids.ts';
import { startServer } from '../src/main.ts';
import { ADMIN_KEY, freshDatabase } from './helpers/app.ts';
import { databaseBefore } from './helpers/old-database.ts';

/**
 * Issue 19's migrations (0017-0019) on a database written before them: the review state already in
 * cells' metadata (needsReview, confidence, review decisions) is found by the new filters and
 * counts, and a search over the old rows finds them, on SQLite and PostgreSQL.
 */
describe('migrations 0017-0019 (views, review, search)', () => {
  it('review state written before them is filtered, counted and searched after them', async () => {
    const db = await freshDatabase();
    const old = await databaseBefore('0017', db);
    const at = '2026-01-01T00:00:00.000Z';
    const ws = newId('workspace');
    const ds = newId('dataset');
    const [name, out] = [newId('column'), newId('column')];
    const rows = [newId('row'), newId('row'), newId('row'), newId('row')];
    await old.insertInto('workspaces').values({ id: ws, name: 'Default', created_at: at }).execute();
    await old.insertInto('datasets').values({ id: ds, workspace_id: ws, name: 'Old', description: null, type: 'analysis', source_datasource_id: null, status: 'completed', active_task_id: null, row_count: rows.length, created_at: at, updated_at: at }).execute();
    await old.insertInto('dataset_columns').values([
      { id: name, dataset_id: ds, name: 'Name', task_type: 'raw', metadata: '{}', depends_on: '[]', position: 0, data_type: 'text', created_at: at, updated_at: at },
      { id: out, dataset_id: ds, name: 'Sector', task_type: 'ai_enrich', metadata: JSON.stringify({ prompt: 'Sector of {{Name}}' }), depends_on: JSON.stringify([name]), position: 1, data_type: null, created_at: at, updated_at: at },
    ]).execute();
    const names = ['Acme Anvils', 'Globex', 'Initech', 'Umbrella'];
    await old.insertInto('dataset_rows').values(rows.map((id, i) => ({
      id, dataset_id: ds, position: i, created_at: at, updated_at: at, datasource_id: null,
      cells: JSON.stringify([{ cellId: cellId(id, name), value: names[i], status: 'done' }, { cellId: cellId(id, out), value: `Sector ${i}`, status: 'done' }]),
    }))).execute();
    const review = (decision: string) => ({ decision, note: null, keyId: 'key_old', at });
    const metas = [
      { confidence: 0.4, needsReview: true }, // needs review
      { confidence: 0.45, needsReview: true, review: review('approved') }, // approved: no longer needs it
      { confidence: 0.9, needsReview: false, review: review('rejected') },
      { confidence: 0.95, needsReview: false },
    ];
    await old.insertInto('cell_meta').values(rows.map((row_id, i) => ({ row_id, column_id: out, metadata: JSON.stringify(metas[i]), datasource_id: null }))).execute();
    await old.destroy();

    const config = loadConfig({}, { port: 0, host: '127.0.0.1', dataDir: db.dataDir, adminKey: ADMIN_KEY, logLevel: 'error', rateLimitPerMinute: 0, ...(db.databaseUrl ? { databaseUrl: db.databaseUrl, databaseSchema: db.databaseSchema } : {}) });
    const server = await startServer(config);
    const call = async (p: string) => {
      const res = await fetch(`http://127.0.0.1:${server.port}/api/v2${p}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      return { status: res.status, body: (await res.json()) as any };
    };
    const rowsOf = async (query: string) => {
      const res = await call(`/datasets/${ds}/data?${query}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.rowIds as string[];
    };
    const filter = (f: unknown) => `filter=${encodeURIComponent(JSON.stringify(f))}`;
    try {
      assert.deepEqual(await rowsOf(filter({ needsReview: true })), [rows[0]]);
      assert.deepEqual(await rowsOf(filter({ needsReview: true, column: out })), [rows[0]]);
      assert.deepEqual(await rowsOf(filter({ reviewed: 'approved' })), [rows[1]]);
      assert.deepEqual(await rowsOf(filter({ reviewed: 'rejected' })), [rows[2]]);
      assert.deepEqual(await rowsOf(filter({ and: [{ reviewed: false, column: out }, { confidence: { gt: 0.5 }, column: out }] })), [rows[3]]);
      assert.deepEqual(await rowsOf(filter({ confidence: { lt: 0.5 } })), [rows[0], rows[1]]);
      assert.deepEqual(await rowsOf(`sort=${out}:desc&${filter({ confidence: { lt: 0.5 } })}`), [rows[1], rows[0]]);
      assert.deepEqual((await call(`/datasets/${ds}`)).body.review, { needsReview: 1, approved: 1, rejected: 1 });
      assert.deepEqual(await rowsOf('q=globex'), [rows[1]]);
      assert.deepEqual(await rowsOf('q=sector'), rows);
    } finally {
      await server.close();
      await db.drop();
    }
  });
});
