import { NotFoundError, ProcessingInProgressError } from '../../http/errors.ts';
import { findDataset, updateDataset, type DatasetRecord } from '../../store/datasets.ts';
import { now, type Db, type Store } from '../../store/store.ts';
import type { Auth } from '../keys/keys.service.ts';

/**
 * Every route that reads or changes a dataset goes through here: the workspace check (another
 * workspace's dataset is NOT_FOUND) and, for changes, the lock (PROCESSING_IN_PROGRESS while a task
 * is queued or processing), taken inside the same transaction as the change.
 */
export function createDatasetAccess({ store }: { store: Store }) {
  return {
    async get(auth: Auth, datasetId: string, db: Db = store.db): Promise<DatasetRecord> {
      const dataset = await findDataset(db, auth.workspaceId, datasetId);
      if (!dataset) throw new NotFoundError('dataset', datasetId);
      return dataset;
    },

    async mutate<T>(auth: Auth, datasetId: string, fn: (trx: Db, dataset: DatasetRecord) => Promise<T>): Promise<T> {
      return store.transaction(async (trx) => {
        await store.lockDataset(trx, datasetId);
        const dataset = await findDataset(trx, auth.workspaceId, datasetId);
        if (!dataset) throw new NotFoundError('dataset', datasetId);
        if (dataset.activeTaskId) throw new ProcessingInProgressError(dataset.id, dataset.activeTaskId);
        const result = await fn(trx, dataset);
        await updateDataset(trx, dataset.id, { updatedAt: now() });
        return result;
      });
    },
  };
}
export type DatasetAccess = ReturnType<typeof createDatasetAccess>;
