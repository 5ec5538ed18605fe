import { createRoute, z } from '@hono/zod-openapi';
import { ERROR_RESPONSES, json, jsonBody, pagination, Pagination } from '../../http/common.schema.ts';
import type { App } from '../../http/env.ts';
import { registerStreamingRoute } from '../../http/streaming-route.ts';
import type { DatasetService } from './datasets.service.ts';
import { CreateDatasetInput, Dataset, DatasetData, DatasetDataQuery, DatasetDetail, DeleteDatasetQuery, IdParam, ListDatasetsQuery, UpdateDatasetInput } from './datasets.schema.ts';

const tags = ['Datasets'];

export function registerDatasetRoutes(app: App, datasets: DatasetService) {
  app.openapi(
    createRoute({ operationId: 'listDatasets', method: 'get', path: '/api/v2/datasets', tags, summary: 'List datasets', request: { query: ListDatasetsQuery }, responses: { 200: json(z.object({ datasets: z.array(Dataset), pagination: Pagination }), 'A page of datasets'), ...ERROR_RESPONSES } }),
    async (c) => {
      const q = c.req.valid('query');
      const { datasets: items, total } = await datasets.list(c.get('auth'), q);
      return c.json({ datasets: items, pagination: pagination(q.page, q.limit, total) }, 200);
    },
  );

  app.openapi(
    createRoute({ operationId: 'createDataset', method: 'post', path: '/api/v2/datasets', tags, summary: 'Create a dataset from JSON rows or a tabular datasource', request: { body: jsonBody(CreateDatasetInput) }, responses: { 201: json(DatasetDetail, 'The new dataset'), ...ERROR_RESPONSES } }),
    async (c) => c.json(await datasets.create(c.get('auth'), c.req.valid('json')), 201),
  );

  registerStreamingRoute(
    app,
    createRoute({
      operationId: 'uploadDataset',
      method: 'post',
      path: '/api/v2/datasets/upload',
      tags,
      summary: 'Create a dataset from an uploaded file (CSV, TSV, JSON, JSONL, XLSX) or from documents (files[])',
      request: {
        body: {
          required: true,
          content: {
            'multipart/form-data': {
              schema: z.object({
                name: z.string().optional(),
                type: z.string().optional(),
                description: z.string().optional(),
                file: z.string().openapi({ format: 'binary' }).optional(),
                'files[]': z.array(z.string().openapi({ format: 'binary' })).optional(),
              }),
            },
          },
        },
      },
      responses: { 201: json(DatasetDetail, 'The new dataset'), 413: json(z.object({}), 'PAYLOAD_TOO_LARGE'), 415: json(z.object({}), 'UNSUPPORTED_FILE_TYPE'), ...ERROR_RESPONSES },
    }),
    // The multipart body is streamed by the service, not parsed by the validator.
    async (c) => c.json(await datasets.upload(c.get('auth'), c.req.raw), 201),
  );

  app.openapi(
    createRoute({ operationId: 'getDataset', method: 'get', path: '/api/v2/datasets/{datasetId}', tags, summary: 'Get a dataset with its columns', request: { params: IdParam }, responses: { 200: json(DatasetDetail, 'The dataset'), ...ERROR_RESPONSES } }),
    async (c) => c.json(await datasets.detail(c.get('auth'), c.req.valid('param').datasetId), 200),
  );

  app.openapi(
    createRoute({ operationId: 'updateDataset', method: 'patch', path: '/api/v2/datasets/{datasetId}', tags, summary: 'Rename or describe a dataset', request: { params: IdParam, body: jsonBody(UpdateDatasetInput) }, responses: { 200: json(DatasetDetail, 'The dataset'), ...ERROR_RESPONSES } }),
    async (c) => c.json(await datasets.update(c.get('auth'), c.req.valid('param').datasetId, c.req.valid('json')), 200),
  );

  app.openapi(
    createRoute({
      operationId: 'deleteDataset',
      method: 'delete',
      path: '/api/v2/datasets/{datasetId}',
      tags,
      summary: 'Delete a dataset and all its data',
      request: { params: IdParam, query: DeleteDatasetQuery },
      responses: { 200: json(z.object({ datasetId: z.string(), deleted: z.literal(true) }), 'Deleted'), ...ERROR_RESPONSES },
    }),
    async (c) => c.json(await datasets.remove(c.get('auth'), c.req.valid('param').datasetId, c.req.valid('query').force), 200),
  );

  app.openapi(
    createRoute({ operationId: 'getDatasetData', method: 'get', path: '/api/v2/datasets/{datasetId}/data', tags, summary: 'A page of rows as a 2D array of cells', request: { params: IdParam, query: DatasetDataQuery }, responses: { 200: json(DatasetData, 'The page'), ...ERROR_RESPONSES } }),
    async (c) => {
      // The service renders the JSON itself (stored cell JSON spliced in); the shape is DatasetData.
      const body = await datasets.data(c.get('auth'), c.req.valid('param').datasetId, c.req.valid('query'));
      // Bytes, written by grid.ts: the adapter would encode a string with TextEncoder, at over twice the cost.
      return c.body(body, 200, { 'content-type': 'application/json' }) as never;
    },
  );
}
