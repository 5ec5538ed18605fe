import type { EventBus } from '../../events.ts';
import type { Download } from '../../http/app.ts';
import { NotFoundError, ProcessingInProgressError } from '../../http/errors.ts';
import type { LinkSigner } from '../../http/signed-links.ts';
import { newId } from '../../ids.ts';
import type { Logger } from '../../logger.ts';
import type { BlobStore } from '../../providers/blob/blob-store.ts';
import { listColumns } from '../../store/columns.ts';
import * as exportsDb from '../../store/exports.ts';
import { now, type Db, type Store } from '../../store/store.ts';
import type { DatasetAccess } from '../datasets/dataset-access.ts';
import type { Auth } from '../keys/keys.service.ts';
import type { ExportInput, ExportResult } from './exports.schema.ts';
import { createFormatPool, writeFormatted, type FormatPool } from './format-pool.ts';
import type { RawPage } from './page-format.ts';
import { decodedPages, PAGE_ROWS, rawPagesOf, readRawPages } from './pages.ts';
import { isViewRead, prepareViewQuery, viewRowPages } from '../views/view-rows.ts';
import { resolveView } from '../views/views.service.ts';
import type { ExportColumn } from './writers/common.ts';
import { writeXlsx } from './writers/xlsx.ts';
import { releaseMemory } from '../../memory.ts';

export const FORMATS: Record<exportsDb.ExportFormat, { ext: string; contentType: string }> = {
  csv: { ext: 'csv', contentType: 'text/csv; charset=utf-8' },
  json: { ext: 'json', contentType: 'application/json' },
  xlsx: { ext: 'xlsx', contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' },
};

/** Expired exports are removed this often (and once at start). */
export const SWEEP_INTERVAL_MS = 10 * 60 * 1000;
const SWEEP_BATCH = 500;

/** A file-name-safe form of a dataset name: ASCII letters and digits joined by dashes. */
export function slug(name: string): string {
  const s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 60)
    .replace(/^-+|-+$/g, '');
  return s || 'dataset';
}

async function* counted(pages: AsyncIterable<RawPage>, add: (n: number) => void): AsyncGenerator<RawPage> {
  for await (const page of pages) {
    add(page.rowIds.length);
    yield page;
  }
}

/**
 * `formatPool`: the threads that turn CSV and JSON pages into bytes (format-pool.ts; XLSX is
 * written on the main thread, exceljs's streaming writer being one stateful object).
 */
export function createExportService({ store, access, blobs, events, signer, logger, formatPool = createFormatPool() }: { store: Store; access: DatasetAccess; blobs: BlobStore; events: EventBus; signer: LinkSigner; logger: Logger; formatPool?: FormatPool }) {
  /** The exported columns: all in dataset order, or the requested ids in the order given. */
  async function selectColumns(datasetId: string, columnIds: readonly string[] | undefined): Promise<(ExportColumn & { position: number })[]> {
    const all = (await listColumns(store.db, datasetId)).map((c) => ({ id: c.id, name: c.name, position: c.position }));
    if (!columnIds) return all;
    const wanted = [...new Set(columnIds)];
    const byId = new Map(all.map((c) => [c.id, c]));
    const missing = wanted.filter((id) => !byId.has(id));
    if (missing.length) throw new NotFoundError('column', missing);
    return wanted.map((id) => byId.get(id)!);
  }

  /**
   * Deletes expired exports and their files; returns how many went. A file that will not delete
   * keeps its record for the next sweep. The sweep finds files through export rows only: when a
   * dataset is deleted its export rows cascade away and their files stay on disk, because the
   * BlobStore port cannot list keys (a `list(prefix)` there, or deleting the files in the dataset
   * delete, would close that gap).
   */
  async function sweep(at: string = now()): Promise<number> {
    let removed = 0;
    for (;;) {
      const batch = await exportsDb.listExpiredExports(store.db, at, SWEEP_BATCH);
      const gone: string[] = [];
      for (const e of batch) {
        try {
          await blobs.delete(e.blobKey);
          gone.push(e.id);
        } catch (err) {
          logger.warn('export file could not be deleted', { exportId: e.id, error: err instanceof Error ? err.message : String(err) });
        }
      }
      await exportsDb.deleteExports(store.db, gone);
      removed += gone.length;
      if (batch.length < SWEEP_BATCH || !gone.length) return removed;
    }
  }

  return {
    sweep,

    /**
     * Writes the file (streamed page by page from the store into the blob store) before
     * answering. Exports take the dataset lock's check but not the lock itself: holding a
     * transaction for the seconds a large file takes would stall every writer of the dataset.
     */
    async create(auth: Auth, datasetId: string, input: ExportInput): Promise<ExportResult> {
      const dataset = await access.get(auth, datasetId);
      if (dataset.activeTaskId) throw new ProcessingInProgressError(dataset.id, dataset.activeTaskId);
      // A saved view (features/views): its parts apply where the body gives none.
      const saved = input.viewId !== undefined ? await resolveView(store.db, access, auth, dataset.id, input.viewId) : undefined;
      const columns = await selectColumns(dataset.id, input.columnIds ?? saved?.columns);
      const view = { filter: input.filter ?? saved?.filter, sort: input.sort ?? saved?.sort, q: input.q ?? saved?.q };
      // A filter, sort or q: checked and its columns indexed before the read snapshot starts.
      const prepared = isViewRead(view) ? await prepareViewQuery(store.db, dataset.id, await listColumns(store.db, dataset.id), view) : undefined;
      const format = FORMATS[input.format];
      const id = newId('export');
      const blobKey = `exports/${auth.workspaceId}/${id}.${format.ext}`;
      let rowCount = 0;
      const sizeBytes = await exportsDb.withReadSnapshot(store, (db) => {
        const range = { start: input.skip, end: input.skip + input.rowCount };
        const metadata = { metadata: input.includeMetadata };
        const raw = prepared ? rawPagesOf(db, columns, viewRowPages(db, prepared, { skip: input.skip, count: input.rowCount }, PAGE_ROWS), metadata) : readRawPages(db, dataset.id, columns, range, metadata);
        const pages = counted(raw, (n) => (rowCount += n));
        const options = { columns, includeMetadata: input.includeMetadata };
        return blobs.put(blobKey, input.format === 'xlsx' ? writeXlsx(decodedPages(pages, columns), options) : writeFormatted(formatPool, input.format, pages, columns, options));
      });
      // An export of a large dataset leaves its pages' garbage behind: give the memory back.
      releaseMemory();
      // The link's lifetime starts once the file exists; the record expires with it.
      const link = signer.sign('exports', id, input.expiresIn);
      const record: exportsDb.ExportRecord = { id, workspaceId: auth.workspaceId, datasetId: dataset.id, format: input.format, rowCount, fileName: `${slug(dataset.name)}-${id}.${format.ext}`, contentType: format.contentType, sizeBytes, blobKey, includeMetadata: input.includeMetadata, createdAt: now(), expiresAt: link.expiresAt };
      try {
        await exportsDb.insertExport(store.db, record);
      } catch (err) {
        await blobs.delete(blobKey).catch(() => {});
        // The dataset was deleted while its file was being written.
        if (!(await exportsDb.datasetExists(store.db, dataset.id))) throw new NotFoundError('dataset', dataset.id);
        throw err;
      }
      const result = { exportId: id, format: input.format, rowCount, fileName: record.fileName, sizeBytes, downloadUrl: link.downloadUrl, expiresAt: link.expiresAt };
      events.emit({ type: 'dataset.exported', workspaceId: auth.workspaceId, data: { datasetId: dataset.id, ...result } });
      return result;
    },

    /** The file behind a signed link (the link was verified by the caller). */
    async openFile(id: string): Promise<Download> {
      const record = await exportsDb.findExportById(store.db, id);
      if (!record) throw new NotFoundError('export', id);
      const stream = await blobs.read(record.blobKey).catch(() => {
        throw new NotFoundError('export', id);
      });
      return { stream, fileName: record.fileName, contentType: record.contentType, size: record.sizeBytes };
    },

    /** Sweeps now and every `intervalMs`; the returned stop waits for a sweep in progress, so shutdown never races the store closing. */
    startCleanup(intervalMs: number = SWEEP_INTERVAL_MS): () => Promise<void> {
      let inFlight: Promise<void> | null = null;
      const run = () => {
        inFlight ??= sweep()
          .then((count) => {
            if (count) logger.info('expired exports removed', { count });
          })
          .catch((err: unknown) => logger.error('export cleanup failed', { error: err instanceof Error ? err.message : String(err) }))
          .finally(() => (inFlight = null));
      };
      run();
      const timer = setInterval(run, intervalMs);
      // A sweep must never keep the process (or a test run) alive.
      timer.unref();
      return async () => {
        clearInterval(timer);
        await inFlight;
      };
    },
    /**
     * For dataset deletion: inside its transaction, note the dataset's export files; after the
     * commit, delete them (the rows cascade with the dataset, the files would otherwise be orphans).
     */
    async filesToDropWith(db: Db, datasetId: string) {
      const keys = await exportsDb.exportBlobKeysOfDataset(db, datasetId);
      return async () => {
        for (const key of keys) await blobs.delete(key).catch((err: unknown) => logger.warn('export file cleanup failed', { key, error: String(err) }));
      };
    },
  };
}
export type ExportService = ReturnType<typeof createExportService>;
