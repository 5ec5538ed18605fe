import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { rowSearchText, searchCondition, searchTerms, searchTuning } from '../src/store/row-search.ts';
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
/**
 * GET /data's pagination.total and rows for `q`, alone and with a filter no index condition drives
 * (an `or`): the count then comes from the search text alone (store/row-query.ts), and must be the
 * rows' number all the same.
 */
async function agreeOnData(datasetId: string, queries: readonly string[]) {
  const g = (await app.get(`/api/v2/datasets/${datasetId}/data?limit=1000`)).body;
  const ni = g.columns.findIndex((c: any) => c.name === 'n');
  const nColumn = g.columns[ni].columnId;
  const filter = { or: [{ column: nColumn, op: 'lt', value: 60 }, { column: nColumn, op: 'gt', value: 300 }] };
  const inFilter = new Set(g.rowIds.filter((_: string, i: number) => g.data[i][ni].value < 60 || g.data[i][ni].value > 300));
  for (const q of queries) {
    const want = await expected(datasetId, q);
    const plain = (await app.get(`/api/v2/datasets/${datasetId}/data?limit=1000&q=${encodeURIComponent(q)}`)).body;
    assert.deepEqual(plain.rowIds, want, `q=${JSON.stringify(q)}: rows`);
    assert.equal(plain.pagination.total, want.length, `q=${JSON.stringify(q)}: total`);
    const filtered = (await app.get(`/api/v2/datasets/${datasetId}/data?limit=1000&q=${encodeURIComponent(q)}&filter=${encodeURIComponent(JSON.stringify(filter))}`)).body;
    const wantFiltered = want.filter((id) => inFilter.has(id));
    assert.deepEqual(filtered.rowIds, wantFiltered, `q=${JSON.stringify(q)} with a filter: rows`);
    assert.equal(filtered.pagination.total, wantFiltered.length, `q=${JSON.stringify(q)} with a filter: total`);
    // With a condition an index lists (a range): the count tests its rows against the search's.
    const range = { column: nColumn, op: 'lt', value: 200 };
    const ranged = (await app.get(`/api/v2/datasets/${datasetId}/data?limit=1000&q=${encodeURIComponent(q)}&filter=${encodeURIComponent(JSON.stringify(range))}`)).body;
    const wantRanged = want.filter((id) => g.data[g.rowIds.indexOf(id)][ni].value < 200);
    assert.deepEqual(ranged.rowIds, wantRanged, `q=${JSON.stringify(q)} with a range: rows`);
    assert.equal(ranged.pagination.total, wantRanged.length, `q=${JSON.stringify(q)} with a range: total`);
  }
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
    await agreeOnData(id, QUERIES);
    // The same searches when the index finds too many candidates and the dataset's text is scanned.
    searchTuning.selective = 0;
    try {
      await agree(id, QUERIES);
      await agreeOnData(id, QUERIES);
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

  it('builds every row\'s search text as rowSearchText gives it, whatever the values and their stored JSON spelling', async () => {
    const values: unknown[] = [
      'Plain ASCII Text', 'UPPER lower', 'quote " and back\\slash', 'tab\tand\nnewline', 'café Crème', 'İstanbul ΣΊΣΥΦΟΣ', 'emoji 😀 here', 'control \u0001 char',
      '', ' ', 42, -7, 0, 1.5, -0.25, 0.000001, 1e-7, 1e21, 123456789012345, 2 ** 60, 0.1 + 0.2, true, false, null,
      { a: 1, B: 'X' }, [1, 'Two', null], { nested: { deep: 'Lyon' } }, 'A'.repeat(700),
    ];
    const rowsIn = Array.from({ length: 90 }, (_, i) => ({ a: values[i % values.length], b: values[(i * 7 + 3) % values.length], c: i % 3 ? `Row ${i}` : null }));
    const res = await app.post('/api/v2/datasets', { name: 'Search build', type: 'analysis', rows: rowsIn });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.datasetId;
    // Rows written before 0016 may hold values in another JSON spelling (spaces, 1.50, 1E3): set some cells' text so.
    const stored = await sql<{ id: string; cells: string }>`SELECT id, cells FROM dataset_rows WHERE dataset_id = ${id} ORDER BY position LIMIT 6`.execute(db());
    const spellings = ['{"a": 1, "b" : [1, 2]}', '1.50', '1E3', '-0', '[ "X" ]', '0.10'];
    for (const [i, r] of stored.rows.entries()) {
      const cells = JSON.parse(r.cells) as { cellId: string; value: unknown; status: string }[];
      const text = `[${cells.map((c, j) => `{"cellId":"${c.cellId}","value":${j === 0 ? spellings[i] : JSON.stringify(c.value)},"status":"${c.status}"}`).join(',')}]`;
      await sql`UPDATE dataset_rows SET cells = ${text} WHERE id = ${r.id}`.execute(db());
    }
    assert.equal((await app.get(`/api/v2/datasets/${id}/data?limit=1&q=row`)).status, 200);
    const built = await sql<{ cells: string; body: string }>`SELECT r.cells, t.body FROM dataset_rows r JOIN row_text t ON t.row_id = r.id WHERE r.dataset_id = ${id} ORDER BY r.position`.execute(db());
    assert.equal(built.rows.length, 90);
    for (const r of built.rows) assert.equal(r.body, rowSearchText(r.cells), r.cells);
  });
});
