import { createRoute, z } from '@hono/zod-openapi';
import { DataType } from './data-type.ts';
import { ERROR_RESPONSES, json, jsonBody } from '../../http/common.schema.ts';
import type { App } from '../../http/env.ts';
import { Column } from '../datasets/datasets.schema.ts';
import type { ColumnService } from './columns.service.ts';
import { InvalidParametersError } from '../../http/errors.ts';
import type { Auth } from '../keys/keys.service.ts';

const tags = ['Columns'];
const Params = z.object({ datasetId: z.string(), columnId: z.string() });
const metadata = z.record(z.string(), z.unknown()).openapi({ description: 'validated for the task type (see TaskType)' });

export const AddColumnInput = z.strictObject({ name: z.string().max(200), taskType: z.string().default('raw'), metadata: metadata.optional(), position: z.number().int().min(0).optional() }).openapi('AddColumnInput');
export const UpdateColumnInput = z
  .strictObject({
    name: z.string().max(200).optional(),
    metadata: z.record(z.string(), z.unknown()).optional().openapi({ description: 'keys merge into the current metadata; a key set to null is removed' }),
    dataType: DataType.optional().openapi({ description: "(cellwise) converts the column's values; refused (INVALID_PARAMETERS, details.values) when some do not convert" }),
  })
  .openapi('UpdateColumnInput');
export const SetTaskTypeInput = z
  .strictObject({ taskType: z.string(), metadata: metadata.optional(), run: z.boolean().optional().openapi({ description: '(cellwise) also start a bulk task over the column; the answer then carries its taskId' }) })
  .openapi('SetTaskTypeInput');

/** Starts a bulk task over one column (the tasks feature); absent when no engine is wired. */
export type RunColumn = (auth: Auth, datasetId: string, columnId: string) => Promise<{ taskId: string }>;

export function registerColumnRoutes(app: App, columns: ColumnService, runColumn?: RunColumn) {
  app.openapi(
    createRoute({ operationId: 'addColumn', method: 'post', path: '/api/v2/datasets/{datasetId}/columns', tags, summary: 'Add a column', request: { params: z.object({ datasetId: z.string() }), body: jsonBody(AddColumnInput) }, responses: { 201: json(Column, 'The column'), ...ERROR_RESPONSES } }),
    async (c) => c.json(await columns.add(c.get('auth'), c.req.valid('param').datasetId, c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({ operationId: 'updateColumn', method: 'patch', path: '/api/v2/datasets/{datasetId}/columns/{columnId}', tags, summary: 'Update column name and metadata (task type and values stay)', request: { params: Params, body: jsonBody(UpdateColumnInput) }, responses: { 200: json(Column, 'The column'), ...ERROR_RESPONSES } }),
    async (c) => {
      const { datasetId, columnId } = c.req.valid('param');
      return c.json(await columns.update(c.get('auth'), datasetId, columnId, c.req.valid('json')), 200);
    },
  );
  app.openapi(
    createRoute({ operationId: 'setColumnTaskType', method: 'put', path: '/api/v2/datasets/{datasetId}/columns/{columnId}/task-type', tags, summary: 'Change the task type; resets every value of the column', request: { params: Params, body: jsonBody(SetTaskTypeInput) }, responses: { 200: json(Column.extend({ taskId: z.string().optional() }), 'The column'), ...ERROR_RESPONSES } }),
    async (c) => {
      const { datasetId, columnId } = c.req.valid('param');
      const { run, ...input } = c.req.valid('json');
      const column = await columns.setTaskType(c.get('auth'), datasetId, columnId, input);
      if (!run || column.taskType === 'raw') return c.json(column, 200);
      if (!runColumn) throw new InvalidParametersError([{ path: 'run', message: 'this server has no processing engine' }]);
      return c.json({ ...column, ...(await runColumn(c.get('auth'), datasetId, columnId)) }, 200);
    },
  );
  app.openapi(
    createRoute({ operationId: 'deleteColumn', method: 'delete', path: '/api/v2/datasets/{datasetId}/columns/{columnId}', tags, summary: 'Delete a column and its cells', request: { params: Params }, responses: { 200: json(z.object({ datasetId: z.string(), columnId: z.string(), deleted: z.literal(true) }), 'Deleted'), ...ERROR_RESPONSES } }),
    async (c) => {
      const { datasetId, columnId } = c.req.valid('param');
      return c.json(await columns.remove(c.get('auth'), datasetId, columnId), 200);
    },
  );
}
