import { createRoute, z } from '@hono/zod-openapi';
import { ERROR_RESPONSES, json, pageQuery, pagination, Pagination } from '../../http/common.schema.ts';
import type { App } from '../../http/env.ts';
import { registerStreamingRoute } from '../../http/streaming-route.ts';
import { datasourceView, type DatasourceService } from './datasources.service.ts';

const tags = ['Datasources'];
const Params = z.object({ datasourceId: z.string() });
export const Datasource = z
  .object({
    datasourceId: z.string(),
    fileName: z.string(),
    contentType: z.string(),
    fileSize: z.number().int(),
    status: z.enum(['processing', 'completed', 'failed']),
    error: z.string().nullable(),
    /** Failed datasources: why, as a stable code (documents: DOCUMENT_INVALID, DOCUMENT_ENCRYPTED, DOCUMENT_TOO_MANY_PAGES, DOCUMENT_TIMEOUT, ...). */
    errorCode: z.string().optional(),
    uploadedAt: z.string(),
    processedAt: z.string().nullable(),
    columns: z.array(z.string()).optional(),
    rowCount: z.number().int().optional(),
    pageCount: z.number().int().nullable().optional(),
  })
  .openapi('Datasource');
export const ListDatasourcesQuery = z.object({ ...pageQuery(20, 100), status: z.enum(['processing', 'completed', 'failed']).optional(), contentType: z.string().optional() });
export const DownloadInput = z.strictObject({ expiresIn: z.number().int().min(1).max(86_400).default(3600) }).openapi('DownloadInput');
export const SignedLink = z.object({ downloadUrl: z.string(), expiresAt: z.string() }).openapi('SignedLink');

export function registerDatasourceRoutes(app: App, datasources: DatasourceService) {
  registerStreamingRoute(
    app,
    createRoute({
      operationId: 'uploadDatasource',
      method: 'post',
      path: '/api/v2/datasources/upload',
      tags,
      summary: 'Upload a file (CSV, TSV, JSON, JSONL, XLSX, PDF, DOCX, HTML, TXT, PNG, JPEG)',
      request: { body: { required: true, content: { 'multipart/form-data': { schema: z.object({ file: z.string().openapi({ format: 'binary' }) }) } } } },
      responses: { 201: json(Datasource, 'The datasource'), 413: json(z.object({}), 'PAYLOAD_TOO_LARGE'), 415: json(z.object({}), 'UNSUPPORTED_FILE_TYPE'), ...ERROR_RESPONSES },
    }),
    async (c) => {
      const { files } = await datasources.ingestMultipart(c.get('auth'), c.req.raw, ['file'], 1);
      if (!files[0]) return c.json({ error: 'send the file as multipart field "file"', code: 'INVALID_PARAMETERS', details: { issues: [{ path: 'file', message: 'required' }] } }, 400);
      return c.json(datasourceView(files[0].result), 201);
    },
  );
  app.openapi(
    createRoute({ operationId: 'listDatasources', method: 'get', path: '/api/v2/datasources', tags, summary: 'List datasources', request: { query: ListDatasourcesQuery }, responses: { 200: json(z.object({ dataSources: z.array(Datasource), pagination: Pagination }), 'A page'), ...ERROR_RESPONSES } }),
    async (c) => {
      const q = c.req.valid('query');
      const { items, total } = await datasources.list(c.get('auth'), q);
      return c.json({ dataSources: items.map(datasourceView), pagination: pagination(q.page, q.limit, total) }, 200);
    },
  );
  app.openapi(
    createRoute({ operationId: 'getDatasource', method: 'get', path: '/api/v2/datasources/{datasourceId}', tags, summary: 'Get a datasource', request: { params: Params }, responses: { 200: json(Datasource, 'The datasource'), ...ERROR_RESPONSES } }),
    async (c) => c.json(datasourceView(await datasources.get(c.get('auth'), c.req.valid('param').datasourceId)), 200),
  );
  app.openapi(
    createRoute({
      operationId: 'getDatasourceData',
      method: 'get',
      path: '/api/v2/datasources/{datasourceId}/data',
      tags,
      summary: 'Tabular rows, or a document text per page',
      request: { params: Params, query: z.object(pageQuery(50, 1000)) },
      responses: { 200: json(z.object({ datasourceId: z.string(), kind: z.enum(['tabular', 'document']), status: z.string(), columns: z.array(z.string()).optional(), rows: z.array(z.array(z.unknown())).optional(), error: z.string().optional(), pages: z.array(z.object({ page: z.number(), text: z.string(), method: z.enum(['text', 'ocr', 'none']) })).optional(), pagination: Pagination }), 'The data'), ...ERROR_RESPONSES },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const { total, ...data } = await datasources.data(c.get('auth'), c.req.valid('param').datasourceId, q.page, q.limit);
      return c.json({ ...data, pagination: pagination(q.page, q.limit, total) }, 200);
    },
  );
  app.openapi(
    createRoute({ operationId: 'deleteDatasource', method: 'delete', path: '/api/v2/datasources/{datasourceId}', tags, summary: 'Delete a datasource that no dataset links', request: { params: Params }, responses: { 200: json(z.object({ datasourceId: z.string(), deleted: z.literal(true) }), 'Deleted'), ...ERROR_RESPONSES } }),
    async (c) => c.json(await datasources.remove(c.get('auth'), c.req.valid('param').datasourceId), 200),
  );
  app.openapi(
    createRoute({ operationId: 'createDatasourceDownloadLink', method: 'post', path: '/api/v2/datasources/{datasourceId}/download', tags, summary: 'A signed, expiring link to the original file', request: { params: Params, body: { required: false, content: { 'application/json': { schema: DownloadInput } } } }, responses: { 200: json(SignedLink, 'The link'), ...ERROR_RESPONSES } }),
    async (c) => c.json(await datasources.downloadLink(c.get('auth'), c.req.valid('param').datasourceId, c.req.valid('json').expiresIn ?? 3600), 200),
  );
}
