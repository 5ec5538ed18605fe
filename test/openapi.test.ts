import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from './helpers/app.ts';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.close());

describe('OpenAPI and docs', () => {
  it('documents every route of the SPEC that this server serves, from the validating schemas', async () => {
    const doc = (await app.get('/api/v2/openapi.json', { key: null })).body;
    assert.equal(doc.openapi, '3.1.0');
    const expected: [string, string][] = [
      ['get', '/api/v2/datasets'],
      ['post', '/api/v2/datasets'],
      ['post', '/api/v2/datasets/upload'],
      ['get', '/api/v2/datasets/{datasetId}'],
      ['patch', '/api/v2/datasets/{datasetId}'],
      ['delete', '/api/v2/datasets/{datasetId}'],
      ['get', '/api/v2/datasets/{datasetId}/data'],
      ['post', '/api/v2/datasets/{datasetId}/columns'],
      ['patch', '/api/v2/datasets/{datasetId}/columns/{columnId}'],
      ['delete', '/api/v2/datasets/{datasetId}/columns/{columnId}'],
      ['put', '/api/v2/datasets/{datasetId}/columns/{columnId}/task-type'],
      ['post', '/api/v2/datasets/{datasetId}/rows'],
      ['delete', '/api/v2/datasets/{datasetId}/rows'],
      ['patch', '/api/v2/datasets/{datasetId}/cells/{cellId}'],
      ['post', '/api/v2/datasets/{datasetId}/cells/{cellId}/link-datasource'],
      ['post', '/api/v2/datasets/{datasetId}/cells/{cellId}/upload-datasource'],
      ['post', '/api/v2/datasources/upload'],
      ['get', '/api/v2/datasources'],
      ['get', '/api/v2/datasources/{datasourceId}'],
      ['get', '/api/v2/datasources/{datasourceId}/data'],
      ['delete', '/api/v2/datasources/{datasourceId}'],
      ['post', '/api/v2/datasources/{datasourceId}/download'],
      ['post', '/api/v2/workspaces'],
      ['post', '/api/v2/keys'],
      ['get', '/api/v2/keys'],
      ['delete', '/api/v2/keys/{keyId}'],
      // issue 19: review and saved views
      ['post', '/api/v2/datasets/{datasetId}/cells/{cellId}/review'],
      ['post', '/api/v2/datasets/{datasetId}/review'],
      ['post', '/api/v2/datasets/{datasetId}/views'],
      ['get', '/api/v2/datasets/{datasetId}/views'],
      ['get', '/api/v2/datasets/{datasetId}/views/{viewId}'],
      ['patch', '/api/v2/datasets/{datasetId}/views/{viewId}'],
      ['delete', '/api/v2/datasets/{datasetId}/views/{viewId}'],
    ];
    for (const [method, path] of expected) assert.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} is documented`);
    const dataParams = doc.paths['/api/v2/datasets/{datasetId}/data'].get.parameters.map((p: any) => p.name).sort();
    assert.deepEqual(dataParams, ['columns', 'cursor', 'datasetId', 'filter', 'includeMetadata', 'limit', 'page', 'q', 'sort', 'viewId']);
    const limit = doc.paths['/api/v2/datasets'].get.parameters.find((p: any) => p.name === 'limit');
    assert.equal(limit.schema.maximum, 100);
    const createBody = doc.paths['/api/v2/datasets'].post.requestBody.content['application/json'].schema;
    assert.ok(createBody.$ref || createBody.properties, 'request body schema present');
    assert.ok(doc.components.schemas.Dataset && doc.components.schemas.Error && doc.components.schemas.TaskType);
    assert.deepEqual(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', description: 'An API key: Authorization: Bearer <key>' });
  });

  it('serves /docs offline with its own assets', async () => {
    const page = await fetch(`${app.baseUrl}/docs`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /swagger-ui-bundle\.js/);
    const asset = await fetch(`${app.baseUrl}/docs/assets/swagger-ui-bundle.js`);
    assert.equal(asset.status, 200);
    assert.ok((await asset.arrayBuffer()).byteLength > 100_000);
    assert.equal((await fetch(`${app.baseUrl}/docs/assets/..%2Fpackage.json`)).status, 404);
  });

  it('answers unknown routes with the error shape', async () => {
    const res = await app.get('/api/v2/nothing-here');
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'NOT_FOUND');
  });
});
