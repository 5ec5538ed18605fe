import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectError, startTestApp, type TestApp } from './helpers/app.ts';

/** Issue 19: saved views, viewId on /data and on export, views over deleted columns, tenancy. */
let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.close());

const CITIES = ['Lyon', 'Paris', 'Nantes', 'Lille'];
async function dataset(n = 40) {
  const rows = Array.from({ length: n }, (_, i) => ({ Name: `Shop ${i}${i % 7 === 0 ? ' bakery' : ''}`, City: CITIES[i % 4], Revenue: i % 5 === 0 ? null : (i * 37) % 100, Notes: i % 3 ? `note ${i}` : null }));
  const res = await app.post('/api/v2/datasets', { name: 'Views', type: 'analysis', rows });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const ids = Object.fromEntries(res.body.columns.map((c: any) => [c.name, c.columnId])) as Record<'Name' | 'City' | 'Revenue' | 'Notes', string>;
  return { id: res.body.datasetId as string, ids };
}
const data = async (id: string, qs: Record<string, string>) => {
  const res = await app.get(`/api/v2/datasets/${id}/data?${new URLSearchParams({ limit: '1000', ...qs })}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
};
async function exportRows(id: string, body: Record<string, unknown>) {
  const res = await app.post(`/api/v2/datasets/${id}/export`, { format: 'json', rowCount: 1000, ...body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return (await (await fetch(res.body.downloadUrl)).json()) as Record<string, unknown>[];
}

describe('saved views', () => {
  it('create, get, list, patch and delete; the query is checked against the dataset\'s columns', async () => {
    const { id, ids } = await dataset(5);
    const url = `/api/v2/datasets/${id}/views`;
    const filter = { and: [{ column: ids.City, op: 'eq', value: 'Lyon' }, { column: ids.Revenue, op: 'gt', value: 10 }] };
    const created = await app.post(url, { name: 'Lyon, big', filter, sort: `${ids.Revenue}:desc`, q: 'shop', columns: [ids.Name, ids.Revenue] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const view = created.body;
    assert.match(view.viewId, /^view_/);
    assert.deepEqual({ ...view, viewId: undefined, createdAt: undefined, updatedAt: undefined }, { viewId: undefined, datasetId: id, name: 'Lyon, big', filter, sort: `${ids.Revenue}:desc`, q: 'shop', columns: [ids.Name, ids.Revenue], missingColumns: [], createdAt: undefined, updatedAt: undefined });
    assert.deepEqual((await app.get(`${url}/${view.viewId}`)).body, view);
    const bare = await app.post(url, { name: 'Everything' });
    assert.equal(bare.status, 201);
    assert.deepEqual([bare.body.filter, bare.body.sort, bare.body.q, bare.body.columns], [null, null, null, null]);
    const list = await app.get(`${url}?limit=1`);
    assert.deepEqual(list.body.views.map((v: any) => v.viewId), [view.viewId]);
    assert.deepEqual(list.body.pagination, { page: 1, limit: 1, total: 2, totalPages: 2 });
    assert.deepEqual((await app.get(`${url}?page=2&limit=1`)).body.views.map((v: any) => v.viewId), [bare.body.viewId]);

    const patched = await app.patch(`${url}/${view.viewId}`, { name: 'Lyon', sort: null, q: null });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual([patched.body.name, patched.body.sort, patched.body.q, patched.body.filter], ['Lyon', null, null, filter]);
    assert.ok(patched.body.updatedAt >= view.updatedAt);

    // Refused: unknown columns, operators and fields, operands of the wrong type; each names its path.
    const bad = async (body: unknown, path: string) => {
      const res = await app.post(url, { name: 'x', ...(body as object) });
      expectError(res, 400, 'INVALID_PARAMETERS');
      assert.ok(res.body.details.issues.some((i: any) => i.path === path), JSON.stringify(res.body));
    };
    await bad({ filter: { and: [{ column: ids.City, op: 'eq', value: 'x' }, { column: 'col_gone', op: 'eq', value: 1 }] } }, 'filter.and.1.column');
    await bad({ filter: { column: ids.City, op: 'like', value: 'x' } }, 'filter.op');
    await bad({ filter: { column: ids.Revenue, op: 'gt', value: 'lots' } }, 'filter.value');
    await bad({ sort: 'col_gone:asc' }, 'sort.0');
    await bad({ columns: [ids.Name, 'col_gone'] }, 'columns.1');
    expectError(await app.post(url, { name: 'x', color: 'red' }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(url, { name: '' }), 400, 'INVALID_PARAMETERS');
    expectError(await app.patch(`${url}/${view.viewId}`, { filter: { column: 'col_gone', op: 'empty' } }), 400, 'INVALID_PARAMETERS');
    expectError(await app.patch(`${url}/${view.viewId}`, {}), 400, 'INVALID_PARAMETERS');
    assert.equal((await app.get(`${url}/${view.viewId}`)).body.name, 'Lyon', 'a refused patch changes nothing');

    assert.deepEqual((await app.del(`${url}/${view.viewId}`)).body, { viewId: view.viewId, deleted: true });
    expectError(await app.get(`${url}/${view.viewId}`), 404, 'VIEW_NOT_FOUND');
    expectError(await app.del(`${url}/${view.viewId}`), 404, 'VIEW_NOT_FOUND');
    expectError(await app.patch(`${url}/${view.viewId}`, { name: 'y' }), 404, 'VIEW_NOT_FOUND');
  });

  it('viewId on /data and on export gives what the same parameters give; explicit parameters replace the view\'s parts', async () => {
    const { id, ids } = await dataset();
    const filter = { or: [{ column: ids.City, op: 'eq', value: 'Lyon' }, { column: ids.Revenue, op: 'gte', value: 70 }] };
    const sort = `${ids.Revenue}:desc,${ids.Name}:asc`;
    const view = (await app.post(`/api/v2/datasets/${id}/views`, { name: 'v', filter, sort, q: 'shop', columns: [ids.Name, ids.Revenue] })).body;
    const explicit = await data(id, { filter: JSON.stringify(filter), sort, q: 'shop', columns: `${ids.Name},${ids.Revenue}` });
    const viaView = await data(id, { viewId: view.viewId });
    assert.ok(explicit.rowIds.length > 5 && explicit.rowIds.length < 40);
    assert.deepEqual(viaView, explicit);
    // Paging through the view.
    const first = await data(id, { viewId: view.viewId, limit: '4' });
    assert.deepEqual(first.rowIds, explicit.rowIds.slice(0, 4));
    assert.deepEqual((await data(id, { viewId: view.viewId, limit: '4', cursor: first.pagination.nextCursor })).rowIds, explicit.rowIds.slice(4, 8));
    // Explicit parameters replace the view's parts, one by one.
    assert.deepEqual((await data(id, { viewId: view.viewId, q: 'bakery' })).rowIds, (await data(id, { filter: JSON.stringify(filter), sort, q: 'bakery' })).rowIds);
    assert.deepEqual((await data(id, { viewId: view.viewId, sort: `${ids.Name}:asc` })).rowIds, (await data(id, { filter: JSON.stringify(filter), sort: `${ids.Name}:asc`, q: 'shop' })).rowIds);
    const cityOnly = await data(id, { viewId: view.viewId, columns: ids.City });
    assert.deepEqual(cityOnly.columns.map((c: any) => c.columnId), [ids.City]);
    assert.deepEqual(cityOnly.rowIds, explicit.rowIds);
    const otherFilter = { column: ids.City, op: 'eq', value: 'Paris' };
    assert.deepEqual((await data(id, { viewId: view.viewId, filter: JSON.stringify(otherFilter) })).rowIds, (await data(id, { filter: JSON.stringify(otherFilter), sort, q: 'shop' })).rowIds);

    // Export: the view's rows, in its order, its columns.
    const viaExport = await exportRows(id, { viewId: view.viewId });
    assert.deepEqual(viaExport.map((r) => r.rowId), explicit.rowIds);
    assert.deepEqual(Object.keys(viaExport[0]!), ['rowId', 'Name', 'Revenue']);
    assert.deepEqual(viaExport, await exportRows(id, { filter, sort, q: 'shop', columnIds: [ids.Name, ids.Revenue] }));
    const overridden = await exportRows(id, { viewId: view.viewId, columnIds: [ids.City], q: 'bakery' });
    assert.deepEqual(Object.keys(overridden[0]!), ['rowId', 'City']);
    assert.deepEqual(overridden.map((r) => r.rowId), (await data(id, { filter: JSON.stringify(filter), sort, q: 'bakery' })).rowIds);

    expectError(await app.get(`/api/v2/datasets/${id}/data?viewId=view_nope`), 404, 'VIEW_NOT_FOUND');
    expectError(await app.post(`/api/v2/datasets/${id}/export`, { format: 'json', rowCount: 10, viewId: 'view_nope' }), 404, 'VIEW_NOT_FOUND');
  });

  it('a view over a deleted column answers VIEW_OUTDATED naming the view and the column, never other rows; fixing the view makes it work again', async () => {
    const { id, ids } = await dataset();
    const view = (await app.post(`/api/v2/datasets/${id}/views`, { name: 'By revenue', filter: { column: ids.Revenue, op: 'gt', value: 50 }, sort: `${ids.City}:asc` })).body;
    const onlyColumns = (await app.post(`/api/v2/datasets/${id}/views`, { name: 'Narrow', columns: [ids.Name, ids.Notes] })).body;
    const untouched = (await app.post(`/api/v2/datasets/${id}/views`, { name: 'Lyon', filter: { column: ids.City, op: 'eq', value: 'Lyon' } })).body;
    assert.equal((await app.del(`/api/v2/datasets/${id}/columns/${ids.Revenue}`)).status, 200);
    assert.equal((await app.del(`/api/v2/datasets/${id}/columns/${ids.Notes}`)).status, 200);

    const res = await app.get(`/api/v2/datasets/${id}/data?viewId=${view.viewId}`);
    expectError(res, 409, 'VIEW_OUTDATED');
    assert.deepEqual(res.body.details, { viewId: view.viewId, name: 'By revenue', columnIds: [ids.Revenue] });
    expectError(await app.post(`/api/v2/datasets/${id}/export`, { format: 'csv', rowCount: 10, viewId: view.viewId }), 409, 'VIEW_OUTDATED');
    const narrow = await app.get(`/api/v2/datasets/${id}/data?viewId=${onlyColumns.viewId}`);
    expectError(narrow, 409, 'VIEW_OUTDATED');
    assert.deepEqual(narrow.body.details.columnIds, [ids.Notes]);
    // An explicit parameter does not rescue a broken view: the view is refused as a whole.
    expectError(await app.get(`/api/v2/datasets/${id}/data?viewId=${view.viewId}&filter=${encodeURIComponent(JSON.stringify({ column: ids.City, op: 'eq', value: 'Lyon' }))}`), 409, 'VIEW_OUTDATED');
    // The view itself still reads, saying what is missing; the others are unaffected.
    assert.deepEqual((await app.get(`/api/v2/datasets/${id}/views/${view.viewId}`)).body.missingColumns, [ids.Revenue]);
    assert.deepEqual((await app.get(`/api/v2/datasets/${id}/views/${untouched.viewId}`)).body.missingColumns, []);
    assert.equal((await data(id, { viewId: untouched.viewId })).rowIds.length, 10);
    // A patch that keeps the deleted column is refused; one that replaces it repairs the view.
    expectError(await app.patch(`/api/v2/datasets/${id}/views/${view.viewId}`, { name: 'renamed' }), 400, 'INVALID_PARAMETERS');
    const fixed = await app.patch(`/api/v2/datasets/${id}/views/${view.viewId}`, { filter: { column: ids.City, op: 'neq', value: 'Lyon' } });
    assert.equal(fixed.status, 200, JSON.stringify(fixed.body));
    assert.deepEqual(fixed.body.missingColumns, []);
    assert.equal((await data(id, { viewId: view.viewId })).rowIds.length, 30);
  });

  it('another workspace\'s views are NOT_FOUND; read keys read views and cannot change them; a dataset takes its views along', async () => {
    const { id, ids } = await dataset(4);
    const other = await dataset(4);
    const view = (await app.post(`/api/v2/datasets/${id}/views`, { name: 'mine', filter: { column: ids.City, op: 'eq', value: 'Lyon' } })).body;
    const ws = await app.post('/api/v2/workspaces', { name: 'Other' });
    const key = { key: ws.body.key as string };
    const base = `/api/v2/datasets/${id}/views`;
    expectError(await app.get(base, key), 404, 'DATASET_NOT_FOUND');
    expectError(await app.get(`${base}/${view.viewId}`, key), 404, 'DATASET_NOT_FOUND');
    expectError(await app.post(base, { name: 'theirs' }, key), 404, 'DATASET_NOT_FOUND');
    expectError(await app.patch(`${base}/${view.viewId}`, { name: 'theirs' }, key), 404, 'DATASET_NOT_FOUND');
    expectError(await app.del(`${base}/${view.viewId}`, undefined, key), 404, 'DATASET_NOT_FOUND');
    expectError(await app.get(`/api/v2/datasets/${id}/data?viewId=${view.viewId}`, key), 404, 'DATASET_NOT_FOUND');
    // A view is found only under its own dataset.
    expectError(await app.get(`/api/v2/datasets/${other.id}/views/${view.viewId}`), 404, 'VIEW_NOT_FOUND');
    expectError(await app.get(`/api/v2/datasets/${other.id}/data?viewId=${view.viewId}`), 404, 'VIEW_NOT_FOUND');
    expectError(await app.post(`/api/v2/datasets/${other.id}/export`, { format: 'json', rowCount: 1, viewId: view.viewId }), 404, 'VIEW_NOT_FOUND');
    const reader = await app.post('/api/v2/keys', { name: 'reader', scopes: ['read'] });
    assert.equal((await app.get(`${base}/${view.viewId}`, { key: reader.body.key })).status, 200);
    assert.equal((await app.get(`/api/v2/datasets/${id}/data?viewId=${view.viewId}`, { key: reader.body.key })).status, 200);
    expectError(await app.post(base, { name: 'r' }, { key: reader.body.key }), 403, 'ACCESS_DENIED');
    expectError(await app.del(`${base}/${view.viewId}`, undefined, { key: reader.body.key }), 403, 'ACCESS_DENIED');

    assert.equal((await app.del(`/api/v2/datasets/${id}`)).status, 200);
    const left = await app.running.store.db.selectFrom('views').select('id').where('dataset_id', '=', id).execute();
    assert.deepEqual(left, []);
  });
});

describe('search through /data and export', () => {
  it('q finds the rows whose values hold every term, case-insensitively, and follows edits', async () => {
    const { id, ids } = await dataset();
    const all = await data(id, {});
    const text = (v: unknown) => (v === null ? '' : String(v)).toLowerCase();
    const expected = (q: string) => all.rowIds.filter((_: string, i: number) => q.toLowerCase().split(/\s+/).filter(Boolean).every((t) => all.data[i].some((c: any) => text(c.value).includes(t))));
    for (const q of ['bakery', 'BAKERY', 'lyon bakery', 'shop 1', 'note 2', '37', 'zzz']) assert.deepEqual((await data(id, { q })).rowIds, expected(q), q);
    assert.equal((await data(id, { q: 'bakery' })).pagination.total, expected('bakery').length);
    await app.patch(`/api/v2/datasets/${id}/cells/${all.data[1][0].cellId}`, { value: 'Grande Bakery' });
    assert.ok((await data(id, { q: 'bakery' })).rowIds.includes(all.rowIds[1]));
    assert.deepEqual((await exportRows(id, { q: 'bakery', columnIds: [ids.Name] })).map((r) => r.rowId), (await data(id, { q: 'bakery' })).rowIds);
  });
});
