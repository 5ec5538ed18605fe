import type { Estimate } from '../../engine/estimate.ts';
import type { EventBus } from '../../events.ts';
import { ApiError, InvalidParametersError, NotFoundError } from '../../http/errors.ts';
import { newId, parseCellId } from '../../ids.ts';
import { listColumns, type ColumnRecord } from '../../store/columns.ts';
import { setDatasetTaskState, type DatasetRecord } from '../../store/datasets.ts';
import { findRows } from '../../store/rows.ts';
import { now, type Db, type Store } from '../../store/store.ts';
import * as tasksDb from '../../store/tasks.ts';
import { findWebhook } from '../../store/webhooks.ts';
import type { DatasetAccess } from '../datasets/dataset-access.ts';
import type { Auth } from '../keys/keys.service.ts';
import type { BulkTaskInput, NewRowsInput, Task } from './tasks.schema.ts';
import { ROWS_PER_BATCH } from '../../engine/new-rows.ts';
import { stages, withRowDependencies } from '../../engine/dependencies.ts';
import { addRowsForLinkedDatasources } from '../datasets/extraction-rows.ts';
import type { Logger } from '../../logger.ts';
import { currentRequestId } from '../../request-context.ts';

/** The id of the request creating a task, kept in its params: the task's log lines in any process name it. */
function requestParam(): { requestId?: string } {
  const requestId = currentRequestId();
  return requestId ? { requestId } : {};
}

/** What the service needs from the engine: a nudge when work is queued, an abort when it is cancelled. */
export type EngineControl = { wake(): void; abortTask(taskId: string): void };

const ACTIVE = new Set(['queued', 'processing']);

/**
 * Tasks over a dataset: bulk creation (targets resolved to items in the same transaction that
 * locks the dataset), reads with live progress, and cancel. The engine does the work.
 */
type TaskServiceDeps = {
  store: Store;
  access: DatasetAccess;
  engine: EngineControl;
  events: EventBus;
  live: EventBus;
  /** Task start and cancel lines (the engine logs the end). */
  logger?: Logger;
  estimate: (ctx: { workspaceId: string; dataset: DatasetRecord; columns: ColumnRecord[] }, items: { rowId: string; columnId: string }[]) => Promise<Estimate>;
};

export function createTaskService({ store, access, engine, events, live, estimate, logger }: TaskServiceDeps) {
  async function view(db: Db, t: tasksDb.TaskRecord): Promise<Task> {
    let { progress, usage } = t;
    if (ACTIVE.has(t.status)) ({ progress, usage } = await tasksDb.aggregateItems(db, t.id));
    // new-rows: how many rows were asked for and how many were really added.
    const rows = t.type === 'new-rows' && typeof t.params.rowCount === 'number' ? { requested: t.params.rowCount, added: t.rowsAdded ?? 0 } : {};
    return { taskId: t.id, datasetId: t.datasetId, type: t.type, status: t.status, progress, usage, createdAt: t.createdAt, startedAt: t.startedAt, completedAt: t.completedAt, error: t.error, ...rows };
  }

  /** Cancels the dataset's active task inside the caller's transaction and unlocks the dataset. */
  async function cancelActive(db: Db, dataset: DatasetRecord): Promise<void> {
    const at = now();
    if (dataset.activeTaskId) {
      await tasksDb.cancelTask(db, dataset.activeTaskId, at);
      engine.abortTask(dataset.activeTaskId);
    }
    await setDatasetTaskState(db, dataset.id, { status: 'completed', activeTaskId: null, updatedAt: at });
  }

  /** Publishes a just-created task: live progress, and completion at once when it had nothing to do. */
  async function announce(auth: Auth, task: tasksDb.TaskRecord, webhookId: string | undefined): Promise<Task> {
    const out = await view(store.db, task);
    logger?.info('task started', { taskId: task.id, datasetId: task.datasetId, type: task.type, status: out.status, progress: out.progress });
    live.emit({ type: 'task', workspaceId: auth.workspaceId, data: { datasetId: task.datasetId, taskId: task.id, status: out.status, progress: out.progress } });
    if (out.status === 'completed') events.emit({ type: 'dataset.task.completed', workspaceId: auth.workspaceId, data: { datasetId: task.datasetId, taskId: task.id, status: out.status, progress: out.progress, usage: out.usage, error: null, ...(webhookId ? { webhookId } : {}) } });
    else engine.wake();
    return out;
  }

  return {
    cancelActive,

    async createBulk(auth: Auth, datasetId: string, input: BulkTaskInput): Promise<Task> {
      if (input.cellIds && (input.rowIds || input.columnIds)) throw new InvalidParametersError([{ path: 'cellIds', message: 'give either cellIds or rowIds/columnIds, not both' }]);
      const task = await access.mutate(auth, datasetId, async (trx, dataset) => {
        if (input.webhookId && !(await findWebhook(trx, auth.workspaceId, input.webhookId))) throw new NotFoundError('webhook', input.webhookId);
        const columns = await listColumns(trx, dataset.id);
        const id = newId('task');
        const at = now();
        const total = await queueTask(trx, auth, dataset.id, columns, input, id, at);
        // Nothing to do: the task is complete at once and the dataset stays unlocked.
        if (total === 0) await tasksDb.finalizeTask(trx, id, at);
        return (await tasksDb.findTask(trx, dataset.id, id))!;
      });
      return announce(auth, task, input.webhookId);
    },

    /**
     * new-rows: on an analysis dataset, queues one generation item per batch of ROWS_PER_BATCH rows
     * (the engine writes them with the LLM, then processes their computed cells); on an extraction
     * dataset, adds the rows for linked datasources not yet in the table at once and queues their
     * computed cells.
     */
    async createNewRows(auth: Auth, datasetId: string, input: NewRowsInput): Promise<Task> {
      const task = await access.mutate(auth, datasetId, async (trx, dataset) => {
        if (input.webhookId && !(await findWebhook(trx, auth.workspaceId, input.webhookId))) throw new NotFoundError('webhook', input.webhookId);
        const columns = await listColumns(trx, dataset.id);
        const id = newId('task');
        const at = now();
        await tasksDb.insertTask(trx, { id, workspaceId: auth.workspaceId, datasetId: dataset.id, type: 'new-rows', status: 'queued', params: { ...input, ...requestParam() }, createdAt: at });
        if (dataset.type === 'extraction') {
          const { rowIds } = await addRowsForLinkedDatasources(trx, dataset, input.rowCount, at);
          await tasksDb.addRowsAdded(trx, id, rowIds.length);
          const total = rowIds.length ? await tasksDb.insertItems(trx, { taskId: id, datasetId: dataset.id, stages: stages(withRowDependencies(columns).filter((c) => c.taskType !== 'raw')), rowIds, onlyEmpty: false, at }) : 0;
          if (total === 0) await tasksDb.finalizeTask(trx, id, at);
        } else {
          if (!columns.some((c) => c.taskType === 'raw')) throw new InvalidParametersError([{ path: 'rowCount', message: 'the dataset has no raw columns: there is no pattern to write new rows from' }]);
          await tasksDb.insertGenerationItems(trx, id, Math.ceil(input.rowCount / ROWS_PER_BATCH), at);
        }
        return (await tasksDb.findTask(trx, dataset.id, id))!;
      });
      return announce(auth, task, input.webhookId);
    },

    /**
     * What a bulk task with this body would do, without doing it: the task and its items are
     * created exactly as for a real task inside a transaction that is then rolled back, and the
     * cells are dry-run through their executors (see engine/estimate.ts).
     */
    async estimate(auth: Auth, datasetId: string, input: BulkTaskInput) {
      if (input.cellIds && (input.rowIds || input.columnIds)) throw new InvalidParametersError([{ path: 'cellIds', message: 'give either cellIds or rowIds/columnIds, not both' }]);
      const dataset = await access.get(auth, datasetId);
      const columns = await listColumns(store.db, dataset.id);
      let items: { rowId: string; columnId: string }[] = [];
      try {
        await store.transaction(async (trx) => {
          const id = newId('task');
          await queueTask(trx, auth, dataset.id, columns, input, id, now());
          throw new Preview(await tasksDb.listItemKeys(trx, id));
        });
      } catch (err) {
        if (!(err instanceof Preview)) throw err;
        items = err.items;
      }
      return estimate({ workspaceId: auth.workspaceId, dataset, columns: withRowDependencies(columns) }, items);
    },

    async list(auth: Auth, datasetId: string, page: number, limit: number) {
      await access.get(auth, datasetId);
      const { items, total } = await tasksDb.listTasks(store.db, datasetId, (page - 1) * limit, limit);
      return { tasks: await Promise.all(items.map((t) => view(store.db, t))), total };
    },

    async get(auth: Auth, datasetId: string, taskId: string): Promise<Task> {
      await access.get(auth, datasetId);
      const task = await tasksDb.findTask(store.db, datasetId, taskId);
      if (!task) throw new NotFoundError('task', taskId);
      return view(store.db, task);
    },

    async cancel(auth: Auth, datasetId: string, taskId: string): Promise<Task> {
      const task = await store.transaction(async (trx) => {
        await store.lockDataset(trx, datasetId);
        const dataset = await access.get(auth, datasetId, trx);
        const found = await tasksDb.findTask(trx, dataset.id, taskId);
        if (!found) throw new NotFoundError('task', taskId);
        if (!ACTIVE.has(found.status)) throw new ApiError('TASK_NOT_CANCELLABLE', `Task ${taskId} is ${found.status}; only queued or processing tasks can be cancelled`, { taskId, status: found.status });
        await tasksDb.cancelTask(trx, taskId, now());
        if (dataset.activeTaskId === taskId) await setDatasetTaskState(trx, dataset.id, { status: 'completed', activeTaskId: null, updatedAt: now() });
        return (await tasksDb.findTask(trx, dataset.id, taskId))!;
      });
      engine.abortTask(taskId);
      const out = await view(store.db, task);
      logger?.info('task cancelled', { taskId, datasetId, type: task.type, progress: out.progress, usage: out.usage, startedBy: task.params.requestId ?? null });
      live.emit({ type: 'task', workspaceId: auth.workspaceId, data: { datasetId, taskId, status: out.status, progress: out.progress } });
      return out;
    },
  };
}
export type TaskService = ReturnType<typeof createTaskService>;

/**
 * The bulk targeting forms: exact cells; rows (their computed columns); columns (all rows); rows x
 * columns; or nothing (every computed column). Unknown ids are the matching NOT_FOUND with the ids
 * in details; a raw column is not computable, so targeting one is INVALID_PARAMETERS.
 */
class Preview extends Error {
  constructor(readonly items: { rowId: string; columnId: string }[]) {
    super('preview');
  }
}

/** Records a bulk task and its items (the targeted cells go `queued`); returns the item count. */
async function queueTask(trx: Db, auth: Auth, datasetId: string, columns: ColumnRecord[], input: BulkTaskInput, id: string, at: string): Promise<number> {
  const target = await resolveTargets(trx, datasetId, withRowDependencies(columns), input);
  const params = { ...input, processOnlyEmpty: input.processOnlyEmpty ?? false, ...requestParam() };
  await tasksDb.insertTask(trx, { id, workspaceId: auth.workspaceId, datasetId, type: 'bulk', status: 'queued', params, createdAt: at });
  const noTarget = !input.cellIds && !input.rowIds && !input.columnIds;
  return tasksDb.insertItems(trx, {
    taskId: id,
    datasetId,
    stages: stages(target.columns),
    ...(input.rowIds ? { rowIds: input.rowIds } : {}),
    ...(target.cells ? { cells: target.cells } : {}),
    onlyEmpty: input.processOnlyEmpty === true,
    ...(noTarget ? { statuses: ['empty', 'stale'] } : {}),
    at,
  });
}

async function resolveTargets(db: Db, datasetId: string, columns: ColumnRecord[], input: BulkTaskInput): Promise<{ columns: ColumnRecord[]; cells?: { rowId: string; columnId: string }[] }> {
  const byId = new Map(columns.map((c) => [c.id, c]));
  const rawTargets = (cols: ColumnRecord[], path: string) => {
    const raw = cols.filter((c) => c.taskType === 'raw');
    if (raw.length) throw new InvalidParametersError([{ path, message: `raw columns are not computed: ${raw.map((c) => c.id).join(', ')}` }], { columnIds: raw.map((c) => c.id) });
  };
  if (input.cellIds) {
    const parsed = input.cellIds.map((id) => ({ id, cell: parseCellId(id) }));
    const rowIds = [...new Set(parsed.flatMap((p) => (p.cell ? [p.cell.rowId] : [])))];
    const found = new Set((await findRows(db, datasetId, rowIds)).map((r) => r.id));
    const missing = parsed.filter((p) => !p.cell || !found.has(p.cell.rowId) || !byId.has(p.cell.columnId)).map((p) => p.id);
    if (missing.length) throw new NotFoundError('cell', missing);
    const cells = [...new Map(parsed.map((p) => [p.id, p.cell!])).values()];
    const cols = [...new Set(cells.map((c) => c.columnId))].map((id) => byId.get(id)!);
    rawTargets(cols, 'cellIds');
    return { columns: cols, cells };
  }
  if (input.rowIds) {
    const found = new Set((await findRows(db, datasetId, input.rowIds)).map((r) => r.id));
    const missing = [...new Set(input.rowIds.filter((id) => !found.has(id)))];
    if (missing.length) throw new NotFoundError('row', missing);
  }
  if (input.columnIds) {
    const missing = [...new Set(input.columnIds.filter((id) => !byId.has(id)))];
    if (missing.length) throw new NotFoundError('column', missing);
    const cols = [...new Set(input.columnIds)].map((id) => byId.get(id)!);
    rawTargets(cols, 'columnIds');
    return { columns: cols };
  }
  return { columns: columns.filter((c) => c.taskType !== 'raw') };
}
