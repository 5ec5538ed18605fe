import { createRoute, z } from '@hono/zod-openapi';
import { ERROR_RESPONSES, json, jsonBody } from '../../http/common.schema.ts';
import type { App } from '../../http/env.ts';
import { registerStreamingRoute } from '../../http/streaming-route.ts';
import type { CellService } from './cells.service.ts';

const tags = ['Cells'];
const Params = z.object({ datasetId: z.string(), cellId: z.string() });
export const CellDetail = z
  .object({ cellId: z.string(), rowId: z.string(), columnId: z.string(), value: z.unknown(), status: z.enum(['empty', 'done']), metadata: z.record(z.string(), z.unknown()) })
  .openapi('CellDetail');
export const UpdateCellInput = z.strictObject({ value: z.unknown().refine((v) => v !== undefined, 'value is required').openapi({ description: 'any JSON value; null empties the cell' }) }).openapi('UpdateCellInput');
export const LinkDatasourceInput = z.strictObject({ datasourceId: z.string().min(1) }).openapi('LinkDatasourceInput');

export function registerCellRoutes(app: App, cells: CellService) {
  app.openapi(
    createRoute({ operationId: 'updateCell', method: 'patch', path: '/api/v2/datasets/{datasetId}/cells/{cellId}', tags, summary: 'Update a cell value (metadata is reset)', request: { params: Params, body: jsonBody(UpdateCellInput) }, responses: { 200: json(CellDetail, 'The cell'), ...ERROR_RESPONSES } }),
    async (c) => {
      const { datasetId, cellId } = c.req.valid('param');
      return c.json(await cells.update(c.get('auth'), datasetId, cellId, c.req.valid('json').value ?? null), 200);
    },
  );
  app.openapi(
    createRoute({ operationId: 'linkCellDatasource', method: 'post', path: '/api/v2/datasets/{datasetId}/cells/{cellId}/link-datasource', tags, summary: 'Link a datasource to a raw cell of an extraction dataset', request: { params: Params, body: jsonBody(LinkDatasourceInput) }, responses: { 200: json(CellDetail, 'The cell'), ...ERROR_RESPONSES } }),
    async (c) => {
      const { datasetId, cellId } = c.req.valid('param');
      return c.json(await cells.link(c.get('auth'), datasetId, cellId, c.req.valid('json').datasourceId), 200);
    },
  );
  registerStreamingRoute(
    app,
    createRoute({
      operationId: 'uploadCellDatasource',
      method: 'post',
      path: '/api/v2/datasets/{datasetId}/cells/{cellId}/upload-datasource',
      tags,
      summary: 'Upload a file and link it to a raw cell',
      request: { params: Params, body: { required: true, content: { 'multipart/form-data': { schema: z.object({ file: z.string().openapi({ format: 'binary' }) }) } } } },
      responses: { 200: json(CellDetail, 'The cell'), ...ERROR_RESPONSES },
    }),
    async (c) => {
      return c.json(await cells.upload(c.get('auth'), c.req.param('datasetId')!, c.req.param('cellId')!, c.req.raw), 200);
    },
  );
}
