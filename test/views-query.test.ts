import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { putMetadataOnly } from '../src/store/row-cells.ts';
import { setCellStatuses } from '../src/store/rows.ts';
import { queryTuning } from '../src/store/row-query.ts';
import { typedValue } from '../src/store/row-index.ts';
import { sql } from 'kysely';
import { expectError, startTestApp, type TestApp } from './helpers/app.ts';

/**
 * Issue 19: filter, sort and keyset paging on GET /data and in exports. Every answer is compared
 * with the same filter or sort computed here over all rows fetched unfiltered (docs/views.md
 * states the rules this file spells out again).
 */

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.close());

type Cell = { cellId: string; value: unknown; status: string; metadata?: Record<string, unknown> };
type Column = { columnId: string; name: string; dataType: string };
type Row = { id: string; position: number; cells: Record<string, Cell> };

// A small deterministic generator: the same rows on every run and backend.
function rng(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}
const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;

function makeRows(n: number, seed = 7) {
  const r = rng(seed);
  return Array.from({ length: n }, () => ({
    City: pick(r, ['Lyon', 'lyon', 'LYON', 'Paris', 'Berlin', '', null, 'Lyonnais', 'Zürich', 'A_b%c', 'a\\b']),
    Revenue: pick(r, [null, -12, 0, 3.5, 7, 7, 42, 100, 1e6, -0.25]),
    Active: pick(r, [true, false, null]),
    Founded: pick(r, ['2020-01-05', '1999-12-31', '2020-01-05T10:00:00Z', '2024-02-29', null]),
    Info: pick(r, [{ a: 1 }, [1, 2], { city: 'Lyon' }, null, []]),
    Mixed: pick(r, [5, 'five', 12, '12', 'Lyon', null, true]),
  }));
}

async function createDataset(rows: Record<string, unknown>[]) {
  const res = await app.post('/api/v2/datasets', { name: 'Views', type: 'analysis', rows });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { id: res.body.datasetId as string, columns: res.body.columns as Column[] };
}

/** Every row, unfiltered, with metadata: the ground truth the answers are checked against. */
async function allRows(datasetId: string): Promise<Row[]> {
  const res = await app.get(`/api/v2/datasets/${datasetId}/data?limit=1000&includeMetadata=true`);
  assert.equal(res.status, 200);
  return (res.body.rowIds as string[]).map((id, i) => {
    const cells: Record<string, Cell> = {};
    (res.body.data[i] as Cell[]).forEach((c, k) => (cells[res.body.columns[k].columnId] = c));
    return { id, position: i, cells };
  });
}

/** Pages through a view with keyset cursors; checks pagination.total on every page. */
async function viewIds(datasetId: string, params: { filter?: unknown; sort?: string; limit?: number }, expectTotal?: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let guard = 0; guard < 1000; guard++) {
    const qs = new URLSearchParams({ limit: String(params.limit ?? 7) });
    if (params.filter !== undefined) qs.set('filter', JSON.stringify(params.filter));
    if (params.sort) qs.set('sort', params.sort);
    if (cursor) qs.set('cursor', cursor);
    const res = await app.get(`/api/v2/datasets/${datasetId}/data?${qs}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if (expectTotal !== undefined) assert.equal(res.body.pagination.total, expectTotal, `total for ${JSON.stringify(params)}`);
    ids.push(...(res.body.rowIds as string[]));
    cursor = res.body.pagination.nextCursor;
    if (!cursor) return ids;
  }
  throw new Error('paging did not end');
}

// The documented comparison rules, spelled out independently of the server's code.
const num = (v: unknown): number | null =>
  typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : null;
const txt = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v));
const numeric = (dataType: string) => dataType === 'number' || dataType === 'boolean';
function operandOf(dataType: string, x: unknown): { field: 'num' | 'txt'; value: number | string } {
  if (dataType === 'number') return { field: 'num', value: Number(x) };
  if (dataType === 'boolean') return { field: 'num', value: x === true || x === 'true' ? 1 : 0 };
  if (dataType === 'mixed' && typeof x === 'number') return { field: 'num', value: x };
  return { field: 'txt', value: String(x) };
}
function holds(dataType: string, v: unknown, op: string, x: unknown): boolean {
  const t = txt(v);
  if (op === 'empty') return t === null || t === '';
  if (op === 'not_empty') return !(t === null || t === '');
  if (op === 'contains') return t !== null && t.toLowerCase().includes(String(x).toLowerCase());
  if (op === 'starts_with') return t !== null && t.toLowerCase().startsWith(String(x).toLowerCase());
  if (op === 'in') return (x as unknown[]).some((y) => holds(dataType, v, 'eq', y));
  const o = operandOf(dataType, x);
  const key = o.field === 'num' ? num(v) : t;
  if (op === 'neq') return key === null || key !== o.value;
  if (key === null) return false;
  if (op === 'eq') return key === o.value;
  if (op === 'gt') return key > o.value;
  if (op === 'gte') return key >= o.value;
  if (op === 'lt') return key < o.value;
  if (op === 'lte') return key <= o.value;
  throw new Error(op);
}
function sortRows(rows: Row[], columns: Column[], spec: string): string[] {
  const keys = spec.split(',').map((p) => {
    const [id, dir = 'asc'] = p.split(':');
    const col = columns.find((c) => c.columnId === id)!;
    return { id: id!, dir, key: (r: Row) => (numeric(col.dataType) ? num(r.cells[id!]!.value) : txt(r.cells[id!]!.value)) };
  });
  return [...rows]
    .sort((a, b) => {
      for (const k of keys) {
        const x = k.key(a);
        const y = k.key(b);
        if (x === y) continue;
        if (x === null) return 1;
        if (y === null) return -1;
        return (x < y ? -1 : 1) * (k.dir === 'desc' ? -1 : 1);
      }
      return a.position - b.position;
    })
    .map((r) => r.id);
}

// Each suite runs twice: pages read from the rows an index lists for the filter, then sorted
// (few matches), and pages read by walking the order and testing each row (many matches).
for (const mode of ['listed', 'walked'] as const) {
  describe(`views: filter and sort on /data (${mode})`, () => {
    let ds: { id: string; columns: Column[] };
    let rows: Row[];
    const col = (name: string) => ds.columns.find((c) => c.name === name)!;
    const saved = queryTuning.driveBelow;
    after(() => {
      queryTuning.driveBelow = saved;
    });
    before(async () => {
      queryTuning.driveBelow = mode === 'listed' ? 1_000_000 : 0;
      ds = await createDataset(makeRows(90));
      rows = await allRows(ds.id);
      const detail = await app.get(`/api/v2/datasets/${ds.id}`);
      ds.columns = detail.body.columns;
      assert.deepEqual(
        Object.fromEntries(ds.columns.map((c) => [c.name, c.dataType])),
        { City: 'text', Revenue: 'number', Active: 'boolean', Founded: 'text', Info: 'json', Mixed: 'mixed' },
      );
    });

    const operands: Record<string, Record<string, unknown>> = {
      City: { eq: 'Lyon', neq: 'Lyon', contains: 'yo', starts_with: 'ly', gt: 'Lyon', gte: 'Lyon', lt: 'Lyon', lte: 'Paris', in: ['Paris', 'lyon', 'nowhere'] },
      Revenue: { eq: 7, neq: 7, contains: '.', starts_with: '-', gt: 0, gte: 7, lt: 3.5, lte: '42', in: [7, 42, 999] },
      Active: { eq: true, neq: true, contains: 'ru', starts_with: 'f', gt: false, gte: false, lt: true, lte: 'false', in: [true] },
      Founded: { eq: '2020-01-05', neq: '2020-01-05', contains: '-01-', starts_with: '2020', gt: '2020-01-05', gte: '2020-01-05', lt: '2020', lte: '2024-02-29', in: ['1999-12-31', '2024-02-29'] },
      Info: { eq: '{"a":1}', neq: '[]', contains: 'LYON', starts_with: '[', gt: '[', gte: '{"a":1}', lt: '{', lte: '[]', in: ['[]', '[1,2]'] },
      Mixed: { eq: 12, neq: 'five', contains: 'Y', starts_with: '1', gt: 5, gte: 'five', lt: 12, lte: 'Lyon', in: [5, 'Lyon', 'true'] },
    };
    for (const name of Object.keys(operands)) {
      it(`every operator on the ${name} column matches the same filter computed over all rows`, async () => {
        const c = col(name);
        for (const op of ['eq', 'neq', 'contains', 'starts_with', 'gt', 'gte', 'lt', 'lte', 'in', 'empty', 'not_empty']) {
          const value = operands[name]![op];
          const condition = value === undefined ? { column: c.columnId, op } : { column: c.columnId, op, value };
          const expected = rows.filter((r) => holds(c.dataType, r.cells[c.columnId]!.value, op, value)).map((r) => r.id);
          assert.deepEqual(await viewIds(ds.id, { filter: condition }, expected.length), expected, `${name} ${op} ${JSON.stringify(value)}`);
        }
      });
    }

    it('and/or nest; an empty and holds for every row, an empty or for none', async () => {
      const city = col('City').columnId;
      const rev = col('Revenue').columnId;
      const act = col('Active').columnId;
      const filter = { or: [{ and: [{ column: city, op: 'contains', value: 'lyon' }, { column: rev, op: 'gt', value: 0 }] }, { and: [{ column: act, op: 'eq', value: false }, { column: rev, op: 'empty' }] }] };
      const expected = rows
        .filter((r) => (holds('text', r.cells[city]!.value, 'contains', 'lyon') && holds('number', r.cells[rev]!.value, 'gt', 0)) || (holds('boolean', r.cells[act]!.value, 'eq', false) && r.cells[rev]!.value === null))
        .map((r) => r.id);
      assert.ok(expected.length > 3 && expected.length < rows.length);
      assert.deepEqual(await viewIds(ds.id, { filter }, expected.length), expected);
      assert.deepEqual(await viewIds(ds.id, { filter: { and: [] } }, rows.length), rows.map((r) => r.id));
      assert.deepEqual(await viewIds(ds.id, { filter: { or: [] } }, 0), []);
    });

    it('sorts each column either way, nulls last, ties by row position; several keys; with a filter', async () => {
      for (const name of ['City', 'Revenue', 'Active', 'Founded', 'Info', 'Mixed']) {
        for (const dir of ['asc', 'desc']) {
          const spec = `${col(name).columnId}:${dir}`;
          assert.deepEqual(await viewIds(ds.id, { sort: spec, limit: 9 }, rows.length), sortRows(rows, ds.columns, spec), spec);
        }
      }
      const multi = `${col('Active').columnId}:desc,${col('Revenue').columnId}:asc,${col('City').columnId}:desc`;
      assert.deepEqual(await viewIds(ds.id, { sort: multi, limit: 4 }), sortRows(rows, ds.columns, multi));
      const rev = col('Revenue').columnId;
      const filter = { column: rev, op: 'gte', value: 0 };
      const spec = `${col('City').columnId}:asc,${rev}:desc`;
      const expected = sortRows(rows.filter((r) => holds('number', r.cells[rev]!.value, 'gte', 0)), ds.columns, spec);
      assert.deepEqual(await viewIds(ds.id, { filter, sort: spec, limit: 5 }, expected.length), expected);
      // The direction defaults to asc.
      assert.deepEqual(await viewIds(ds.id, { sort: rev }), sortRows(rows, ds.columns, `${rev}:asc`));
    });

    it('page/limit keep their meaning on a view: page 3 of a sorted view is rows 21-30 of it', async () => {
      const spec = `${col('Revenue').columnId}:desc`;
      const all = sortRows(rows, ds.columns, spec);
      for (const page of [1, 3, 9, 10]) {
        const res = await app.get(`/api/v2/datasets/${ds.id}/data?limit=10&page=${page}&sort=${encodeURIComponent(spec)}`);
        assert.equal(res.status, 200);
        assert.deepEqual(res.body.rowIds, all.slice((page - 1) * 10, page * 10), `page ${page}`);
        assert.deepEqual({ ...res.body.pagination, nextCursor: undefined }, { page, limit: 10, total: 90, totalPages: 9, nextCursor: undefined });
      }
      // A view answer has the same shape as the plain one, columns and metadata included.
      const res = await app.get(`/api/v2/datasets/${ds.id}/data?limit=3&includeMetadata=true&columns=${col('City').columnId}&sort=${encodeURIComponent(spec)}`);
      assert.deepEqual(res.body.rowIds, all.slice(0, 3));
      assert.deepEqual(res.body.data.map((cells: Cell[]) => cells.map((c) => c.value)), all.slice(0, 3).map((id) => [rows.find((r) => r.id === id)!.cells[col('City').columnId]!.value]));
      assert.ok(res.body.data[0][0].metadata);
    });

    it('the plain page gives a cursor too, and a cursor alone pages in row order', async () => {
      const first = await app.get(`/api/v2/datasets/${ds.id}/data?limit=40`);
      assert.equal(first.body.pagination.total, 90);
      const second = await app.get(`/api/v2/datasets/${ds.id}/data?limit=40&cursor=${first.body.pagination.nextCursor}`);
      const third = await app.get(`/api/v2/datasets/${ds.id}/data?limit=40&cursor=${second.body.pagination.nextCursor}`);
      assert.deepEqual([...first.body.rowIds, ...second.body.rowIds, ...third.body.rowIds], rows.map((r) => r.id));
      assert.equal(third.body.pagination.nextCursor, null);
    });

    it('unknown columns, operators, bad JSON, bad operands, bad sorts and foreign cursors are INVALID_PARAMETERS naming the path', async () => {
      const city = col('City').columnId;
      const get = (qs: Record<string, string>) => app.get(`/api/v2/datasets/${ds.id}/data?${new URLSearchParams(qs)}`);
      const issues = async (qs: Record<string, string>) => {
        const res = await get(qs);
        expectError(res, 400, 'INVALID_PARAMETERS');
        return (res.body.details.issues as { path: string }[]).map((i) => i.path);
      };
      assert.deepEqual(await issues({ filter: JSON.stringify({ and: [{ column: city, op: 'eq', value: 'x' }, { column: 'col_nope', op: 'eq', value: 1 }] }) }), ['filter.and.1.column']);
      assert.deepEqual(await issues({ filter: JSON.stringify({ or: [{ column: city, op: 'like', value: 'x' }] }) }), ['filter.or.0.op']);
      assert.deepEqual(await issues({ filter: '{"and": [' }), ['filter']);
      assert.deepEqual(await issues({ filter: JSON.stringify({ column: col('Revenue').columnId, op: 'gt', value: 'lots' }) }), ['filter.value']);
      assert.deepEqual(await issues({ filter: JSON.stringify({ column: city, op: 'in', value: 'x' }) }), ['filter.value']);
      assert.deepEqual(await issues({ filter: JSON.stringify({ column: city, op: 'empty', value: 'x' }) }), ['filter.value']);
      assert.deepEqual(await issues({ filter: JSON.stringify({ confidence: {} }) }), ['filter.confidence']);
      assert.deepEqual(await issues({ filter: JSON.stringify({ and: [{ needsReview: true, column: 'col_gone' }] }) }), ['filter.and.0.column']);
      assert.deepEqual(await issues({ filter: JSON.stringify({ town: 'Lyon' }) }), ['filter']);
      assert.deepEqual(await issues({ sort: `${city}:up` }), ['sort.0']);
      assert.deepEqual(await issues({ sort: `${city}:asc,col_nope:desc` }), ['sort.1']);
      assert.deepEqual(await issues({ cursor: 'not-a-cursor' }), ['cursor']);
      const sorted = await get({ sort: city, limit: '2' });
      assert.deepEqual(await issues({ cursor: sorted.body.pagination.nextCursor, sort: `${city}:desc` }), ['cursor']);
    });
  });

  describe(`views: state conditions (${mode})`, () => {
    const saved = queryTuning.driveBelow;
    before(() => {
      queryTuning.driveBelow = mode === 'listed' ? 1_000_000 : 0;
    });
    after(() => {
      queryTuning.driveBelow = saved;
    });
    it('status, needsReview, confidence and reviewed, on a column or on any cell, match the cells over all rows', async () => {
      const ds = await createDataset(makeRows(60, 11));
      const columns = (await app.get(`/api/v2/datasets/${ds.id}`)).body.columns as Column[];
      const before = await allRows(ds.id);
      const db = app.running.store.db;
      const r = rng(3);
      const statuses: { rowId: string; columnId: string; status: 'error' | 'stale' }[] = [];
      const meta: { rowId: string; columnId: string; metadata: string }[] = [];
      for (const row of before) {
        for (const c of columns.slice(0, 3)) {
          const x = r();
          if (x < 0.1) statuses.push({ rowId: row.id, columnId: c.columnId, status: 'error' });
          else if (x < 0.15) statuses.push({ rowId: row.id, columnId: c.columnId, status: 'stale' });
          const m: Record<string, unknown> = {};
          if (r() < 0.5) m.confidence = Math.round(r() * 100) / 100;
          if (r() < 0.3) m.needsReview = true;
          const y = r();
          if (y < 0.15) m.review = { decision: 'approved', note: null, keyId: 'key_x', at: '2026-01-01T00:00:00Z' };
          else if (y < 0.25) m.review = { decision: 'rejected', note: 'wrong', keyId: 'key_x', at: '2026-01-01T00:00:00Z' };
          if (Object.keys(m).length) meta.push({ rowId: row.id, columnId: c.columnId, metadata: JSON.stringify(m) });
        }
      }
      await setCellStatuses(db, statuses, new Date().toISOString());
      await putMetadataOnly(db, meta);
      const rows = await allRows(ds.id);
      const [a, b] = [columns[0]!.columnId, columns[1]!.columnId];

      const cellsOf = (row: Row, column?: string) => (column ? [row.cells[column]!] : Object.values(row.cells));
      const needs = (c: Cell) => c.metadata?.needsReview === true && (c.metadata.review as { decision?: string } | undefined)?.decision !== 'approved';
      const decision = (c: Cell) => (c.metadata?.review as { decision?: string } | undefined)?.decision;
      const conf = (c: Cell) => (typeof c.metadata?.confidence === 'number' ? (c.metadata.confidence as number) : null);
      const cases: [unknown, (row: Row) => boolean][] = [
        [{ status: 'error' }, (row) => cellsOf(row).some((c) => c.status === 'error')],
        [{ status: 'stale', column: b }, (row) => row.cells[b]!.status === 'stale'],
        [{ status: 'done', column: a }, (row) => row.cells[a]!.status === 'done'],
        [{ status: 'empty' }, (row) => cellsOf(row).some((c) => c.status === 'empty')],
        [{ needsReview: true }, (row) => cellsOf(row).some(needs)],
        [{ needsReview: true, column: a }, (row) => needs(row.cells[a]!)],
        [{ needsReview: false, column: a }, (row) => !needs(row.cells[a]!)],
        [{ needsReview: false }, (row) => cellsOf(row).some((c) => !needs(c))],
        [{ confidence: { lt: 0.5 } }, (row) => cellsOf(row).some((c) => conf(c) !== null && conf(c)! < 0.5)],
        [{ confidence: { gte: 0.3, lte: 0.6 }, column: b }, (row) => conf(row.cells[b]!) !== null && conf(row.cells[b]!)! >= 0.3 && conf(row.cells[b]!)! <= 0.6],
        [{ reviewed: 'approved' }, (row) => cellsOf(row).some((c) => decision(c) === 'approved')],
        [{ reviewed: 'rejected', column: a }, (row) => decision(row.cells[a]!) === 'rejected'],
        [{ reviewed: false, column: b }, (row) => decision(row.cells[b]!) === undefined],
        [{ reviewed: false }, (row) => cellsOf(row).some((c) => decision(c) === undefined)],
        [{ and: [{ needsReview: true }, { reviewed: false, column: a }, { column: columns[1]!.columnId, op: 'not_empty' }] }, (row) => cellsOf(row).some(needs) && decision(row.cells[a]!) === undefined && !['', null].includes(row.cells[columns[1]!.columnId]!.value as string)],
      ];
      for (const [filter, test] of cases) {
        const expected = rows.filter(test).map((row) => row.id);
        assert.deepEqual(await viewIds(ds.id, { filter, limit: 8 }, expected.length), expected, JSON.stringify(filter));
      }
      // Something of each kind was really there to find.
      assert.ok(rows.filter((row) => cellsOf(row).some(needs)).length > 5);
      assert.ok(rows.filter((row) => cellsOf(row).some((c) => decision(c) === 'approved')).length > 3);
    });
  });

}

describe('views: keyset paging and the typed values kept in step', () => {
  it('a filtered, sorted view pages over every row once while rows are added and edited between pages', async () => {
    const ds = await createDataset(makeRows(80, 5));
    const columns = (await app.get(`/api/v2/datasets/${ds.id}`)).body.columns as Column[];
    const rev = columns.find((c) => c.name === 'Revenue')!.columnId;
    const city = columns.find((c) => c.name === 'City')!.columnId;
    const rows = await allRows(ds.id);
    const filter = { column: rev, op: 'not_empty' };
    const sort = `${rev}:desc,${city}:asc`;
    const expected = sortRows(rows.filter((r) => r.cells[rev]!.value !== null), columns, sort);
    const seen: string[] = [];
    let cursor: string | null = null;
    let round = 0;
    do {
      const qs: URLSearchParams = new URLSearchParams({ limit: '6', filter: JSON.stringify(filter), sort, ...(cursor ? { cursor } : {}) });
      const res: { status: number; body: { rowIds: string[]; pagination: { nextCursor: string | null } } } = await app.get(`/api/v2/datasets/${ds.id}/data?${qs}`);
      assert.equal(res.status, 200);
      seen.push(...res.body.rowIds);
      cursor = res.body.pagination.nextCursor;
      // Between pages: new rows on both sides of the cursor, and edits of rows not seen yet (not of their sort keys).
      round++;
      const added = await app.post(`/api/v2/datasets/${ds.id}/rows`, { rows: [{ Revenue: 1e9 + round, City: 'New' }, { Revenue: -1e9 - round, City: 'New' }, { Revenue: 7, City: 'AAA' }] });
      assert.equal(added.status, 201);
      const unseen = expected.find((id) => !seen.includes(id));
      if (unseen) {
        const cell = rows.find((r) => r.id === unseen)!.cells[columns.find((c) => c.name === 'Founded')!.columnId]!.cellId;
        assert.equal((await app.patch(`/api/v2/datasets/${ds.id}/cells/${cell}`, { value: `edited ${round}` })).status, 200);
      }
    } while (cursor);
    assert.equal(new Set(seen).size, seen.length, 'no row twice');
    const original = new Set(expected);
    assert.deepEqual(
      seen.filter((id) => original.has(id)),
      expected,
      'every original row once, in order',
    );
  });

  it('edits, new rows, deleted rows and a deleted column are reflected once a column is indexed', async () => {
    const ds = await createDataset(makeRows(30, 9));
    const columns = (await app.get(`/api/v2/datasets/${ds.id}`)).body.columns as Column[];
    const rev = columns.find((c) => c.name === 'Revenue')!.columnId;
    const city = columns.find((c) => c.name === 'City')!.columnId;
    const eq = (value: unknown) => ({ column: rev, op: 'eq', value });
    const before = await viewIds(ds.id, { filter: eq(7) }); // builds Revenue's typed values
    const rows = await allRows(ds.id);
    const target = rows.find((r) => r.cells[rev]!.value !== 7)!;
    assert.equal((await app.patch(`/api/v2/datasets/${ds.id}/cells/${target.cells[rev]!.cellId}`, { value: 7 })).status, 200);
    const added = await app.post(`/api/v2/datasets/${ds.id}/rows`, { rows: [{ Revenue: 7 }] });
    const after = await viewIds(ds.id, { filter: eq(7) });
    assert.deepEqual(after, rows.map((r) => r.id).filter((id) => before.includes(id) || id === target.id).concat(added.body.rowIds));
    // Deleting rows renumbers positions: ties still come in row order.
    const victims = rows.slice(0, 5).map((r) => r.id);
    assert.equal((await app.del(`/api/v2/datasets/${ds.id}/rows`, { rowIds: victims })).status, 200);
    const left = await allRows(ds.id);
    assert.deepEqual(await viewIds(ds.id, { sort: `${rev}:asc` }), sortRows(left, columns, `${rev}:asc`));
    assert.deepEqual(await viewIds(ds.id, { filter: { column: city, op: 'eq', value: 'Lyon' } }), left.filter((r) => r.cells[city]!.value === 'Lyon').map((r) => r.id));
    // A deleted column takes its typed values with it; the other indexed column still answers.
    assert.equal((await app.del(`/api/v2/datasets/${ds.id}/columns/${rev}`)).status, 200);
    const now = await allRows(ds.id);
    assert.deepEqual(await viewIds(ds.id, { filter: { column: city, op: 'eq', value: 'Lyon' } }), now.filter((r) => r.cells[city]!.value === 'Lyon').map((r) => r.id));
    expectError(await app.get(`/api/v2/datasets/${ds.id}/data?filter=${encodeURIComponent(JSON.stringify(eq(7)))}`), 400, 'INVALID_PARAMETERS');
  });
});

describe('views: the typed values built', () => {
  it('are typedValue of each cell with its position and status, whatever the value and its stored JSON spelling', async () => {
    const values: unknown[] = [
      'Lyon', '  42 ', '42', '-7.50', '+.5', '5.', '-0', '0', '00012', '1e3', '1E-2', '0x1F', '0b101', '0o17', 'Infinity', '-Infinity', 'NaN', 'abc1', 'company1.example.com',
      '1.2.3', '--1', '+', '.', '', ' ', '\t7\n', '9'.repeat(400), `0.${'0'.repeat(320)}1`, '12 34', 'Zürich', 'x\u0001y', 'quote "q" back\\slash', 'A'.repeat(700), 'é'.repeat(700),
      0, -12, 3.5, -0.25, 0.000001, 1e-7, 1e21, 123456789012345, 2 ** 60, 0.1 + 0.2, true, false, null, { a: 1, B: 'x' }, [1, 'two'],
    ];
    const rowsIn = values.map((v, i) => ({ A: v, B: values[(i * 7 + 3) % values.length], C: `row ${i}` }));
    const ds = await createDataset(rowsIn);
    const columns = (await app.get(`/api/v2/datasets/${ds.id}`)).body.columns as Column[];
    const [a, b] = ['A', 'B'].map((n) => columns.find((c) => c.name === n)!.columnId) as [string, string];
    const db = app.running.store.db;
    // Rows written before 0016 may hold a value in another JSON spelling: set some cells' text so.
    const stored = await sql<{ id: string; cells: string }>`SELECT id, cells FROM dataset_rows WHERE dataset_id = ${ds.id} ORDER BY position LIMIT 5`.execute(db);
    const spellings = ['{"a": 1, "b" : [1, 2]}', '1.50', '1E3', '-0', '0.10'];
    for (const [i, r] of stored.rows.entries()) {
      const cells = JSON.parse(r.cells) as Cell[];
      const text = `[${cells.map((c, j) => `{"cellId":"${c.cellId}","value":${j === 0 ? spellings[i] : JSON.stringify(c.value)},"status":"${c.status}"}`).join(',')}]`;
      await sql`UPDATE dataset_rows SET cells = ${text} WHERE id = ${r.id}`.execute(db);
    }
    assert.equal((await app.get(`/api/v2/datasets/${ds.id}/data?limit=1&sort=${a}:asc,${b}:desc`)).status, 200);
    const built = await sql<{ row_id: string; column_id: string; position: number; num: number | null; txt: string | null; status: string }>`
      SELECT v.row_id, v.column_id, v.position, v.num, v.txt, v.status FROM row_values v JOIN dataset_rows r ON r.id = v.row_id WHERE r.dataset_id = ${ds.id}`.execute(db);
    const got = new Map(built.rows.map((v) => [`${v.row_id}/${v.column_id}`, v]));
    const rows = await sql<{ id: string; cells: string; position: number }>`SELECT id, cells, position FROM dataset_rows WHERE dataset_id = ${ds.id}`.execute(db);
    let n = 0;
    for (const r of rows.rows) {
      for (const c of JSON.parse(r.cells) as Cell[]) {
        const column = [a, b].find((x) => c.cellId.endsWith(x.slice(4)));
        if (!column) continue;
        n++;
        const v = got.get(`${r.id}/${column}`);
        const want = typedValue(c.value);
        // Stored as the database keeps it: JSON carries the numbers (-0 as 0), SQLite's real and PostgreSQL's double keep them.
        assert.deepEqual(v && { position: Number(v.position), num: v.num === null ? null : Number(v.num), txt: v.txt, status: v.status }, { position: Number(r.position), num: want.num === null ? null : JSON.parse(JSON.stringify(want.num)), txt: want.txt, status: c.status }, `${JSON.stringify(c.value)} in ${r.cells}`);
      }
    }
    assert.equal(n, values.length * 2);
    assert.equal(built.rows.length, n);
  });
});

describe('views: exports', () => {
  it('an export with filter and sort holds the matching rows in that order; skip and rowCount count matching rows', async () => {
    const ds = await createDataset(makeRows(50, 13));
    const columns = (await app.get(`/api/v2/datasets/${ds.id}`)).body.columns as Column[];
    const rev = columns.find((c) => c.name === 'Revenue')!.columnId;
    const rows = await allRows(ds.id);
    const filter = { column: rev, op: 'gte', value: 0 };
    const sort = `${rev}:desc`;
    const expected = sortRows(rows.filter((r) => holds('number', r.cells[rev]!.value, 'gte', 0)), columns, sort);
    const exported = async (body: Record<string, unknown>) => {
      const res = await app.post(`/api/v2/datasets/${ds.id}/export`, { format: 'json', ...body });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const file = await fetch(res.body.downloadUrl);
      return { count: res.body.rowCount as number, ids: (JSON.parse(await file.text()) as { rowId: string }[]).map((r) => r.rowId) };
    };
    assert.deepEqual(await exported({ rowCount: 1000, filter, sort }), { count: expected.length, ids: expected });
    assert.deepEqual(await exported({ rowCount: 4, skip: 3, filter, sort }), { count: 4, ids: expected.slice(3, 7) });
    const bad = await app.post(`/api/v2/datasets/${ds.id}/export`, { format: 'csv', rowCount: 10, filter: { and: [{ column: 'col_nope', op: 'eq', value: 1 }] } });
    expectError(bad, 400, 'INVALID_PARAMETERS');
    assert.deepEqual(bad.body.details.issues.map((i: { path: string }) => i.path), ['filter.and.0.column']);
  });
});
