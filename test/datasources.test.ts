import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectError, startTestApp, type TestApp } from './helpers/app.ts';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.close());

const upload = (name: string, content: string | Uint8Array) => app.upload('/api/v2/datasources/upload', [{ name, content }]);

describe('datasources', () => {
  it('uploads, lists with filters, gets, pages tabular data, and deletes', async () => {
    const csv = await upload('people.csv', 'name,age\nAda,36\nAlan,41\nGrace,85\n');
    assert.equal(csv.status, 201, JSON.stringify(csv.body));
    assert.match(csv.body.datasourceId, /^dsrc_/);
    assert.equal(csv.body.contentType, 'text/csv');
    assert.equal(csv.body.fileSize, 33);
    assert.deepEqual(csv.body.columns, ['name', 'age']);
    const txt = await upload('readme.txt', 'hello');
    assert.equal(txt.body.contentType, 'text/plain');

    const list = await app.get('/api/v2/datasources?page=1&limit=10');
    assert.equal(list.status, 200);
    assert.equal(list.body.pagination.total, 2);
    assert.deepEqual(Object.keys(list.body.dataSources[0]).sort(), ['contentType', 'datasourceId', 'error', 'fileName', 'fileSize', 'pageCount', 'processedAt', 'status', 'uploadedAt'].sort());
    assert.equal((await app.get('/api/v2/datasources?contentType=text%2Fcsv')).body.pagination.total, 1);
    expectError(await app.get('/api/v2/datasources?status=weird'), 400, 'INVALID_PARAMETERS');

    const data = await app.get(`/api/v2/datasources/${csv.body.datasourceId}/data?page=2&limit=2`);
    assert.equal(data.status, 200);
    assert.deepEqual(data.body.columns, ['name', 'age']);
    assert.deepEqual(data.body.rows, [['Grace', 85]]);
    assert.deepEqual(data.body.pagination, { page: 2, limit: 2, total: 3, totalPages: 2 });

    assert.equal((await app.del(`/api/v2/datasources/${txt.body.datasourceId}`)).status, 200);
    expectError(await app.get(`/api/v2/datasources/${txt.body.datasourceId}`), 404, 'DATASOURCE_NOT_FOUND');
  });

  it('keeps an unparseable table as a failed datasource with the reason', async () => {
    const res = await upload('ragged.csv', 'a,b\n1,2,3\n');
    assert.equal(res.status, 201);
    assert.equal(res.body.status, 'failed');
    assert.match(res.body.error, /line/);
    expectError(await upload('x.bin', new Uint8Array([0, 0, 0, 1, 2, 3, 0, 255])), 415, 'UNSUPPORTED_FILE_TYPE');
  });

  it('gives a signed, expiring download link that needs no key; tampered links are refused', async () => {
    const src = (await upload('report.txt', 'the original bytes')).body;
    const link = await app.post(`/api/v2/datasources/${src.datasourceId}/download`, { expiresIn: 60 });
    assert.equal(link.status, 200);
    assert.ok(Date.parse(link.body.expiresAt) > Date.now());
    const file = await fetch(link.body.downloadUrl);
    assert.equal(file.status, 200);
    assert.equal(await file.text(), 'the original bytes');
    assert.equal(file.headers.get('content-type'), 'text/plain');
    assert.match(file.headers.get('content-disposition') ?? '', /report\.txt/);
    // Change the signature's first character to a different one (a fixed replacement would be a no-op 1 time in 64).
    const tampered = await fetch(link.body.downloadUrl.replace(/signature=(.)/, (_m: string, ch: string) => `signature=${ch === 'A' ? 'B' : 'A'}`));
    assert.equal(tampered.status, 403);
    assert.equal(((await tampered.json()) as any).code, 'ACCESS_DENIED');
    const otherId = link.body.downloadUrl.replace(src.datasourceId, 'dsrc_aaaaaaaaaaaaaa');
    assert.equal((await fetch(otherId)).status, 403);
    const expired = new URL(link.body.downloadUrl);
    expired.searchParams.set('expires', String(Math.floor(Date.now() / 1000) - 10));
    assert.equal((await fetch(expired)).status, 403, 'moving the expiry breaks the signature');
    const past = app.running.signer.sign('datasources', src.datasourceId, -5);
    const gone = await fetch(past.downloadUrl);
    assert.equal(gone.status, 410);
    assert.equal(((await gone.json()) as any).code, 'LINK_EXPIRED');
    expectError(await app.post(`/api/v2/datasources/${src.datasourceId}/download`, { expiresIn: 86401 }), 400, 'INVALID_PARAMETERS');
  });
});

describe('linking datasources to cells', () => {
  it('links and uploads into raw cells of extraction datasets only', async () => {
    const ds = (await app.post('/api/v2/datasets', { name: 'Invoices', type: 'extraction', rows: [{ document: null, Note: 'a' }, { document: null, Note: 'b' }], columns: [{ name: 'Total', taskType: 'doc_extraction', metadata: { extractionPrompt: 'total amount' } }] })).body;
    const g = (await app.get(`/api/v2/datasets/${ds.datasetId}/data`)).body;
    const docCell = g.data[0][0].cellId;
    const totalCell = g.data[0][2].cellId;
    const src = (await upload('invoice.txt', 'Total: 42 EUR')).body;

    const linked = await app.post(`/api/v2/datasets/${ds.datasetId}/cells/${docCell}/link-datasource`, { datasourceId: src.datasourceId });
    assert.equal(linked.status, 200, JSON.stringify(linked.body));
    assert.deepEqual(linked.body.value, { datasourceId: src.datasourceId, fileName: 'invoice.txt', contentType: 'text/plain' });
    assert.deepEqual((await app.get(`/api/v2/datasets/${ds.datasetId}`)).body.linkedDatasources, [src.datasourceId]);
    expectError(await app.del(`/api/v2/datasources/${src.datasourceId}`), 400, 'INVALID_PARAMETERS');

    expectError(await app.post(`/api/v2/datasets/${ds.datasetId}/cells/${totalCell}/link-datasource`, { datasourceId: src.datasourceId }), 400, 'RAW_COLUMN_REQUIRED');
    expectError(await app.post(`/api/v2/datasets/${ds.datasetId}/cells/${docCell}/link-datasource`, { datasourceId: 'dsrc_nope' }), 404, 'DATASOURCE_NOT_FOUND');
    expectError(await app.post(`/api/v2/datasets/${ds.datasetId}/cells/cell_nope/link-datasource`, { datasourceId: src.datasourceId }), 404, 'CELL_NOT_FOUND');

    const up = await app.upload(`/api/v2/datasets/${ds.datasetId}/cells/${g.data[1][0].cellId}/upload-datasource`, [{ name: 'second.txt', content: 'Total: 7 EUR' }]);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.value.fileName, 'second.txt');
    const before = (await app.get('/api/v2/datasources?limit=100')).body.pagination.total;
    expectError(await app.upload(`/api/v2/datasets/${ds.datasetId}/cells/${totalCell}/upload-datasource`, [{ name: 'x.txt', content: 'x' }]), 400, 'RAW_COLUMN_REQUIRED');
    assert.equal((await app.get('/api/v2/datasources?limit=100')).body.pagination.total, before, 'the refused upload was removed');

    const analysis = (await app.post('/api/v2/datasets', { name: 'A', type: 'analysis', rows: [{ x: 1 }] })).body;
    const aCell = (await app.get(`/api/v2/datasets/${analysis.datasetId}/data`)).body.data[0][0].cellId;
    expectError(await app.post(`/api/v2/datasets/${analysis.datasetId}/cells/${aCell}/link-datasource`, { datasourceId: src.datasourceId }), 400, 'INVALID_PARAMETERS');
  });
});
