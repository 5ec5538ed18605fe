import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import ExcelJS from 'exceljs';
import { startTestApp, type TestApp } from './helpers/app.ts';

/** Issue 12 items 8 and 10: one type per column, and includeMetadata with row and column metadata. */
let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app.close();
});

async function upload(name: string, content: string | Uint8Array, type: string) {
  const res = await app.upload('/api/v2/datasets/upload', [{ name, content, type }], { name, type: 'analysis' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { datasetId: string; columns: { columnId: string; name: string; dataType: string }[] };
}
async function grid(id: string, meta = true) {
  const res = await app.get(`/api/v2/datasets/${id}/data?limit=1000${meta ? '&includeMetadata=true' : ''}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}
const values = (g: any, name: string) => {
  const k = g.columns.findIndex((c: any) => c.name === name);
  return g.data.map((r: any[]) => r[k].value);
};
const typeOf = (g: any, name: string) => g.columns.find((c: any) => c.name === name).dataType;

describe('one type per column', () => {
  it('CSV columns get one type: zip codes stay text, numbers are numbers, 1e5 only when every value is like that, true/false are booleans', async () => {
    const csv = 'Zip,Count,Sci,MixedSci,Flag,Price\n10001,1,1e5,1e5,true,1.5\n00501,2,2.5E-3,7,False,1.50\n,3,,,,2\n';
    const ds = await upload('zips.csv', csv, 'text/csv');
    const g = await grid(ds.datasetId);
    assert.deepEqual(
      g.columns.map((c: any) => [c.name, c.dataType]),
      [
        ['Zip', 'text'],
        ['Count', 'number'],
        ['Sci', 'number'],
        ['MixedSci', 'text'],
        ['Flag', 'boolean'],
        ['Price', 'text'],
      ],
    );
    assert.deepEqual(values(g, 'Zip'), ['10001', '00501', null]);
    assert.deepEqual(values(g, 'Count'), [1, 2, 3]);
    assert.deepEqual(values(g, 'Sci'), [100000, 0.0025, null]);
    assert.deepEqual(values(g, 'MixedSci'), ['1e5', '7', null]);
    assert.deepEqual(values(g, 'Flag'), [true, false, null]);
    assert.deepEqual(values(g, 'Price'), ['1.5', '1.50', '2']);
    // Exports follow the column's type: the zip code 10001 is text in JSON, like 00501.
    const exp = await app.post(`/api/v2/datasets/${ds.datasetId}/export`, { format: 'json', rowCount: 10 });
    assert.equal(exp.status, 201, JSON.stringify(exp.body));
    const rows = (await (await fetch(exp.body.downloadUrl)).json()) as Record<string, unknown>[];
    assert.deepEqual(
      rows.map((r) => r.Zip),
      ['10001', '00501', null],
    );
    assert.deepEqual(
      rows.map((r) => r.Count),
      [1, 2, 3],
    );
  });

  it('CSV types hold for the whole file when the first rows mislead: values are those the column type wants, in one dataset', async () => {
    // The import writes values as the first batch (2,000 rows) suggests and starts over, typed
    // first, when a later value proves that wrong (datasets.service.ts createFromTable).
    const n = 5000;
    const lines = ['Id,Num,Late,Flag,Sci,Name'];
    for (let i = 0; i < n; i++) {
      const num = i === 4000 ? 'n/a' : String(i);
      const late = i < 3000 ? '' : i % 2 ? 'true' : 'FALSE';
      const flag = i >= 4500 && i % 7 === 0 ? 'maybe' : i % 2 ? 'true' : 'false';
      lines.push([i, num, late, flag, `${i % 9}e${i % 3}`, `n${i}`].join(','));
    }
    const before = (await app.get('/api/v2/datasets?limit=100')).body.pagination.total as number;
    const ds = await upload('late.csv', `${lines.join('\n')}\n`, 'text/csv');
    assert.deepEqual(
      ds.columns.map((c) => [c.name, c.dataType]),
      [
        ['Id', 'number'],
        ['Num', 'text'],
        ['Late', 'boolean'],
        ['Flag', 'text'],
        ['Sci', 'number'],
        ['Name', 'text'],
      ],
    );
    const rows: any[][] = [];
    for (let page = 1; page <= n / 1000; page++) rows.push(...(await app.get(`/api/v2/datasets/${ds.datasetId}/data?limit=1000&page=${page}`)).body.data);
    const column = (k: number) => rows.map((r) => r[k].value);
    assert.deepEqual(column(0), Array.from({ length: n }, (_, i) => i));
    assert.deepEqual(column(1), Array.from({ length: n }, (_, i) => (i === 4000 ? 'n/a' : String(i))));
    assert.deepEqual(column(2), Array.from({ length: n }, (_, i) => (i < 3000 ? null : i % 2 === 1)));
    assert.deepEqual(column(3), Array.from({ length: n }, (_, i) => (i >= 4500 && i % 7 === 0 ? 'maybe' : i % 2 ? 'true' : 'false')));
    assert.deepEqual(column(4), Array.from({ length: n }, (_, i) => Number(`${i % 9}e${i % 3}`)));
    assert.deepEqual(rows.map((r) => r[2].status), Array.from({ length: n }, (_, i) => (i < 3000 ? 'empty' : 'done')));
    // The attempt that was rolled back left nothing behind.
    assert.equal((await app.get('/api/v2/datasets?limit=100')).body.pagination.total, before + 1);
    const detail = (await app.get(`/api/v2/datasets/${ds.datasetId}`)).body;
    assert.equal(detail.rowCount, n);
    const source = (await app.get(`/api/v2/datasources/${detail.linkedDatasources[0]}`)).body;
    assert.equal(source.status, 'completed');
    assert.equal(source.rowCount, n);
  });

  it('JSON and XLSX keep their own types; a column mixing types is mixed, not coerced', async () => {
    const json = JSON.stringify([
      { a: 1, b: 'x', c: true, d: { k: 1 } },
      { a: 2, b: 5, c: false, d: [1] },
    ]);
    const g = await grid((await upload('t.json', json, 'application/json')).datasetId);
    assert.deepEqual(
      g.columns.map((c: any) => c.dataType),
      ['number', 'mixed', 'boolean', 'json'],
    );
    assert.deepEqual(values(g, 'b'), ['x', 5]);

    const wb = new ExcelJS.Workbook();
    const sheet = wb.addWorksheet('S');
    sheet.addRow(['n', 'zip', 'm']);
    sheet.addRow([1, '00501', 'a']);
    sheet.addRow([2.5, '10001', 3]);
    const xlsx = new Uint8Array(await wb.xlsx.writeBuffer());
    const x = await grid((await upload('t.xlsx', xlsx, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')).datasetId);
    assert.deepEqual(
      x.columns.map((c: any) => c.dataType),
      ['number', 'text', 'mixed'],
    );
    assert.deepEqual(values(x, 'zip'), ['00501', '10001']);
  });

  it('PATCH column {dataType} converts the values, or refuses listing the first values that do not convert', async () => {
    const ds = await upload('conv.csv', 'Code,Amount\n00501,1\n10001,2\nabc,x\n', 'text/csv');
    const code = ds.columns.find((c) => c.name === 'Code')!;
    const refused = await app.patch(`/api/v2/datasets/${ds.datasetId}/columns/${code.columnId}`, { dataType: 'number' });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'INVALID_PARAMETERS');
    assert.equal(refused.body.details.failed, 1);
    assert.deepEqual(
      refused.body.details.values.map((v: any) => v.value),
      ['abc'],
    );
    assert.deepEqual(values(await grid(ds.datasetId), 'Code'), ['00501', '10001', 'abc'], 'nothing changed');
    const delRow = (await grid(ds.datasetId)).rowIds[2];
    assert.equal((await app.del(`/api/v2/datasets/${ds.datasetId}/rows`, { rowIds: [delRow] })).status, 200);
    const ok = await app.patch(`/api/v2/datasets/${ds.datasetId}/columns/${code.columnId}`, { dataType: 'number' });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.dataType, 'number');
    const g = await grid(ds.datasetId);
    assert.deepEqual(values(g, 'Code'), [501, 10001]);
    assert.equal(typeOf(g, 'Code'), 'number');
    const back = await app.patch(`/api/v2/datasets/${ds.datasetId}/columns/${code.columnId}`, { dataType: 'text' });
    assert.equal(back.status, 200);
    assert.deepEqual(values(await grid(ds.datasetId), 'Code'), ['501', '10001']);
  });
});

describe('includeMetadata means row and column metadata too', () => {
  it('columns carry taskType, metadata and dataType; rows carry createdAt, updatedAt and their datasource', async () => {
    const ds = await upload('meta.csv', 'Name\nKettle\nDrill\n', 'text/csv');
    const col = await app.post(`/api/v2/datasets/${ds.datasetId}/columns`, { name: 'Out', taskType: 'ai_enrich', metadata: { prompt: 'Describe {{Name}}', confidence: 0.5 } });
    assert.equal(col.status, 201);
    const detail = await app.get(`/api/v2/datasets/${ds.datasetId}`);
    const g = await grid(ds.datasetId);
    assert.deepEqual(g.columns[1], { columnId: col.body.columnId, name: 'Out', taskType: 'ai_enrich', metadata: { prompt: `Describe {{Name}}`, confidence: 0.5 }, dataType: 'text' });
    assert.equal(g.columns[0].dataType, 'text');
    assert.equal(g.rows.length, 2);
    assert.deepEqual(
      g.rows.map((r: any) => r.rowId),
      g.rowIds,
    );
    const source = (await app.get('/api/v2/datasources?limit=100')).body.dataSources.find((d: any) => d.fileName === 'meta.csv');
    for (const r of g.rows) {
      assert.equal(r.createdAt, detail.body.createdAt);
      assert.ok(r.updatedAt >= r.createdAt);
      assert.equal(r.datasourceId, source.datasourceId);
    }
    // Editing a cell moves its row's updatedAt; rows added by hand come from no datasource.
    const edited = await app.patch(`/api/v2/datasets/${ds.datasetId}/cells/${g.data[0][0].cellId}`, { value: 'Teapot' });
    assert.equal(edited.status, 200);
    await app.post(`/api/v2/datasets/${ds.datasetId}/rows`, { rows: [{ Name: 'Saw' }] });
    const after = await grid(ds.datasetId);
    assert.ok(after.rows[0].updatedAt > g.rows[0].updatedAt);
    assert.equal(after.rows[2].datasourceId, null);
    // Without includeMetadata the answer stays as it was.
    const plain = await grid(ds.datasetId, false);
    assert.equal(plain.rows, undefined);
    assert.deepEqual(Object.keys(plain.columns[0]), ['columnId', 'name', 'taskType']);
  });
});
