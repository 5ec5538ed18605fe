import type { Db } from './store.ts';
import { toNumber } from './store.ts';

export type DatasourceRecord = {
  id: string;
  workspaceId: string;
  fileName: string;
  contentType: string;
  format: string;
  kind: 'tabular' | 'document';
  fileSize: number;
  blobKey: string;
  status: 'processing' | 'completed' | 'failed';
  error: string | null;
  /** tabular: { columns, rowCount }; documents: { pages } once extracted. */
  info: Record<string, unknown>;
  uploadedAt: string;
  processedAt: string | null;
};

type Row = { id: string; workspace_id: string; file_name: string; content_type: string; format: string; kind: string; file_size: number; blob_key: string; status: string; error: string | null; info: string; uploaded_at: string; processed_at: string | null };
const toRecord = (r: Row): DatasourceRecord => ({
  id: r.id,
  workspaceId: r.workspace_id,
  fileName: r.file_name,
  contentType: r.content_type,
  format: r.format,
  kind: r.kind as DatasourceRecord['kind'],
  fileSize: toNumber(r.file_size),
  blobKey: r.blob_key,
  status: r.status as DatasourceRecord['status'],
  error: r.error,
  info: JSON.parse(r.info) as Record<string, unknown>,
  uploadedAt: r.uploaded_at,
  processedAt: r.processed_at,
});

export async function insertDatasource(db: Db, d: DatasourceRecord): Promise<void> {
  await db
    .insertInto('datasources')
    .values({ id: d.id, workspace_id: d.workspaceId, file_name: d.fileName, content_type: d.contentType, format: d.format, kind: d.kind, file_size: d.fileSize, blob_key: d.blobKey, status: d.status, error: d.error, info: JSON.stringify(d.info), uploaded_at: d.uploadedAt, processed_at: d.processedAt })
    .execute();
}

export async function findDatasource(db: Db, workspaceId: string, id: string): Promise<DatasourceRecord | undefined> {
  const row = await db.selectFrom('datasources').selectAll().where('id', '=', id).where('workspace_id', '=', workspaceId).executeTakeFirst();
  return row && toRecord(row);
}

export async function listDatasources(db: Db, workspaceId: string, f: { status?: string | undefined; contentType?: string | undefined; offset: number; limit: number }): Promise<{ items: DatasourceRecord[]; total: number }> {
  let q = db.selectFrom('datasources').where('workspace_id', '=', workspaceId);
  if (f.status) q = q.where('status', '=', f.status);
  if (f.contentType) q = q.where('content_type', '=', f.contentType);
  const [rows, count] = await Promise.all([
    q.selectAll().orderBy('uploaded_at', 'desc').orderBy('id', 'desc').offset(f.offset).limit(f.limit).execute(),
    q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(toRecord), total: toNumber(count.n) };
}

export async function updateDatasource(db: Db, id: string, patch: { status: DatasourceRecord['status']; error: string | null; info: Record<string, unknown>; processedAt: string }): Promise<void> {
  await db.updateTable('datasources').set({ status: patch.status, error: patch.error, info: JSON.stringify(patch.info), processed_at: patch.processedAt }).where('id', '=', id).execute();
}

export async function deleteDatasource(db: Db, id: string): Promise<void> {
  await db.deleteFrom('datasources').where('id', '=', id).execute();
}

/** By id alone: only for requests already authorised by a signed link. */
export async function findDatasourceById(db: Db, id: string): Promise<DatasourceRecord | undefined> {
  const row = await db.selectFrom('datasources').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toRecord(row);
}

/**
 * Tables whose import into a dataset a stopped server left unfinished (the import is one
 * transaction, so no dataset came of them): `failed` with the reason. Returns how many.
 */
export async function failInterruptedImports(db: Db, uploadedBefore: string, failure: { error: string; info: Record<string, unknown>; processedAt: string }): Promise<number> {
  const result = await db
    .updateTable('datasources')
    .set({ status: 'failed', error: failure.error, info: JSON.stringify(failure.info), processed_at: failure.processedAt })
    .where('status', '=', 'processing')
    .where('kind', '=', 'tabular')
    .where('uploaded_at', '<', uploadedBefore)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
