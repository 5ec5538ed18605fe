import type { Db, Store } from './store.ts';
import { toNumber } from './store.ts';

export type ExportFormat = 'csv' | 'json' | 'xlsx';
export type ExportRecord = {
  id: string;
  workspaceId: string;
  datasetId: string;
  format: ExportFormat;
  rowCount: number;
  fileName: string;
  contentType: string;
  sizeBytes: number;
  blobKey: string;
  includeMetadata: boolean;
  createdAt: string;
  expiresAt: string;
};

type Row = { id: string; workspace_id: string; dataset_id: string; format: string; row_count: number; file_name: string; content_type: string; size_bytes: number; blob_key: string; include_metadata: number; created_at: string; expires_at: string };
const toRecord = (r: Row): ExportRecord => ({
  id: r.id,
  workspaceId: r.workspace_id,
  datasetId: r.dataset_id,
  format: r.format as ExportFormat,
  rowCount: toNumber(r.row_count),
  fileName: r.file_name,
  contentType: r.content_type,
  // PostgreSQL returns bigint as a string.
  sizeBytes: toNumber(r.size_bytes),
  blobKey: r.blob_key,
  includeMetadata: toNumber(r.include_metadata) === 1,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});

export async function insertExport(db: Db, e: ExportRecord): Promise<void> {
  await db
    .insertInto('exports')
    .values({ id: e.id, workspace_id: e.workspaceId, dataset_id: e.datasetId, format: e.format, row_count: e.rowCount, file_name: e.fileName, content_type: e.contentType, size_bytes: e.sizeBytes, blob_key: e.blobKey, include_metadata: e.includeMetadata ? 1 : 0, created_at: e.createdAt, expires_at: e.expiresAt })
    .execute();
}

/** By id alone: only for requests already authorised by a signed link. */
export async function findExportById(db: Db, id: string): Promise<ExportRecord | undefined> {
  const row = await db.selectFrom('exports').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toRecord(row);
}

/** Exports whose link expired before `at`, oldest first, at most `limit` (the sweep works in batches). */
export async function listExpiredExports(db: Db, at: string, limit: number): Promise<{ id: string; blobKey: string }[]> {
  const rows = await db.selectFrom('exports').select(['id', 'blob_key']).where('expires_at', '<', at).orderBy('expires_at').limit(limit).execute();
  return rows.map((r) => ({ id: r.id, blobKey: r.blob_key }));
}

/** The files of a dataset's exports, read before the dataset (and its export rows) go. */
export async function exportBlobKeysOfDataset(db: Db, datasetId: string): Promise<string[]> {
  return (await db.selectFrom('exports').select('blob_key').where('dataset_id', '=', datasetId).execute()).map((r) => r.blob_key);
}

export async function deleteExports(db: Db, ids: readonly string[]): Promise<void> {
  if (ids.length) await db.deleteFrom('exports').where('id', 'in', ids).execute();
}

export async function datasetExists(db: Db, datasetId: string): Promise<boolean> {
  return (await db.selectFrom('datasets').select('id').where('id', '=', datasetId).executeTakeFirst()) !== undefined;
}

/**
 * Runs a long read (an export of up to 100,000 rows, page by page) on one consistent snapshot
 * where the backend gives one without blocking writers. PostgreSQL: a read-only REPEATABLE READ
 * transaction, so a row deletion that renumbers positions mid-export cannot duplicate or skip rows.
 * SQLite: the plain connection, because this process has one connection and a transaction would
 * stall every other request for the whole export; pages are then read as of their own moment.
 */
export async function withReadSnapshot<T>(store: Store, fn: (db: Db) => Promise<T>): Promise<T> {
  if (store.dialect !== 'postgres') return fn(store.db);
  return store.db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(fn);
}
