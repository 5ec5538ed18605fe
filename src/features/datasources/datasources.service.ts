import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiError, InvalidParametersError, NotFoundError } from '../../http/errors.ts';
import type { LinkSigner } from '../../http/signed-links.ts';
import { readMultipart } from '../../http/multipart.ts';
import { newId } from '../../ids.ts';
import type { EventBus } from '../../events.ts';
import { BlobTooLargeError, byteCounter, type BlobStore } from '../../providers/blob/blob-store.ts';
import * as dsDb from '../../store/datasources.ts';
import { readPages } from '../../store/documents.ts';
import type { DatasourceRecord } from '../../store/datasources.ts';
import { datasetsLinkingDatasource } from '../../store/rows.ts';
import { now, type Db, type Store } from '../../store/store.ts';
import type { Auth } from '../keys/keys.service.ts';
import { sniffFile } from './sniff.ts';
import { openTabular, type Tabular, type TabularFormat } from './tabular.ts';

export const datasourceView = (d: DatasourceRecord) => ({
  datasourceId: d.id,
  fileName: d.fileName,
  contentType: d.contentType,
  fileSize: d.fileSize,
  status: d.status,
  error: d.error,
  ...(d.status === 'failed' && typeof d.info.errorCode === 'string' ? { errorCode: d.info.errorCode } : {}),
  uploadedAt: d.uploadedAt,
  processedAt: d.processedAt,
  ...(d.kind === 'tabular' ? { columns: (d.info.columns as string[] | undefined) ?? [], rowCount: (d.info.rowCount as number | undefined) ?? 0 } : { pageCount: typeof d.info.pages === 'number' ? d.info.pages : null }),
});

const MAX_FILES_PER_REQUEST = 1000;

/**
 * `onDocument` receives each newly stored document (status `processing`): the documents pipeline
 * extracts its text in the background and publishes `datasource.processed` when it is done.
 */
export function createDatasourceService({ store, blobs, events, signer, maxUploadBytes, onDocument }: { store: Store; blobs: BlobStore; events: EventBus; signer: LinkSigner; maxUploadBytes: number; onDocument: (d: DatasourceRecord) => void }) {
  /** Local copies of uploads awaiting their import, by datasource id: the folder holding `file`. */
  const localCopies = new Map<string, string>();
  async function get(auth: Auth, id: string): Promise<DatasourceRecord> {
    const d = await dsDb.findDatasource(store.db, auth.workspaceId, id);
    if (!d) throw new NotFoundError('datasource', id);
    return d;
  }

  /**
   * Stores the bytes, sniffs the real type, and for tabular files checks the whole file parses.
   * `summarize: false` skips that parse for a caller that is about to import the table anyway
   * (the datasource stays `processing` until it reports the import with `tableImported`).
   */
  async function ingest(auth: Auth, fileName: string, body: Readable, { summarize: check = true } = {}): Promise<DatasourceRecord> {
    const id = newId('datasource');
    const blobKey = `datasources/${auth.workspaceId}/${id}`;
    let fileSize: number;
    // A store that is not files (PostgreSQL, S3) gets the upload from a local copy, which the
    // sniffing, the parse check and the import read instead of fetching the file back from the
    // store once for each (1-2 s of a 100,000-row upload on PostgreSQL).
    const localDir = blobs.kind === 'local' ? undefined : await mkdtemp(path.join(os.tmpdir(), 'cellwise-upload-'));
    const local = localDir && path.join(localDir, 'file');
    const dropLocal = async () => {
      if (localDir) await rm(localDir, { recursive: true, force: true });
    };
    try {
      if (local) {
        await pipeline(body, byteCounter(maxUploadBytes), createWriteStream(local));
        fileSize = await blobs.put(blobKey, createReadStream(local), { maxBytes: maxUploadBytes });
      } else fileSize = await blobs.put(blobKey, body, { maxBytes: maxUploadBytes });
    } catch (err) {
      await dropLocal();
      if (err instanceof BlobTooLargeError) throw new ApiError('PAYLOAD_TOO_LARGE', `File ${fileName} exceeds the ${Math.round(maxUploadBytes / 1048576)} MB limit`, { fileName, maxBytes: maxUploadBytes });
      throw err;
    }
    const withFile = <T>(fn: (file: string) => Promise<T>) => (local ? fn(local) : blobs.withFile(blobKey, fn));
    let keepLocal = false;
    try {
      const sniffed = await withFile((file) => sniffFile(file, fileName));
      const record: DatasourceRecord = { id, workspaceId: auth.workspaceId, fileName, contentType: sniffed.contentType, format: sniffed.format, kind: sniffed.kind, fileSize, blobKey, status: 'completed', error: null, info: {}, uploadedAt: now(), processedAt: null };
      if (sniffed.kind === 'tabular' && !check) {
        record.status = 'processing';
        // Read again by the import that follows, which releases it (releaseLocal).
        if (localDir) localCopies.set(id, localDir);
        keepLocal = true;
      } else if (sniffed.kind === 'tabular') {
        try {
          record.info = await withFile((file) => summarize(file, sniffed.format as TabularFormat));
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          record.status = 'failed';
          record.error = err.message;
          record.info = { errorCode: err.code, errorDetails: err.details };
        }
      }
      if (sniffed.kind === 'document') {
        // Text extraction runs in the background; the document is linkable meanwhile.
        record.status = 'processing';
        await dsDb.insertDatasource(store.db, record);
        onDocument(record);
        return record;
      }
      record.processedAt = now();
      await dsDb.insertDatasource(store.db, record);
      events.emit({ type: 'datasource.processed', workspaceId: auth.workspaceId, data: datasourceView(record) });
      return record;
    } catch (err) {
      keepLocal = false;
      localCopies.delete(id);
      await blobs.delete(blobKey);
      throw err;
    } finally {
      if (!keepLocal) await dropLocal();
    }
  }

  /** The local copy an upload left for its import (see ingest), else the store's file. */
  function withLocalFile<T>(datasource: DatasourceRecord, fn: (file: string) => Promise<T>): Promise<T> {
    const dir = localCopies.get(datasource.id);
    return dir ? fn(path.join(dir, 'file')) : blobs.withFile(datasource.blobKey, fn);
  }

  async function releaseLocal(datasourceId: string): Promise<void> {
    const dir = localCopies.get(datasourceId);
    localCopies.delete(datasourceId);
    if (dir) await rm(dir, { recursive: true, force: true });
  }

  function tableOf(datasource: DatasourceRecord) {
    return <T>(fn: (t: Tabular) => Promise<T>) => withLocalFile(datasource, async (file) => fn(await openTabular(file, datasource.format as TabularFormat)));
  }

  async function summarize(path: string, format: TabularFormat) {
    const table = await openTabular(path, format);
    let rowCount = 0;
    for await (const batch of table.batches()) rowCount += batch.length;
    return { columns: table.columns, rowCount };
  }

  return {
    get,
    ingest,
    /** Drops the local copy of an upload ingested with `summarize: false`, once its import is over. */
    releaseLocal,

    /** Reads a multipart upload's file fields into datasources; on any failure none is kept. */
    async ingestMultipart(auth: Auth, request: Request, fileFields: readonly string[], maxFiles = MAX_FILES_PER_REQUEST, options: { summarize?: boolean } = {}) {
      return readMultipart(request, {
        fileFields,
        maxFiles,
        maxFileBytes: maxUploadBytes,
        onFile: (_field, fileName, stream) => ingest(auth, fileName, stream, options),
        onAbort: async (done) => {
          for (const d of done) await remove(d);
        },
      });
    },

    /**
     * At start: tables whose dataset import a stopped server left `processing` become `failed`
     * with UPLOAD_INTERRUPTED (the file is whole and stays downloadable). Only those uploaded
     * `olderThanMs` ago: on PostgreSQL another live server may still be importing a newer one.
     */
    async failInterrupted(olderThanMs: number) {
      const at = now();
      return dsDb.failInterruptedImports(store.db, new Date(Date.now() - olderThanMs).toISOString(), {
        error: 'the upload was interrupted: the server stopped before the dataset was created from this file; upload it again',
        info: { errorCode: 'UPLOAD_INTERRUPTED' },
        processedAt: at,
      });
    },

    async list(auth: Auth, q: { page: number; limit: number; status?: string | undefined; contentType?: string | undefined }) {
      return dsDb.listDatasources(store.db, auth.workspaceId, { status: q.status, contentType: q.contentType, offset: (q.page - 1) * q.limit, limit: q.limit });
    },

    /** A completed tabular datasource, opened for streaming. */
    async openTable(auth: Auth, id: string, path = 'datasourceId'): Promise<{ datasource: DatasourceRecord; withTable: <T>(fn: (t: Tabular) => Promise<T>) => Promise<T> }> {
      const datasource = await get(auth, id);
      if (datasource.kind !== 'tabular') throw new InvalidParametersError([{ path, message: `datasource ${id} is a ${datasource.format} document, not a table` }]);
      if (datasource.status !== 'completed') throw new InvalidParametersError([{ path, message: `datasource ${id} could not be parsed: ${datasource.error ?? datasource.status}` }]);
      return { datasource, withTable: tableOf(datasource) };
    },

    tableOf,

    /** Runs the parse check that `summarize: false` skipped, for a table that is not imported after all. */
    async summarizeNow(datasource: DatasourceRecord): Promise<DatasourceRecord> {
      if (datasource.kind !== 'tabular' || datasource.status !== 'processing') return datasource;
      const done = { ...datasource, status: 'completed' as const, processedAt: now() };
      try {
        done.info = await withLocalFile(datasource, (file) => summarize(file, datasource.format as TabularFormat));
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        Object.assign(done, { status: 'failed', error: err.message, info: { errorCode: err.code, errorDetails: err.details } });
      }
      await dsDb.updateDatasource(store.db, done.id, { status: done.status, error: done.error, info: done.info, processedAt: done.processedAt });
      return done;
    },

    /** Records what an import found in a datasource ingested with `summarize: false`. */
    async tableImported(db: Db, datasource: DatasourceRecord, info: { columns: string[]; rowCount: number }) {
      await dsDb.updateDatasource(db, datasource.id, { status: 'completed', error: null, info, processedAt: now() });
    },

    async data(auth: Auth, id: string, page: number, limit: number) {
      const datasource = await get(auth, id);
      if (datasource.kind === 'document') {
        // Pages are numbered 1..n without gaps, so a page of pages is a range of page numbers.
        const pages = await readPages(store.db, id, { from: (page - 1) * limit + 1, to: page * limit });
        const total = typeof datasource.info.pages === 'number' ? datasource.info.pages : 0;
        return { datasourceId: id, kind: 'document' as const, status: datasource.status, ...(datasource.error ? { error: datasource.error } : {}), pages: pages.map((p) => ({ page: p.page, text: p.text, method: p.method })), total };
      }
      if (datasource.status !== 'completed') return { datasourceId: id, kind: 'tabular' as const, status: datasource.status, columns: [], rows: [], total: 0 };
      const { withTable } = await this.openTable(auth, id);
      const start = (page - 1) * limit;
      const rows = await withTable(async (table) => {
        const out: unknown[][] = [];
        let seen = 0;
        for await (const batch of table.batches()) {
          for (const row of batch) {
            if (seen >= start && out.length < limit) out.push(row);
            seen++;
          }
          if (out.length >= limit) break;
        }
        return { columns: table.columns, rows: out };
      });
      return { datasourceId: id, kind: 'tabular' as const, status: datasource.status, ...rows, total: (datasource.info.rowCount as number) ?? 0 };
    },

    async remove(auth: Auth, id: string) {
      const d = await get(auth, id);
      const linking = await datasetsLinkingDatasource(store.db, id);
      if (linking.length) throw new InvalidParametersError([{ path: 'datasourceId', message: `datasource is linked from datasets ${linking.join(', ')}; unlink it first` }], { datasetIds: linking });
      await remove(d);
      return { datasourceId: id, deleted: true as const };
    },

    async downloadLink(auth: Auth, id: string, expiresIn: number) {
      await get(auth, id);
      return signer.sign('datasources', id, expiresIn);
    },

    /** For a verified signed link: the file, its name and type (no workspace: the link is the credential). */
    async openFile(id: string) {
      const d = await dsDb.findDatasourceById(store.db, id);
      if (!d) throw new NotFoundError('datasource', id);
      return { stream: await blobs.read(d.blobKey), fileName: d.fileName, contentType: d.contentType, size: d.fileSize };
    },
  };

  async function remove(d: DatasourceRecord) {
    await releaseLocal(d.id);
    await dsDb.deleteDatasource(store.db, d.id);
    await blobs.delete(d.blobKey);
  }
}
export type DatasourceService = ReturnType<typeof createDatasourceService>;
