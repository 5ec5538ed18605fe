import { z } from '@hono/zod-openapi';
import { pageQuery } from '../../http/common.schema.ts';

const MAX_IDS = 10_000;
const ids = (what: string) => z.array(z.string().min(1).max(200)).min(1, `${what} must not be empty`).max(MAX_IDS, `at most ${MAX_IDS} ${what}`).optional();

export const BulkTaskInput = z
  .strictObject({
    cellIds: ids('cellIds'),
    rowIds: ids('rowIds'),
    columnIds: ids('columnIds'),
    /** Skip cells that already have a value. Default false with targets; without targets only empty and stale cells run anyway. */
    processOnlyEmpty: z.boolean().optional(),
    webhookId: z.string().min(1).optional(),
    /** (cellwise) Stop before the task's LLM spend would exceed this; the task completes with error "budget reached". */
    maxCostUsd: z.number().positive().optional(),
  })
  .openapi('BulkTaskInput');
export type BulkTaskInput = z.infer<typeof BulkTaskInput>;

export const NewRowsInput = z
  .strictObject({
    rowCount: z.number().int().min(1).max(10_000),
    webhookId: z.string().min(1).optional(),
    /** (cellwise) Stop before the task's LLM spend would exceed this; the task completes with error "budget reached". */
    maxCostUsd: z.number().positive().optional(),
    /** (cellwise) The `provider:model` that writes the rows; default CELLWISE_MODEL. */
    model: z.string().min(3).max(200).regex(/^[a-z0-9_-]+:.+$/, 'provider:model').optional(),
  })
  .openapi('NewRowsInput');
export type NewRowsInput = z.infer<typeof NewRowsInput>;

export const Task = z
  .object({
    taskId: z.string(),
    datasetId: z.string(),
    type: z.string(),
    status: z.enum(['queued', 'processing', 'completed', 'failed', 'cancelled']),
    progress: z.object({ total: z.number().int(), completed: z.number().int(), failed: z.number().int(), skipped: z.number().int() }),
    usage: z.object({ llmCalls: z.number().int(), cachedCalls: z.number().int(), inputTokens: z.number().int(), outputTokens: z.number().int(), costUsd: z.number() }),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    completedAt: z.string().nullable(),
    error: z.string().nullable(),
    /** new-rows: the rowCount asked for. */
    requested: z.number().int().optional(),
    /** new-rows: the rows really added (fewer than requested: `error` says so). */
    added: z.number().int().optional(),
  })
  .openapi('Task');
export type Task = z.infer<typeof Task>;

export const DatasetParam = z.object({ datasetId: z.string().openapi({ param: { name: 'datasetId', in: 'path' }, example: 'ds_0123' }) });
export const TaskParam = DatasetParam.extend({ taskId: z.string().openapi({ param: { name: 'taskId', in: 'path' }, example: 'task_0123' }) });
export const ListTasksQuery = z.object(pageQuery(20, 100));
