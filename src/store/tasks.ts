import type { Db } from './store.ts';

/**
 * The task records the dataset lock hangs on. The processing engine owns their life cycle;
 * the core only needs to cancel one when a dataset is force-deleted.
 */
export async function cancelTask(db: Db, taskId: string, at: string): Promise<void> {
  await db.updateTable('tasks').set({ status: 'cancelled', completed_at: at }).where('id', '=', taskId).where('status', 'in', ['queued', 'processing']).execute();
}

export type NewTask = { id: string; workspaceId: string; datasetId: string; type: 'bulk' | 'new-rows'; status: 'queued' | 'processing'; params: unknown; createdAt: string };

/** Records a task and locks its dataset (status processing), in the caller's transaction. */
export async function insertTask(db: Db, t: NewTask): Promise<void> {
  await db
    .insertInto('tasks')
    .values({
      id: t.id,
      workspace_id: t.workspaceId,
      dataset_id: t.datasetId,
      type: t.type,
      status: t.status,
      params: JSON.stringify(t.params),
      progress: JSON.stringify({ total: 0, completed: 0, failed: 0, skipped: 0 }),
      usage: JSON.stringify({ llmCalls: 0, cachedCalls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 }),
      error: null,
      created_at: t.createdAt,
      started_at: null,
      completed_at: null,
    })
    .execute();
  await db.updateTable('datasets').set({ status: 'processing', active_task_id: t.id, updated_at: t.createdAt }).where('id', '=', t.datasetId).execute();
}
