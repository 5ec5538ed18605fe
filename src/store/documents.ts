import type { DatasourceRecord } from './datasources.ts';
import { findDatasourceById } from './datasources.ts';
import type { Db, Store } from './store.ts';
import { toNumber } from './store.ts';

/** Where a page's text came from: the PDF's text layer (or the file's own text), OCR, or nothing usable. */
export type PageMethod = 'text' | 'ocr' | 'none';
export type DocumentPage = { page: number; text: string; method: PageMethod; ocrText?: string | null };

/** Rows per multi-row INSERT of pages: 4 parameters each, well under SQLite's limit. */
const PAGE_BATCH = 500;

/**
 * Records a finished extraction in one transaction: the datasource's status and info, and its pages
 * (replacing any from an earlier, interrupted run). Returns false, writing nothing, when the
 * datasource was deleted meanwhile or is no longer `processing` (another process finished it).
 */
export async function finishExtraction(store: Store, id: string, result: { status: 'completed' | 'failed'; error: string | null; info: Record<string, unknown>; processedAt: string; pages: readonly DocumentPage[] }): Promise<boolean> {
  return store.transaction(async (trx) => {
    const updated = await trx
      .updateTable('datasources')
      .set({ status: result.status, error: result.error, info: JSON.stringify(result.info), processed_at: result.processedAt })
      .where('id', '=', id)
      .where('status', '=', 'processing')
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) return false;
    await trx.deleteFrom('document_pages').where('datasource_id', '=', id).execute();
    for (let i = 0; i < result.pages.length; i += PAGE_BATCH) {
      const chunk = result.pages.slice(i, i + PAGE_BATCH);
      await trx
        .insertInto('document_pages')
        .values(chunk.map((p) => ({ datasource_id: id, page: p.page, text: p.text, method: p.method, ocr_text: p.ocrText ?? null })))
        .execute();
    }
    return true;
  });
}

/** Pages [from, to] (1-based, inclusive) of a document, in order; `ocr_text` only when asked for. */
export async function readPages(db: Db, datasourceId: string, range: { from?: number; to?: number } = {}): Promise<DocumentPage[]> {
  let q = db.selectFrom('document_pages').select(['page', 'text', 'method', 'ocr_text']).where('datasource_id', '=', datasourceId);
  if (range.from !== undefined) q = q.where('page', '>=', range.from);
  if (range.to !== undefined) q = q.where('page', '<=', range.to);
  const rows = await q.orderBy('page').execute();
  return rows.map((r) => ({ page: toNumber(r.page), text: r.text, method: r.method as PageMethod, ocrText: r.ocr_text }));
}

/** Stores an on-demand OCR pass (for `ocr: always`) beside the pages' text. */
export async function writeOcrText(store: Store, datasourceId: string, pages: readonly { page: number; text: string }[]): Promise<void> {
  await store.transaction(async (trx) => {
    for (const p of pages) await trx.updateTable('document_pages').set({ ocr_text: p.text }).where('datasource_id', '=', datasourceId).where('page', '=', p.page).execute();
  });
}

/** Documents whose extraction had not finished when the process stopped. */
export async function documentsInProcessing(db: Db): Promise<DatasourceRecord[]> {
  const rows = await db.selectFrom('datasources').select('id').where('status', '=', 'processing').where('kind', '=', 'document').orderBy('uploaded_at').execute();
  const out: DatasourceRecord[] = [];
  for (const r of rows) {
    const d = await findDatasourceById(db, r.id);
    if (d) out.push(d);
  }
  return out;
}

/** Remembers that datasources were linked into a dataset (no-op for pairs already known). */
export async function recordDatasetLinks(db: Db, datasetId: string, datasourceIds: readonly string[], at: string): Promise<void> {
  const unique = [...new Set(datasourceIds)];
  for (let i = 0; i < unique.length; i += PAGE_BATCH) {
    const chunk = unique.slice(i, i + PAGE_BATCH);
    await db
      .insertInto('dataset_datasources')
      .values(chunk.map((datasourceId) => ({ dataset_id: datasetId, datasource_id: datasourceId, linked_at: at })))
      .onConflict((oc) => oc.columns(['dataset_id', 'datasource_id']).doNothing())
      .execute();
  }
}

/**
 * Datasources linked into the dataset that no cell of it links now (their row was deleted, or the
 * cell was relinked or edited), oldest link first, at most `limit`.
 */
export async function linkedDatasourcesWithoutRow(db: Db, datasetId: string, limit: number): Promise<DatasourceRecord[]> {
  const rows = await db
    .selectFrom('dataset_datasources as l')
    .select('l.datasource_id')
    .where('l.dataset_id', '=', datasetId)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('cell_meta')
            .innerJoin('dataset_rows', 'dataset_rows.id', 'cell_meta.row_id')
            .select('cell_meta.row_id')
            .whereRef('cell_meta.datasource_id', '=', 'l.datasource_id')
            .where('dataset_rows.dataset_id', '=', datasetId),
        ),
      ),
    )
    .orderBy('l.linked_at')
    .orderBy('l.datasource_id')
    .limit(limit)
    .execute();
  const out: DatasourceRecord[] = [];
  for (const r of rows) {
    const d = await findDatasourceById(db, r.datasource_id);
    if (d) out.push(d);
  }
  return out;
}
