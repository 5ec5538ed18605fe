import { createRoute, z } from '@hono/zod-openapi';
import { ErrorBody, ERROR_RESPONSES, json, jsonBody } from '../../http/common.schema.ts';
import type { App } from '../../http/env.ts';
import { IdParam } from '../datasets/datasets.schema.ts';
import { ExportInput, ExportResult, METADATA_LAYOUT } from './exports.schema.ts';
import type { ExportService } from './exports.service.ts';
import { ViewFilter } from '../views/query.schema.ts';

const tags = ['Exports'];
const errorBody = (description: string) => ({ description, content: { 'application/json': { schema: ErrorBody } } });

export function registerExportRoutes(app: App, exports: ExportService) {
  // The body's filter is checked by the service (features/views: messages naming the bad path);
  // the component its OpenAPI refers to is registered here.
  app.openAPIRegistry.register('ViewFilter', ViewFilter);
  app.openapi(
    createRoute({
      operationId: 'exportDataset',
      method: 'post',
      path: '/api/v2/datasets/{datasetId}/export',
      tags,
      summary: 'Export rows as CSV, JSON or XLSX behind a signed, expiring download link',
      description:
        'The file is written before the answer. `rowCount` in the answer is the number of rows written (fewer than asked near the end; a `skip` beyond the end gives a header-only file). ' +
        'PROCESSING_IN_PROGRESS while a task runs. Expired exports are deleted by a sweep every 10 minutes. ' +
        `File names are <dataset name slug>-<exportId>.<ext>. ${METADATA_LAYOUT} ` +
        'With `filter`, `sort` or `q` (as on GET /data, the filter as JSON), the file holds the matching rows in that order; `skip` and `rowCount` count matching rows.',
      request: { params: IdParam, body: jsonBody(ExportInput) },
      responses: { 201: json(ExportResult, 'The export, once its file exists'), ...ERROR_RESPONSES },
    }),
    async (c) => c.json(await exports.create(c.get('auth'), c.req.valid('param').datasetId, c.req.valid('json')), 201),
  );

  // The download itself is served by the app's generic /downloads/{kind}/{id} route; this entry
  // only documents it for exports.
  app.openAPIRegistry.registerPath(
    createRoute({
      operationId: 'downloadExport',
      method: 'get',
      path: '/downloads/exports/{exportId}',
      tags,
      summary: 'Download an export through its signed link (no API key)',
      security: [],
      request: { params: z.object({ exportId: z.string() }), query: z.object({ expires: z.string(), signature: z.string() }) },
      responses: {
        200: { description: 'The file, as an attachment' },
        403: errorBody('ACCESS_DENIED: the signature does not match'),
        404: errorBody('EXPORT_NOT_FOUND: deleted, cleaned up, or its dataset was deleted'),
        410: errorBody('LINK_EXPIRED'),
      },
    }),
  );
}
