import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_KEY, expectError, startTestApp, type ApiResponse, type TestApp } from './helpers/app.ts';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.close());

describe('authentication and scopes', () => {
  it('needs a valid bearer key on every /api/v2 route, but not for health and the OpenAPI document', async () => {
    expectError(await app.get('/api/v2/datasets', { key: null }), 401, 'UNAUTHORIZED');
    expectError(await app.get('/api/v2/datasets', { key: 'cw_unknown_key_value_000000' }), 401, 'UNAUTHORIZED');
    expectError(await app.get('/api/v2/datasets', { key: null, headers: { authorization: 'Basic abc' } }), 401, 'UNAUTHORIZED');
    expectError(await app.get('/api/v2/datasets/ds_x', { key: null }), 401, 'UNAUTHORIZED');
    assert.deepEqual((await app.get('/health', { key: null })).body, { status: 'ok' });
    const doc = await app.get('/api/v2/openapi.json', { key: null });
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi, '3.1.0');
  });

  it('enforces read, write and admin scopes', async () => {
    const read = (await app.post('/api/v2/keys', { name: 'reader', scopes: ['read'] })).body;
    const write = (await app.post('/api/v2/keys', { name: 'writer', scopes: ['write'] })).body;
    assert.match(read.key, /^cw_/);
    assert.deepEqual(read.scopes, ['read']);
    assert.equal((await app.get('/api/v2/datasets', { key: read.key })).status, 200);
    expectError(await app.post('/api/v2/datasets', { name: 'x', type: 'analysis' }, { key: read.key }), 403, 'ACCESS_DENIED');
    assert.equal((await app.post('/api/v2/datasets', { name: 'x', type: 'analysis' }, { key: write.key })).status, 201);
    assert.equal((await app.get('/api/v2/datasets', { key: write.key })).status, 200, 'write implies read');
    expectError(await app.get('/api/v2/keys', { key: write.key }), 403, 'ACCESS_DENIED');
    expectError(await app.post('/api/v2/workspaces', { name: 'w' }, { key: write.key }), 403, 'ACCESS_DENIED');
  });

  it('lists keys without secrets, revokes them, and protects the last admin key', async () => {
    const k = (await app.post('/api/v2/keys', { name: 'temp', scopes: ['read'] })).body;
    const list = await app.get('/api/v2/keys');
    assert.equal(list.status, 200);
    const listed = list.body.keys.find((x: any) => x.keyId === k.keyId);
    assert.equal(listed.name, 'temp');
    assert.equal(JSON.stringify(list.body).includes(k.key), false, 'no secret in the listing');
    assert.equal((await app.del(`/api/v2/keys/${k.keyId}`)).status, 200);
    expectError(await app.get('/api/v2/datasets', { key: k.key }), 401, 'UNAUTHORIZED');
    expectError(await app.del(`/api/v2/keys/${k.keyId}`), 404, 'KEY_NOT_FOUND');
    expectError(await app.post('/api/v2/keys', { name: 'x', scopes: ['root'] }), 400, 'INVALID_PARAMETERS');
    const admin = list.body.keys.find((x: any) => x.scopes.includes('admin'));
    expectError(await app.del(`/api/v2/keys/${admin.keyId}`), 400, 'INVALID_PARAMETERS');
    assert.equal((await app.get('/api/v2/datasets', { key: ADMIN_KEY })).status, 200);
  });

  it('reads the bearer key strictly: the scheme in any case, any spaces after it, nothing before or after the key', async () => {
    const as = async (authorization: string) => (await app.get('/api/v2/datasets', { key: null, headers: { authorization } })).status;
    assert.equal(await as(`bearer ${ADMIN_KEY}`), 200);
    assert.equal(await as(`BEARER   ${ADMIN_KEY}`), 200);
    assert.equal(await as(`Bearer\t${ADMIN_KEY}`), 200);
    for (const bad of [`XBearer ${ADMIN_KEY}`, `Bearer ${ADMIN_KEY} extra`, `Bearer${ADMIN_KEY}`, 'Bearer', `Token ${ADMIN_KEY}`]) assert.equal(await as(bad), 401, bad);
    // A failed authentication goes through the per-address throttle (60 a minute by default), whose headers it carries.
    const failed = await app.get('/api/v2/datasets', { key: null, headers: { authorization: 'Bearer cw_nobody' } });
    expectError(failed, 401, 'UNAUTHORIZED');
    assert.equal(failed.headers.get('x-ratelimit-limit'), '60');
  });

  it('names the scope a refused request needs, for every kind of route', async () => {
    const read = (await app.post('/api/v2/keys', { name: 'scope reader', scopes: ['read'] })).body;
    const write = (await app.post('/api/v2/keys', { name: 'scope writer', scopes: ['write'] })).body;
    const admin = (await app.post('/api/v2/keys', { name: 'scope admin', scopes: ['admin'] })).body;
    const denied = async (res: ApiResponse, requiredScope: string, scopes: string[]) => {
      expectError(res, 403, 'ACCESS_DENIED');
      assert.deepEqual(res.body.details, { requiredScope, scopes });
    };
    await denied(await app.post('/api/v2/datasets', { name: 'x', type: 'analysis' }, { key: read.key }), 'write', ['read']);
    await denied(await app.patch('/api/v2/datasets/ds_x', { name: 'x' }, { key: read.key }), 'write', ['read']);
    await denied(await app.del(`/api/v2/keys/${read.keyId}`, undefined, { key: write.key }), 'admin', ['write']);
    await denied(await app.get('/api/v2/keys', { key: read.key }), 'admin', ['read']);
    await denied(await app.get('/api/v2/workspaces/ws_any', { key: admin.key }), 'instance', ['admin']);
    await denied(await app.post('/api/v2/workspaces', { name: 'w' }, { key: admin.key }), 'instance', ['admin']);
    // HEAD is a read.
    assert.equal((await app.request('HEAD', '/api/v2/datasets', { key: read.key })).status, 200);
    // An admin key does what write and read keys do, in its own workspace.
    assert.equal((await app.post('/api/v2/datasets', { name: 'by admin', type: 'analysis' }, { key: admin.key })).status, 201);
    assert.equal((await app.get('/api/v2/keys', { key: admin.key })).status, 200);
  });

  it('records when a key was last used', async () => {
    const k = (await app.post('/api/v2/keys', { name: 'used later', scopes: ['read'] })).body;
    const lastUsed = async () => (await app.get('/api/v2/keys')).body.keys.find((x: any) => x.keyId === k.keyId).lastUsedAt as string | null;
    assert.equal(await lastUsed(), null);
    const before = Date.now();
    assert.equal((await app.get('/api/v2/datasets', { key: k.key })).status, 200);
    // Written beside the request, off its path: wait for the outcome.
    const deadline = Date.now() + 10_000;
    let at: string | null;
    while (!(at = await lastUsed())) {
      assert.ok(Date.now() < deadline, 'lastUsedAt never set');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(Date.parse(at) >= before - 1000 && Date.parse(at) <= Date.now() + 1000, at);
  });
});

describe('tenancy', () => {
  it('a second workspace sees none of the first one\'s objects: every id route answers NOT_FOUND', async () => {
    const ws = await app.post('/api/v2/workspaces', { name: 'Other tenant' });
    assert.equal(ws.status, 201);
    assert.match(ws.body.workspaceId, /^ws_/);
    const other = ws.body.key as string;

    const ds = (await app.post('/api/v2/datasets', { name: 'Private', type: 'extraction', rows: [{ doc: null }] })).body;
    const g = (await app.get(`/api/v2/datasets/${ds.datasetId}/data`)).body;
    const cellId = g.data[0][0].cellId;
    const colId = ds.columns[0].columnId;
    const src = (await app.upload('/api/v2/datasources/upload', [{ name: 'notes.txt', content: 'private notes' }])).body;
    const k = (await app.post('/api/v2/keys', { name: 'mine', scopes: ['read'] })).body;

    assert.equal((await app.get('/api/v2/datasets', { key: other })).body.pagination.total, 0);
    assert.equal((await app.get('/api/v2/datasources', { key: other })).body.pagination.total, 0);
    const d = `/api/v2/datasets/${ds.datasetId}`;
    const checks: [string, string, unknown, string][] = [
      ['GET', d, undefined, 'DATASET_NOT_FOUND'],
      ['GET', `${d}/data`, undefined, 'DATASET_NOT_FOUND'],
      ['PATCH', d, { name: 'stolen' }, 'DATASET_NOT_FOUND'],
      ['DELETE', d, undefined, 'DATASET_NOT_FOUND'],
      ['PATCH', `${d}/cells/${cellId}`, { value: 1 }, 'DATASET_NOT_FOUND'],
      ['POST', `${d}/cells/${cellId}/link-datasource`, { datasourceId: src.datasourceId }, 'DATASET_NOT_FOUND'],
      ['PATCH', `${d}/columns/${colId}`, { name: 'x' }, 'DATASET_NOT_FOUND'],
      ['PUT', `${d}/columns/${colId}/task-type`, { taskType: 'raw' }, 'DATASET_NOT_FOUND'],
      ['DELETE', `${d}/columns/${colId}`, undefined, 'DATASET_NOT_FOUND'],
      ['POST', `${d}/columns`, { name: 'x', taskType: 'raw' }, 'DATASET_NOT_FOUND'],
      ['POST', `${d}/rows`, { rows: [{ doc: 1 }] }, 'DATASET_NOT_FOUND'],
      ['DELETE', `${d}/rows`, { rowIds: g.rowIds }, 'DATASET_NOT_FOUND'],
      ['GET', `/api/v2/datasources/${src.datasourceId}`, undefined, 'DATASOURCE_NOT_FOUND'],
      ['GET', `/api/v2/datasources/${src.datasourceId}/data`, undefined, 'DATASOURCE_NOT_FOUND'],
      ['DELETE', `/api/v2/datasources/${src.datasourceId}`, undefined, 'DATASOURCE_NOT_FOUND'],
      ['POST', `/api/v2/datasources/${src.datasourceId}/download`, {}, 'DATASOURCE_NOT_FOUND'],
      ['DELETE', `/api/v2/keys/${k.keyId}`, undefined, 'KEY_NOT_FOUND'],
    ];
    for (const [method, path, body, code] of checks) {
      const res = await app.request(method, path, { key: other, ...(body === undefined ? {} : { body }) });
      expectError(res, 404, code);
    }
    // A dataset of the other workspace cannot link this workspace's datasource either.
    const theirs = (await app.post('/api/v2/datasets', { name: 'Theirs', type: 'extraction', rows: [{ doc: null }] }, { key: other })).body;
    const theirCell = (await app.get(`/api/v2/datasets/${theirs.datasetId}/data`, { key: other })).body.data[0][0].cellId;
    expectError(await app.post(`/api/v2/datasets/${theirs.datasetId}/cells/${theirCell}/link-datasource`, { datasourceId: src.datasourceId }, { key: other }), 404, 'DATASOURCE_NOT_FOUND');
    // Nothing of ours changed.
    const mine = await app.get(d);
    assert.equal(mine.body.name, 'Private');
    assert.equal(mine.body.rowCount, 1);
  });
});

describe('idempotency', () => {
  it('replays the first response for the same key and body, and refuses another body', async () => {
    const headers = { 'idempotency-key': 'create-once-1' };
    const first = await app.post('/api/v2/datasets', { name: 'Once', type: 'analysis' }, { headers });
    assert.equal(first.status, 201);
    const again = await app.post('/api/v2/datasets', { name: 'Once', type: 'analysis' }, { headers });
    assert.equal(again.status, 201);
    assert.equal(again.body.datasetId, first.body.datasetId);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    const listed = (await app.get('/api/v2/datasets?limit=100')).body.datasets.filter((d: any) => d.name === 'Once');
    assert.equal(listed.length, 1, 'the replay created nothing');
    expectError(await app.post('/api/v2/datasets', { name: 'Twice', type: 'analysis' }, { headers }), 409, 'IDEMPOTENCY_KEY_CONFLICT');
    const failed = await app.post('/api/v2/datasets', { name: 'Bad' }, { headers: { 'idempotency-key': 'bad-1' } });
    expectError(failed, 400, 'INVALID_PARAMETERS');
    const failedAgain = await app.post('/api/v2/datasets', { name: 'Bad' }, { headers: { 'idempotency-key': 'bad-1' } });
    assert.equal(failedAgain.headers.get('idempotent-replayed'), 'true', 'client errors are replayed too');
  });

  it('binds a key to its method and path: the same key and body elsewhere is a conflict, not a replay', async () => {
    const headers = { 'idempotency-key': 'bound-1' };
    const body = { name: 'Bound' };
    const created = await app.post('/api/v2/datasets', { ...body, type: 'analysis' }, { headers: { 'idempotency-key': 'bound-0' } });
    assert.equal(created.status, 201);
    const id = created.body.datasetId as string;
    const renamed = await app.patch(`/api/v2/datasets/${id}`, body, { headers });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    // Another path, same method and body.
    const other = (await app.post('/api/v2/datasets', { name: 'Other', type: 'analysis' })).body.datasetId as string;
    expectError(await app.patch(`/api/v2/datasets/${other}`, body, { headers }), 409, 'IDEMPOTENCY_KEY_CONFLICT');
    // Same path and body, another method.
    expectError(await app.put(`/api/v2/datasets/${id}`, body, { headers }), 409, 'IDEMPOTENCY_KEY_CONFLICT');
    assert.equal((await app.get(`/api/v2/datasets/${other}`)).body.name, 'Other', 'the other dataset was not renamed');
    assert.equal((await app.patch(`/api/v2/datasets/${id}`, body, { headers })).headers.get('idempotent-replayed'), 'true');
  });

  it('keeps each API key\'s idempotency keys apart, and only on POST, PUT and PATCH', async () => {
    const writer = (await app.post('/api/v2/keys', { name: 'idem-writer', scopes: ['write'] })).body.key as string;
    const headers = { 'idempotency-key': 'shared-name' };
    const mine = await app.post('/api/v2/datasets', { name: 'Mine', type: 'analysis' }, { headers });
    const theirs = await app.post('/api/v2/datasets', { name: 'Mine', type: 'analysis' }, { headers, key: writer });
    assert.equal(theirs.status, 201);
    assert.notEqual(theirs.body.datasetId, mine.body.datasetId, 'another API key\'s request is its own');
    assert.equal(theirs.headers.get('idempotent-replayed'), null);
    const del = await app.del(`/api/v2/datasets/${theirs.body.datasetId}`, undefined, { headers, key: writer });
    assert.equal(del.status, 200, 'DELETE ignores the header');
    expectError(await app.post('/api/v2/datasets', { name: 'Long', type: 'analysis' }, { headers: { 'idempotency-key': 'k'.repeat(256) } }), 400, 'INVALID_PARAMETERS');
    assert.equal((await app.post('/api/v2/datasets', { name: 'Max', type: 'analysis' }, { headers: { 'idempotency-key': 'k'.repeat(255) } })).status, 201);
  });
});

describe('instance and workspace admins (issue 11 item 8)', () => {
  it('only instance admin keys create workspaces; a workspace admin manages its own workspace only', async () => {
    const ws = (await app.post('/api/v2/workspaces', { name: 'tenant' })).body;
    assert.ok(ws.key, 'the bootstrap key (CELLWISE_ADMIN_KEY) is an instance admin');
    expectError(await app.post('/api/v2/workspaces', { name: 'escalation' }, { key: ws.key }), 403, 'ACCESS_DENIED');
    expectError(await app.post('/api/v2/keys', { name: 'climb', scopes: ['instance'] }, { key: ws.key }), 403, 'ACCESS_DENIED');
    const own = await app.post('/api/v2/keys', { name: 'tenant reader', scopes: ['read'] }, { key: ws.key });
    assert.equal(own.status, 201, 'a workspace admin still manages its workspace');
    const localAdmin = (await app.post('/api/v2/keys', { name: 'local admin', scopes: ['admin'] })).body.key;
    expectError(await app.post('/api/v2/workspaces', { name: 'nope' }, { key: localAdmin }), 403, 'ACCESS_DENIED');
    const granted = (await app.post('/api/v2/keys', { name: 'second operator', scopes: ['instance'] })).body;
    assert.deepEqual(granted.scopes, ['instance']);
    assert.equal((await app.post('/api/v2/workspaces', { name: 'by the granted key' }, { key: granted.key })).status, 201);
  });
});
