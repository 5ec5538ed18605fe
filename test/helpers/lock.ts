import { newId } from '../../src/ids.ts';
import { now } from '../../src/store/store.ts';
import { insertTask } from '../../src/store/tasks.ts';
import type { TestApp } from './app.ts';

/** Puts a dataset under a queued task, as the engine does when a task starts. */
export async function lockWithTask(app: TestApp, datasetId: string, workspaceId?: string): Promise<string> {
  const taskId = newId('task');
  const ws = workspaceId ?? (await app.running.store.db.selectFrom('datasets').select('workspace_id').where('id', '=', datasetId).executeTakeFirstOrThrow()).workspace_id;
  await app.running.store.transaction((trx) => insertTask(trx, { id: taskId, workspaceId: ws, datasetId, type: 'bulk', status: 'queued', params: {}, createdAt: now() }));
  return taskId;
}
