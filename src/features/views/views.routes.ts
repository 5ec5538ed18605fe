import { createRoute, z } from '@hono/zod-openapi';
import { ERROR_RESPONSES, json, jsonBody, pagination } from '../../http/common.schema.ts';
import type { App } from '../../http/env.ts';
import { IdParam } from '../datasets/datasets.schema.ts';
import type { ViewService } from './views.service.ts';
import { CreateViewInput, ListViewsQuery, UpdateViewInput, View, ViewList, ViewParams } from './views.schema.ts';

const tags = ['Views'];
const USE =
  'A view is used with `viewId` on GET /data and on export: its filter, sort, q and columns apply, and a parameter given explicitly with `viewId` replaces the view\'s part (filter, sort, q, columns / columnIds). A view naming a column deleted since answers VIEW_OUTDATED (409) until it is updated.';

export function registerViewRoutes(app: App, views: ViewService) {
  // ViewFilter, which the bodies refer to, is registered once, with the export route.
  app.openapi(
    createRoute({ operationId: 'createView', method: 'post', path: '/api/v2/datasets/{datasetId}/views', tags, summary: 'Save a view (filter, sort, search, columns)', description: `The query is checked against the dataset's columns (INVALID_PARAMETERS naming each bad path). ${USE}`, request: { params: IdParam, body: jsonBody(CreateViewInput) }, responses: { 201: json(View, 'The view'), ...ERROR_RESPONSES } }),
    async (c) => c.json(await views.create(c.get('auth'), c.req.valid('param').datasetId, c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({ operationId: 'listViews', method: 'get', path: '/api/v2/datasets/{datasetId}/views', tags, summary: 'List the saved views of a dataset', request: { params: IdParam, query: ListViewsQuery }, responses: { 200: json(ViewList, 'A page of views, oldest first'), ...ERROR_RESPONSES } }),
    async (c) => {
      const q = c.req.valid('query');
      const { views: items, total } = await views.list(c.get('auth'), c.req.valid('param').datasetId, q.page, q.limit);
      return c.json({ views: items, pagination: pagination(q.page, q.limit, total) }, 200);
    },
  );
  app.openapi(
    createRoute({ operationId: 'getView', method: 'get', path: '/api/v2/datasets/{datasetId}/views/{viewId}', tags, summary: 'Get a saved view', description: USE, request: { params: ViewParams }, responses: { 200: json(View, 'The view'), ...ERROR_RESPONSES } }),
    async (c) => {
      const { datasetId, viewId } = c.req.valid('param');
      return c.json(await views.get(c.get('auth'), datasetId, viewId), 200);
    },
  );
  app.openapi(
    createRoute({ operationId: 'updateView', method: 'patch', path: '/api/v2/datasets/{datasetId}/views/{viewId}', tags, summary: 'Change a saved view', description: 'Fields given replace the view\'s; null takes filter, sort, q or columns out of the view. The result is checked as a new view is.', request: { params: ViewParams, body: jsonBody(UpdateViewInput) }, responses: { 200: json(View, 'The view'), ...ERROR_RESPONSES } }),
    async (c) => {
      const { datasetId, viewId } = c.req.valid('param');
      return c.json(await views.update(c.get('auth'), datasetId, viewId, c.req.valid('json')), 200);
    },
  );
  app.openapi(
    createRoute({ operationId: 'deleteView', method: 'delete', path: '/api/v2/datasets/{datasetId}/views/{viewId}', tags, summary: 'Delete a saved view', request: { params: ViewParams }, responses: { 200: json(z.object({ viewId: z.string(), deleted: z.literal(true) }), 'Deleted'), ...ERROR_RESPONSES } }),
    async (c) => {
      const { datasetId, viewId } = c.req.valid('param');
      return c.json(await views.remove(c.get('auth'), datasetId, viewId), 200);
    },
  );
}
