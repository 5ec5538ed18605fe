import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import type { DomainEvent } from '../src/events.ts';
import { expectError, startTestApp, type TestApp } from './helpers/app.ts';
import { putCellMeta } from '../src/store/row-cells.ts';
import { lockWithTask } from './helpers/lock.ts';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.close());

// Every JSON type, quoting hazards, non-ASCII text and each formula-injection lead character.
const companies = [
  { Company: 'Acme, Inc.', Employees: 120, Active: true, Score: -5, Tags: ['b2b', 'saas'], Info: { city: 'Paris' }, Note: 'He said "hi"\nbye' },
  { Company: 'Globex', Employees: 5400, Active: false, Score: 0.25, Tags: [], Info: null, Note: '=SUM(A1:A2)' },
  { Company: 'Ünïcødé ✓', Employees: null, Active: null, Score: 1e21, Tags: null, Info: { nested: [1, { a: null }] }, Note: '+cmd|calc' },
  { Company: '@risk', Employees: 0, Active: true, Score: -0.5, Tags: ['x'], Info: {}, Note: '-2+3' },
  { Company: '\tTabbed', Employees: 7, Active: false, Score: 3, Tags: [], Info: null, Note: '\rCR' },
  { Company: 'Numeric text', Employees: 8, Active: true, Score: 4, Tags: [], Info: null, Note: '-5' },
];

async function createDataset(rows: Record<string, unknown>[] = companies, name = 'Companies Q3 / Europe') {
  const res = await app.post('/api/v2/datasets', { name, type: 'analysis', rows });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { id: res.body.datasetId as string, columns: res.body.columns as { columnId: string; name: string }[] };
}

async function exportFile(datasetId: string, body: Record<string, unknown>) {
  const res = await app.post(`/api/v2/datasets/${datasetId}/export`, body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const file = await fetch(res.body.downloadUrl); // no API key: the signature is the credential
  assert.equal(file.status, 200);
  const bytes = Buffer.from(await file.arrayBuffer());
  assert.equal(bytes.length, res.body.sizeBytes);
  assert.equal(Number(file.headers.get('content-length')), bytes.length);
  return { meta: res.body, headers: file.headers, bytes };
}

const readCsv = (bytes: Buffer): string[][] => parse(bytes, { bom: true, relax_column_count: false });
async function readXlsx(bytes: Buffer) {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(bytes as never);
  assert.equal(wb.worksheets.length, 1);
  const sheet = wb.worksheets[0]!;
  const rows: unknown[][] = [];
  sheet.eachRow({ includeEmpty: true }, (row) => rows.push(Array.from({ length: sheet.columnCount }, (_, i) => row.getCell(i + 1).value ?? null)));
  return { sheet, rows };
}
const dataOf = async (id: string, query: string) => (await app.get(`/api/v2/datasets/${id}/data?${query}`)).body;
const values = (data: any) => data.data.map((row: any[]) => row.map((c) => c.value));

describe('exports', () => {
  it('answers the seed curl body and serves a CSV that matches GET /data cell for cell', async () => {
    const ds = await createDataset();
    const [c1, , c3, c4] = ds.columns;
    const seed = await exportFile(ds.id, { format: 'csv', rowCount: 1000, columnIds: [c1!.columnId, c3!.columnId, c4!.columnId], skip: 0, includeMetadata: true, expiresIn: 3600 });
    assert.deepEqual(Object.keys(seed.meta).sort(), ['downloadUrl', 'expiresAt', 'exportId', 'fileName', 'format', 'rowCount', 'sizeBytes']);
    assert.match(seed.meta.exportId, /^exp_[0-9a-z]+$/);
    assert.equal(seed.meta.fileName, `companies-q3-europe-${seed.meta.exportId}.csv`);
    assert.equal(seed.meta.rowCount, companies.length);
    assert.ok(Math.abs(Date.parse(seed.meta.expiresAt) - Date.now() - 3600_000) < 5000);
    assert.equal(seed.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.equal(seed.headers.get('content-disposition'), `attachment; filename="${seed.meta.fileName}"; filename*=UTF-8''${seed.meta.fileName}`);
    assert.deepEqual(readCsv(seed.bytes)[0], ['Company', 'Company (status)', 'Company (confidence)', 'Company (sources)', 'Active', 'Active (status)', 'Active (confidence)', 'Active (sources)', 'Score', 'Score (status)', 'Score (confidence)', 'Score (sources)']);

    const { bytes, meta } = await exportFile(ds.id, { format: 'csv', rowCount: 100 });
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM for Excel');
    assert.ok(bytes.includes('\r\n'), 'CRLF line ends');
    const [header, ...rows] = readCsv(bytes);
    const data = await dataOf(ds.id, 'limit=100');
    assert.deepEqual(header, data.columns.map((c: any) => c.name));
    assert.equal(meta.rowCount, rows.length);
    assert.deepEqual(rows, [
      ['Acme, Inc.', '120', 'true', '-5', '["b2b","saas"]', '{"city":"Paris"}', 'He said "hi"\nbye'],
      ['Globex', '5400', 'false', '0.25', '[]', '', "'=SUM(A1:A2)"],
      ['Ünïcødé ✓', '', '', '1e+21', '', '{"nested":[1,{"a":null}]}', "'+cmd|calc"],
      ["'@risk", '0', 'true', '-0.5', '["x"]', '{}', "'-2+3"],
      ["'\tTabbed", '7', 'false', '3', '[]', '', "'\rCR"],
      ['Numeric text', '8', 'true', '4', '[]', '', '-5'],
    ]);
    // The same cells through the API, with the CSV rules applied by hand.
    const guard = (s: string) => (/^[=+\-@\t\r]/.test(s) && !/^-?\d+$/.test(s) ? `'${s}` : s);
    const asCsv = (v: unknown) => (v === null ? '' : typeof v === 'string' ? guard(v) : typeof v === 'object' ? JSON.stringify(v) : String(v));
    assert.deepEqual(rows, values(data).map((r: unknown[]) => r.map(asCsv)));
  });

  it('writes JSON rows keyed by column name plus rowId, values typed as in GET /data', async () => {
    const ds = await createDataset();
    const { bytes, headers, meta } = await exportFile(ds.id, { format: 'json', rowCount: 10 });
    assert.equal(headers.get('content-type'), 'application/json');
    assert.match(meta.fileName, /\.json$/);
    const rows = JSON.parse(bytes.toString('utf8'));
    const data = await dataOf(ds.id, 'limit=10');
    assert.deepEqual(rows.map((r: any) => r.rowId), data.rowIds);
    assert.deepEqual(rows.map((r: any) => Object.keys(r)), rows.map(() => ['rowId', ...data.columns.map((c: any) => c.name)]));
    assert.deepEqual(rows.map((r: any) => data.columns.map((c: any) => r[c.name])), values(data));
    assert.equal(rows[0].Score, -5);
    assert.equal(rows[1].Note, '=SUM(A1:A2)', 'JSON values are data, not spreadsheet input: no prefix');

    // A column named like a row key cannot overwrite it.
    const clash = await createDataset([{ rowId: 'mine', x: 1 }], 'Clash');
    const [clashRow] = JSON.parse((await exportFile(clash.id, { format: 'json', rowCount: 1 })).bytes.toString('utf8'));
    assert.match(clashRow.rowId, /^row_/);
    assert.equal(clashRow[`rowId (${clash.columns[0]!.columnId})`], 'mine');
  });

  it('writes XLSX with typed cells and a frozen header row', async () => {
    const ds = await createDataset();
    const { bytes, headers, meta } = await exportFile(ds.id, { format: 'xlsx', rowCount: 10 });
    assert.equal(headers.get('content-type'), 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    assert.match(meta.fileName, /\.xlsx$/);
    const { sheet, rows } = await readXlsx(bytes);
    assert.equal(sheet.views[0]?.state, 'frozen');
    assert.equal((sheet.views[0] as { ySplit?: number }).ySplit, 1);
    const data = await dataOf(ds.id, 'limit=10');
    assert.deepEqual(rows[0], data.columns.map((c: any) => c.name));
    // XML turns a CR in text into LF on reading (Excel's in-cell line break is LF anyway).
    const asXlsx = (v: unknown) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : typeof v === 'string' ? v.replace(/\r\n?/g, '\n') : v);
    assert.deepEqual(rows.slice(1), values(data).map((r: unknown[]) => r.map(asXlsx)));
    assert.equal(typeof rows[1]![1], 'number');
    assert.equal(rows[1]![2], true);
    assert.equal(rows[1]![3], -5);
  });

  it('selects and orders columns, and windows rows with skip and rowCount across pages', async () => {
    const ds = await createDataset(Array.from({ length: 4500 }, (_, n) => ({ n, label: `row ${n}`, half: n / 2 })), 'Big');
    const [n, label, half] = ds.columns.map((c) => c.columnId);
    const json = await exportFile(ds.id, { format: 'json', rowCount: 3000, skip: 1000, columnIds: [half, n] });
    const rows = JSON.parse(json.bytes.toString('utf8'));
    assert.equal(json.meta.rowCount, 3000);
    assert.deepEqual(Object.keys(rows[0]), ['rowId', 'half', 'n']);
    assert.deepEqual(rows.map((r: any) => r.n), Array.from({ length: 3000 }, (_, i) => 1000 + i));
    const page = await dataOf(ds.id, 'page=3&limit=1000');
    assert.deepEqual(rows.slice(1000, 2000).map((r: any) => r.rowId), page.rowIds);

    const csv = await exportFile(ds.id, { format: 'csv', rowCount: 100, skip: 4450, columnIds: [label] });
    assert.equal(csv.meta.rowCount, 50, 'rowCount is the rows actually written');
    const csvRows = readCsv(csv.bytes);
    assert.deepEqual(csvRows[0], ['label']);
    assert.deepEqual(csvRows.slice(1).map((r) => r[0]), Array.from({ length: 50 }, (_, i) => `row ${4450 + i}`));
    const xlsx = await readXlsx((await exportFile(ds.id, { format: 'xlsx', rowCount: 2500, skip: 10, columnIds: [n, half] })).bytes);
    assert.equal(xlsx.rows.length, 2501);
    assert.deepEqual(xlsx.rows[2500], [2509, 1254.5]);
  });

  it('gives a header-only file when skip is beyond the end', async () => {
    const ds = await createDataset();
    const csv = await exportFile(ds.id, { format: 'csv', rowCount: 10, skip: 500 });
    assert.equal(csv.meta.rowCount, 0);
    assert.deepEqual(readCsv(csv.bytes), [ds.columns.map((c) => c.name)]);
    assert.deepEqual(JSON.parse((await exportFile(ds.id, { format: 'json', rowCount: 10, skip: 500 })).bytes.toString('utf8')), []);
    assert.deepEqual((await readXlsx((await exportFile(ds.id, { format: 'xlsx', rowCount: 10, skip: 500 })).bytes)).rows, [ds.columns.map((c) => c.name)]);
  });

  it('lays out metadata per format with includeMetadata', async () => {
    const ds = await createDataset(companies.slice(0, 2));
    const data = await dataOf(ds.id, 'limit=10');
    const company = ds.columns[0]!.columnId;
    const sources = [{ type: 'web', url: 'https://acme.example', quote: 'Acme, the company' }];
    await putCellMeta(app.running.store.db, [{ rowId: data.rowIds[0]!, columnId: company, metadata: JSON.stringify({ confidence: 0.9, sources, model: 'openai:x' }), datasourceId: null }]);
    const body = { rowCount: 10, includeMetadata: true, columnIds: [company] };

    const csv = readCsv((await exportFile(ds.id, { ...body, format: 'csv' })).bytes);
    assert.deepEqual(csv, [
      ['Company', 'Company (status)', 'Company (confidence)', 'Company (sources)'],
      ['Acme, Inc.', 'done', '0.9', JSON.stringify(sources)],
      ['Globex', 'done', '', ''],
    ]);
    const xlsx = await readXlsx((await exportFile(ds.id, { ...body, format: 'xlsx' })).bytes);
    assert.deepEqual(xlsx.rows.slice(1), [['Acme, Inc.', 'done', 0.9, JSON.stringify(sources)], ['Globex', 'done', null, null]]);
    const json = JSON.parse((await exportFile(ds.id, { ...body, format: 'json' })).bytes.toString('utf8'));
    assert.deepEqual(json[0], { rowId: data.rowIds[0], Company: 'Acme, Inc.', _cells: { Company: { status: 'done', metadata: { confidence: 0.9, sources, model: 'openai:x' } } } });
    assert.deepEqual(json[1]._cells, { Company: { status: 'done', metadata: {} } });
  });

  it('serves links without a key, refuses tampered ones and expired ones, and emits dataset.exported', async () => {
    const ds = await createDataset();
    const seen: DomainEvent[] = [];
    const off = app.running.events.on((e) => seen.push(e));
    const { meta } = await exportFile(ds.id, { format: 'json', rowCount: 2, expiresIn: 60 });
    off();
    const event = seen.find((e) => e.type === 'dataset.exported');
    assert.deepEqual(event?.data, { datasetId: ds.id, ...meta });

    const url = new URL(meta.downloadUrl);
    const signature = url.searchParams.get('signature')!;
    url.searchParams.set('signature', `${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`);
    expectError(await app.get(`${url.pathname}${url.search}`, { key: null }), 403, 'ACCESS_DENIED');
    const later = new URL(meta.downloadUrl);
    later.searchParams.set('expires', String(Number(later.searchParams.get('expires')) + 3600));
    expectError(await app.get(`${later.pathname}${later.search}`, { key: null }), 403, 'ACCESS_DENIED');
    // A correctly signed link whose expiry has passed, through the real download route.
    const expired = new URL(app.running.signer.sign('exports', meta.exportId, -5).downloadUrl);
    expectError(await app.get(`${expired.pathname}${expired.search}`, { key: null }), 410, 'LINK_EXPIRED');
  });

  it('refuses bad input with INVALID_PARAMETERS and unknown columns with COLUMN_NOT_FOUND', async () => {
    const ds = await createDataset();
    const ok = { format: 'csv', rowCount: 10 };
    const bad: Record<string, unknown>[] = [
      { ...ok, rowCount: 0 }, { ...ok, rowCount: 100_001 }, { ...ok, rowCount: 1.5 }, { ...ok, rowCount: '10' }, { format: 'csv' }, { rowCount: 10 },
      { ...ok, format: 'xml' }, { ...ok, skip: -1 }, { ...ok, expiresIn: 0 }, { ...ok, expiresIn: 86_401 }, { ...ok, includeMetadata: 'yes' },
      { ...ok, columnIds: [] }, { ...ok, columnIds: 'col_x' }, { ...ok, bogus: 1 },
    ];
    for (const body of bad) expectError(await app.post(`/api/v2/datasets/${ds.id}/export`, body), 400, 'INVALID_PARAMETERS');
    const one = await app.post(`/api/v2/datasets/${ds.id}/export`, { ...ok, columnIds: [ds.columns[0]!.columnId, 'col_nope'] });
    expectError(one, 404, 'COLUMN_NOT_FOUND');
    assert.deepEqual(one.body.details, { columnId: 'col_nope' });
    const two = await app.post(`/api/v2/datasets/${ds.id}/export`, { ...ok, columnIds: ['col_a', 'col_b'] });
    expectError(two, 404, 'COLUMN_NOT_FOUND');
    assert.deepEqual(two.body.details, { columnIds: ['col_a', 'col_b'] });
    expectError(await app.post('/api/v2/datasets/ds_missing/export', ok), 404, 'DATASET_NOT_FOUND');
    await exportFile(ds.id, { ...ok, rowCount: 100_000, skip: 0, expiresIn: 86_400 });
  });

  it('refuses while a task runs and hides other workspaces\' datasets', async () => {
    const ds = await createDataset();
    const other = await app.post('/api/v2/workspaces', { name: 'Other' });
    assert.equal(other.status, 201, JSON.stringify(other.body));
    expectError(await app.post(`/api/v2/datasets/${ds.id}/export`, { format: 'csv', rowCount: 1 }, { key: other.body.key }), 404, 'DATASET_NOT_FOUND');
    await lockWithTask(app, ds.id);
    expectError(await app.post(`/api/v2/datasets/${ds.id}/export`, { format: 'csv', rowCount: 1 }), 409, 'PROCESSING_IN_PROGRESS');
  });

  it('answers EXPORT_NOT_FOUND once the dataset is deleted or the export is swept', async () => {
    const ds = await createDataset();
    const gone = (await exportFile(ds.id, { format: 'csv', rowCount: 5 })).meta;
    const swept = (await exportFile(ds.id, { format: 'xlsx', rowCount: 5 })).meta;
    const kept = (await exportFile(ds.id, { format: 'json', rowCount: 5 })).meta;

    // Move one export past its expiry, as time would, then run the sweep the server runs every 10 minutes.
    await app.running.store.db.updateTable('exports').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('id', '=', swept.exportId).execute();
    const blobKey = (await app.running.store.db.selectFrom('exports').select('blob_key').where('id', '=', swept.exportId).executeTakeFirstOrThrow()).blob_key;
    assert.ok((await app.running.exports.sweep()) >= 1);
    await assert.rejects(app.running.blobs.read(blobKey), 'the file is deleted with the record');
    const resigned = new URL(app.running.signer.sign('exports', swept.exportId, 60).downloadUrl);
    expectError(await app.get(`${resigned.pathname}${resigned.search}`, { key: null }), 404, 'EXPORT_NOT_FOUND');
    assert.equal((await fetch(kept.downloadUrl)).status, 200, 'unexpired exports survive the sweep');

    const keptKey = (await app.running.store.db.selectFrom('exports').select('blob_key').where('id', '=', kept.exportId).executeTakeFirstOrThrow()).blob_key;
    assert.equal((await app.del(`/api/v2/datasets/${ds.id}`)).status, 200);
    await assert.rejects(app.running.blobs.read(keptKey), 'deleting the dataset deletes its export files');
    for (const meta of [gone, kept]) {
      const url = new URL(meta.downloadUrl);
      expectError(await app.get(`${url.pathname}${url.search}`, { key: null }), 404, 'EXPORT_NOT_FOUND');
    }
  });
});
