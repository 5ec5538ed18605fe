import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import ExcelJS from 'exceljs';
import { expectError, startTestApp, type TestApp } from './helpers/app.ts';

let app: TestApp;
before(async () => {
  app = await startTestApp({ maxUploadMb: 1 });
});
after(() => app.close());

const values = async (datasetId: string) => (await app.get(`/api/v2/datasets/${datasetId}/data?limit=1000`)).body.data.map((r: any[]) => r.map((c) => c.value));
const datasetCount = async () => (await app.get('/api/v2/datasets?limit=100')).body.pagination.total;
const datasourceCount = async () => (await app.get('/api/v2/datasources?limit=100')).body.pagination.total;

async function xlsxBytes(): Promise<Uint8Array> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Data');
  ws.addRow(['Name', 'Revenue', 'Public', 'Founded']);
  ws.addRow(['Acme', 1200.5, true, new Date(Date.UTC(1999, 0, 2))]);
  ws.addRow(['Globex', 30, false, null]);
  return new Uint8Array(await wb.xlsx.writeBuffer());
}

describe('POST /datasets/upload', () => {
  it('imports CSV with quoting, numbers and empty cells', async () => {
    const csv = 'Company,Employees,Notes\r\nAcme,120,"says ""hi"", twice"\r\nGlobex,,"multi\nline"\r\n';
    const res = await app.upload('/api/v2/datasets/upload', [{ name: 'companies.csv', content: csv, type: 'text/csv' }], { name: 'Companies', type: 'analysis', description: 'from csv' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.name, 'Companies');
    assert.equal(res.body.rowCount, 2);
    assert.equal(res.body.linkedDatasources.length, 1);
    assert.deepEqual(res.body.columns.map((c: any) => [c.name, c.taskType]), [['Company', 'raw'], ['Employees', 'raw'], ['Notes', 'raw']]);
    assert.deepEqual(await values(res.body.datasetId), [['Acme', 120, 'says "hi", twice'], ['Globex', null, 'multi\nline']]);
  });

  it('keeps backslashes, tabs, line breaks and \\N in values exactly (PostgreSQL stores the rows by COPY)', async () => {
    const tricky = ['C:\\temp\\new', 'tab\there', 'cr\rlf\r\nend', '\\N', '\\\\t', 'caf\u00e9 \u{1F600}', '\\u0000 not a NUL'];
    const csv = `v\n${tricky.map((t) => `"${t}"`).join('\n')}\n`;
    const res = await app.upload('/api/v2/datasets/upload', [{ name: 'tricky.csv', content: csv, type: 'text/csv' }], { name: 'tricky' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(await values(res.body.datasetId), tricky.map((t) => [t]));
  });

  it('imports TSV, JSON, JSONL and XLSX', async () => {
    const tsv = await app.upload('/api/v2/datasets/upload', [{ name: 'a.tsv', content: 'a\tb\n1\tx\n' }], { type: 'classification' });
    assert.equal(tsv.status, 201, JSON.stringify(tsv.body));
    assert.equal(tsv.body.type, 'classification');
    assert.equal(tsv.body.name, 'a', 'name defaults to the file name');
    assert.deepEqual(await values(tsv.body.datasetId), [[1, 'x']]);

    const json = await app.upload('/api/v2/datasets/upload', [{ name: 'a.json', content: JSON.stringify([{ a: 1, b: { deep: true } }, { c: 'late key' }]) }], { name: 'j' });
    assert.equal(json.status, 201, JSON.stringify(json.body));
    assert.deepEqual(json.body.columns.map((c: any) => c.name), ['a', 'b', 'c']);
    assert.deepEqual(await values(json.body.datasetId), [[1, { deep: true }, null], [null, null, 'late key']]);

    const jsonl = await app.upload('/api/v2/datasets/upload', [{ name: 'a.jsonl', content: '{"x":1}\n\n{"x":2,"y":[1]}\n' }], { name: 'l' });
    assert.equal(jsonl.status, 201, JSON.stringify(jsonl.body));
    assert.deepEqual(await values(jsonl.body.datasetId), [[1, null], [2, [1]]]);

    const xlsx = await app.upload('/api/v2/datasets/upload', [{ name: 'book.xlsx', content: await xlsxBytes() }], { name: 'x' });
    assert.equal(xlsx.status, 201, JSON.stringify(xlsx.body));
    assert.deepEqual(await values(xlsx.body.datasetId), [['Acme', 1200.5, true, '1999-01-02T00:00:00.000Z'], ['Globex', 30, false, null]]);
  });

  it('makes an extraction dataset from files[], one row per document', async () => {
    const res = await app.upload('/api/v2/datasets/upload', [
      { field: 'files[]', name: 'one.txt', content: 'first document' },
      { field: 'files[]', name: 'two.html', content: '<!doctype html><html><body>second</body></html>' },
    ], { name: 'Docs' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.type, 'extraction');
    assert.deepEqual(res.body.columns.map((c: any) => [c.name, c.taskType]), [['document', 'raw']]);
    assert.equal(res.body.linkedDatasources.length, 2);
    const v = await values(res.body.datasetId);
    assert.deepEqual(v.map((r: any[]) => [r[0].fileName, r[0].contentType]), [['one.txt', 'text/plain'], ['two.html', 'text/html']]);
  });

  it('refuses bad files with clear codes and keeps nothing of a refused upload', async () => {
    const ds0 = await datasetCount();
    const src0 = await datasourceCount();
    const ragged = await app.upload('/api/v2/datasets/upload', [{ name: 'r.csv', content: 'a,b\n1,2\n1,2,3\n' }], { name: 'r' });
    expectError(ragged, 400, 'INVALID_PARAMETERS');
    expectError(await app.upload('/api/v2/datasets/upload', [{ name: 'bad.csv', content: new Uint8Array([0x61, 0x2c, 0x62, 0x0a, 0xff, 0xfe, 0x2c, 0x31, 0x0a]) }]), 400, 'INVALID_PARAMETERS');
    expectError(await app.upload('/api/v2/datasets/upload', [{ name: 'dup.csv', content: 'a,a\n1,2\n' }]), 400, 'INVALID_PARAMETERS');
    expectError(await app.upload('/api/v2/datasets/upload', [{ name: 'empty.csv', content: '' }]), 400, 'INVALID_PARAMETERS');
    expectError(await app.upload('/api/v2/datasets/upload', [{ name: 'blob.bin', content: new Uint8Array([0, 1, 2, 3, 0, 0, 255, 254, 0, 7]) }]), 415, 'UNSUPPORTED_FILE_TYPE');
    expectError(await app.upload('/api/v2/datasets/upload', [{ name: 'big.csv', content: `a\n${'x'.repeat(1024 * 1024 + 10)}\n` }]), 413, 'PAYLOAD_TOO_LARGE');
    expectError(await app.upload('/api/v2/datasets/upload', [], { name: 'nothing' }), 400, 'INVALID_PARAMETERS');
    expectError(await app.upload('/api/v2/datasets/upload', [{ name: 'a.csv', content: 'a\n1\n' }], { type: 'spreadsheet' }), 400, 'INVALID_PARAMETERS');
    expectError(await app.upload('/api/v2/datasets/upload', [{ name: 'a.csv', content: 'a\n1\n' }], { bogus: '1' }), 400, 'INVALID_PARAMETERS');
    expectError(await app.upload('/api/v2/datasets/upload', [{ name: 'a.csv', content: 'a\n1\n', field: 'attachment' }]), 400, 'INVALID_PARAMETERS');
    expectError(await app.post('/api/v2/datasets/upload', { name: 'json instead' }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post('/api/v2/datasets', { name: 'huge', type: 'analysis', rows: [{ text: 'x'.repeat(1024 * 1024 + 1) }] }), 413, 'PAYLOAD_TOO_LARGE');
    assert.equal(await datasetCount(), ds0);
    assert.equal(await datasourceCount(), src0, 'refused uploads leave no datasource behind');
  });
});

describe('POST /datasets from a datasource', () => {
  it('creates a dataset from an uploaded tabular datasource, plus declared computed columns', async () => {
    const src = await app.upload('/api/v2/datasources/upload', [{ name: 'shops.csv', content: 'Shop,lat,lng\nA,51.5,-0.12\nB,48.85,2.35\n' }]);
    assert.equal(src.status, 201, JSON.stringify(src.body));
    assert.equal(src.body.status, 'completed');
    assert.equal(src.body.rowCount, 2);
    const res = await app.post('/api/v2/datasets', { name: 'Shops', type: 'analysis', datasourceId: src.body.datasourceId, columns: [{ name: 'Cafes', taskType: 'places_count', metadata: { prompt: 'coffee shops', radiusMeters: 500 } }] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.columns.map((c: any) => c.name), ['Shop', 'lat', 'lng', 'Cafes']);
    assert.deepEqual(res.body.linkedDatasources, [src.body.datasourceId]);
    assert.deepEqual(await values(res.body.datasetId), [['A', 51.5, -0.12, null], ['B', 48.85, 2.35, null]]);
    expectError(await app.post('/api/v2/datasets', { name: 'x', type: 'analysis', datasourceId: 'dsrc_nope' }), 404, 'DATASOURCE_NOT_FOUND');
    const doc = await app.upload('/api/v2/datasources/upload', [{ name: 'note.txt', content: 'just text' }]);
    expectError(await app.post('/api/v2/datasets', { name: 'x', type: 'analysis', datasourceId: doc.body.datasourceId }), 400, 'INVALID_PARAMETERS');
  });
});
