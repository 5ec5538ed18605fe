import { createRoute, z } from '@hono/zod-openapi';
import { ERROR_RESPONSES, json, jsonBody } from '../../http/common.schema.ts';
import type { App } from '../../http/env.ts';
import { Grid } from '../datasets/datasets.schema.ts';
import type { RowService } from './rows.service.ts';

const tags = ['Rows'];
const Params = z.object({ datasetId: z.string() });
export const AddRowsInput = z.strictObject({ rows: z.array(z.record(z.string(), z.unknown())).min(1).max(10_000).openapi({ description: 'each row keyed by column name or column id' }) }).openapi('AddRowsInput');
export const DeleteRowsInput = z.strictObject({ rowIds: z.array(z.string()).min(1).max(10_000) }).openapi('DeleteRowsInput');

export function registerRowRoutes(app: App, rows: RowService) {
  app.openapi(
    createRoute({ operationId: 'addRows', method: 'post', path: '/api/v2/datasets/{datasetId}/rows', tags, summary: 'Append rows', request: { params: Params, body: jsonBody(AddRowsInput) }, responses: { 201: json(Grid.extend({ rowCount: z.number().int() }), 'The new rows'), ...ERROR_RESPONSES } }),
    async (c) => c.body(await rows.add(c.get('auth'), c.req.valid('param').datasetId, c.req.valid('json').rows), 201, { 'content-type': 'application/json' }) as never,
  );
  app.openapi(
    createRoute({
      operationId: 'deleteRows',
      method: 'delete',
      path: '/api/v2/datasets/{datasetId}/rows',
      tags,
      summary: 'Delete rows',
      request: { params: Params, body: jsonBody(DeleteRowsInput) },
      responses: { 200: json(z.object({ datasetId: z.string(), deletedRowIds: z.array(z.string()), rowCount: z.number().int() }), 'Deleted'), ...ERROR_RESPONSES },
    }),
    async (c) => c.json(await rows.remove(c.get('auth'), c.req.valid('param').datasetId, c.req.valid('json').rowIds), 200),
  );
}
