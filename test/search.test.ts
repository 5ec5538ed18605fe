import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { searchCondition, searchTerms, searchTuning } from '../src/store/row-search.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

/** Issue 19: `q`, search across a row's text, against the same search computed here over every row. */
let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.close());

const db = () => app.running.store.db;
/** The rows the index finds, in position order. */
async function search(datasetId: string, q: string): Promise<string[]> {
  const cond = fragment(await searchCondition(db(), datasetId, q));
  const rows = await sql<{ id: string }>`SELECT r.id FROM dataset_rows r WHERE r.dataset_id = ${datasetId} AND ${cond} ORDER BY r.position`.execute(db());
  const count = await sql<{ n: number }>`SELECT count(*) AS n FROM dataset_rows r WHERE r.dataset_id = ${datasetId} AND ${fragment(await searchCondition(db(), datasetId, q))}`.execute(db());
  assert.equal(Number(count.rows[0]!.n), rows.rows.length, 'a count gives the same rows');
  return rows.rows.map((r) => r.id);
}
/** The condition's `?` placeholders bound to its parameters, as the row query does. */
function fragment(s: { sql: string; params: unknown[] }) {
  const parts = s.sql.split('?');
  assert.equal(parts.length, s.params.length + 1);
  return sql<boolean>(Object.assign([...parts], { raw: [...parts] }) as unknown as TemplateStringsArray, ...s.params);
}
/** The same search done here: every term, case-insensitively, inside one of the row's values as text. */
async function expected(datasetId: string, q: string): Promise<string[]> {
  const g = (await app.get(`/api/v2/datasets/${datasetId}/data?limit=1000`)).body;
  const terms = searchTerms(q).map((t) => t.toLowerCase());
  const text = (v: unknown) => (v === null ? '' : typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v)).toLowerCase();
  return g.rowIds.filter((_: string, i: number) => terms.every((t) => g.data[i].some((c: any) => text(c.value).includes(t))));
}
async function agree(datasetId: string, queries: readonly string[]) {
  for (const q of queries) assert.deepEqual(await search(datasetId, q), await expected(datasetId, q), `q=${JSON.stringify(q)}`);
}

const words = ['Lyon', 'Paris', 'bakery', 'Boulangerie Dupont', 'café', '100% organic', 'snake_case', 'quote "this"', 'back\\slash', 'LYONNAIS', 'ly', 'x', '42', 'Marseille'];
function rows(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    name: `${words[i % words.length]} ${i}`,
    city: words[(i * 7) % words.length],
    n: i * 3,
    note: i % 5 === 0 ? null : `${words[(i * 3) % words.length]} and ${words[(i * 11) % words.length]}`,
    data: i % 4 === 0 ? { tag: words[i % words.length], list: [i] } : null,
  }));
}
const QUERIES = ['lyon', 'LYON', 'yon', 'Lyon bakery', 'ly', 'y', 'x', '%', '_', '100%', 'snake_case', 'e_c', '"this"', 'back\\slash', '\\', 'café', 'CAFÉ', '42', '4', '12', 'tag', '"tag":"Paris"', 'Marseille Paris', 'nothing-like-this', 'and', '  ', 'ai lo'];

describe('search', () => {
  it('finds the rows whose values hold every term, as a substring scan would, on SQLite and PostgreSQL', async () => {
    const res = await app.post('/api/v2/datasets', { name: 'Search', type: 'analysis', rows: rows(120) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.datasetId;
    const count = async () => Number((await sql<{ n: number }>`SELECT count(*) AS n FROM row_text WHERE dataset_id = ${id}`.execute(db())).rows[0]!.n);
    assert.equal(await count(), 0, 'no search text before the first search');
    await agree(id, QUERIES);
    assert.equal(await count(), 120, 'built by the first search');
    // The same searches when the index finds too many candidates and the dataset's text is scanned.
    searchTuning.selective = 0;
    try {
      await agree(id, QUERIES);
    } finally {
      searchTuning.selective = 5000;
    }
    assert.ok((await search(id, 'lyon')).length > 5);
  });

  it('stays in step with edits, new rows, deleted rows and column changes', async () => {
    const res = await app.post('/api/v2/datasets', { name: 'Search writes', type: 'analysis', rows: rows(40) });
    const id = res.body.datasetId;
    const other = (await app.post('/api/v2/datasets', { name: 'Never searched', type: 'analysis', rows: rows(10) })).body.datasetId;
    await agree(id, ['lyon']);
    let g = (await app.get(`/api/v2/datasets/${id}/data?limit=1000`)).body;
    // Edits: a value gains a word, another loses one.
    assert.equal((await app.patch(`/api/v2/datasets/${id}/cells/${g.data[1][0].cellId}`, { value: 'Zanzibar market' })).status, 200);
    const lyonRow = g.data.findIndex((r: any[]) => String(r[0].value).startsWith('Lyon'));
    assert.equal((await app.patch(`/api/v2/datasets/${id}/cells/${g.data[lyonRow][0].cellId}`, { value: null })).status, 200);
    await agree(id, ['zanzibar', 'lyon', 'market lyon']);
    assert.deepEqual(await search(id, 'zanzibar'), [g.rowIds[1]]);
    // New rows.
    const added = await app.post(`/api/v2/datasets/${id}/rows`, { rows: [{ name: 'Zanzibar two', city: 'Lyon' }, { name: 'plain' }] });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    await agree(id, ['zanzibar', 'lyon', 'plain']);
    assert.equal((await search(id, 'zanzibar')).length, 2);
    // Deleted rows.
    assert.equal((await app.del(`/api/v2/datasets/${id}/rows`, { rowIds: [g.rowIds[1], added.body.rowIds[1]] })).status, 200);
    await agree(id, ['zanzibar', 'plain', 'lyon']);
    assert.equal((await search(id, 'plain')).length, 0);
    // A column deleted takes its words out; a column added (empty) changes nothing.
    const cityId = g.columns.find((c: any) => c.name === 'city').columnId;
    assert.equal((await app.del(`/api/v2/datasets/${id}/columns/${cityId}`)).status, 200);
    await agree(id, ['lyon', 'marseille', 'paris']);
    assert.equal((await app.post(`/api/v2/datasets/${id}/columns`, { name: 'extra', taskType: 'raw' })).status, 201);
    await agree(id, ['lyon', 'bakery']);
    // The dataset nobody searched has no search text, whatever was written to it.
    g = (await app.get(`/api/v2/datasets/${other}/data?limit=1000`)).body;
    await app.patch(`/api/v2/datasets/${other}/cells/${g.data[0][0].cellId}`, { value: 'Zanzibar' });
    assert.equal(Number((await sql<{ n: number }>`SELECT count(*) AS n FROM row_text WHERE dataset_id = ${other}`.execute(db())).rows[0]!.n), 0);
    // Deleting the dataset removes its search text.
    assert.equal((await app.del(`/api/v2/datasets/${id}`)).status, 200);
    assert.equal(Number((await sql<{ n: number }>`SELECT count(*) AS n FROM row_text WHERE dataset_id = ${id}`.execute(db())).rows[0]!.n), 0);
  });
});
