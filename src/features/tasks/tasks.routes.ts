import { createRoute, z } from '@hono/zod-openapi';
import { ERROR_RESPONSES, json, jsonBody, pagination, Pagination } from '../../http/common.schema.ts';
import type { App } from '../../http/env.ts';
import { BulkTaskInput, DatasetParam, NewRowsInput, ListTasksQuery, Task, TaskParam } from './tasks.schema.ts';
import type { TaskService } from './tasks.service.ts';

const tags = ['Tasks'];

const EstimateBody = z
  .object({ cells: z.number().int(), llmCalls: z.number().int(), expectedCacheHits: z.number().int(), inputTokens: z.number().int(), outputTokens: z.number().int(), costUsd: z.number(), sampledCells: z.number().int() })
  .openapi('TaskEstimate');

export function registerTaskRoutes(app: App, tasks: TaskService) {
  app.openapi(
    createRoute({ operationId: 'estimateTask', method: 'post', path: '/api/v2/datasets/{datasetId}/tasks/estimate', tags, summary: '(cellwise) Cells, LLM calls, expected cache hits and cost of a bulk task, without running anything', request: { params: DatasetParam, body: jsonBody(BulkTaskInput) }, responses: { 200: json(EstimateBody, 'The estimate'), ...ERROR_RESPONSES } }),
    async (c) => c.json(await tasks.estimate(c.get('auth'), c.req.valid('param').datasetId, c.req.valid('json')), 200),
  );
  app.openapi(
    createRoute({ operationId: 'createBulkTask', method: 'post', path: '/api/v2/datasets/{datasetId}/tasks/bulk', tags, summary: 'Process cells: all empty computed cells, or the given cells, rows, columns or rows x columns', request: { params: DatasetParam, body: jsonBody(BulkTaskInput) }, responses: { 202: json(Task, 'The queued task'), ...ERROR_RESPONSES } }),
    async (c) => c.json(await tasks.createBulk(c.get('auth'), c.req.valid('param').datasetId, c.req.valid('json')), 202),
  );
  app.openapi(
    createRoute({ operationId: 'createNewRowsTask', method: 'post', path: '/api/v2/datasets/{datasetId}/tasks/new-rows', tags, summary: 'Add rows generated from the dataset\'s pattern (analysis: written by the LLM from the raw columns and example rows; extraction: one per linked datasource not yet in the table), then process their computed cells', request: { params: DatasetParam, body: jsonBody(NewRowsInput) }, responses: { 202: json(Task, 'The queued task'), ...ERROR_RESPONSES } }),
    async (c) => c.json(await tasks.createNewRows(c.get('auth'), c.req.valid('param').datasetId, c.req.valid('json')), 202),
  );

  app.openapi(
    createRoute({ operationId: 'listTasks', method: 'get', path: '/api/v2/datasets/{datasetId}/tasks', tags, summary: 'List the tasks of a dataset, newest first', request: { params: DatasetParam, query: ListTasksQuery }, responses: { 200: json(z.object({ tasks: z.array(Task), pagination: Pagination }), 'A page of tasks'), ...ERROR_RESPONSES } }),
    async (c) => {
      const q = c.req.valid('query');
      const { tasks: items, total } = await tasks.list(c.get('auth'), c.req.valid('param').datasetId, q.page, q.limit);
      return c.json({ tasks: items, pagination: pagination(q.page, q.limit, total) }, 200);
    },
  );

  app.openapi(
    createRoute({ operationId: 'getTask', method: 'get', path: '/api/v2/datasets/{datasetId}/tasks/{taskId}', tags, summary: 'Get a task with live progress and usage', request: { params: TaskParam }, responses: { 200: json(Task, 'The task'), ...ERROR_RESPONSES } }),
    async (c) => {
      const p = c.req.valid('param');
      return c.json(await tasks.get(c.get('auth'), p.datasetId, p.taskId), 200);
    },
  );

  const cancel = (operationId: string, method: 'post' | 'delete', path: string) =>
    app.openapi(
      createRoute({ operationId, method, path, tags, summary: 'Cancel a queued or processing task; finished cells keep their values', request: { params: TaskParam }, responses: { 200: json(Task, 'The cancelled task'), ...ERROR_RESPONSES } }),
      async (c) => {
        const p = c.req.valid('param');
        return c.json(await tasks.cancel(c.get('auth'), p.datasetId, p.taskId), 200);
      },
    );
  cancel('cancelTask', 'post', '/api/v2/datasets/{datasetId}/tasks/{taskId}/cancel');
  cancel('deleteTask', 'delete', '/api/v2/datasets/{datasetId}/tasks/{taskId}');
}
