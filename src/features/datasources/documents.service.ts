import type { Config } from '../../config.ts';
import type { EventBus } from '../../events.ts';
import type { Logger } from '../../logger.ts';
import type { BlobStore } from '../../providers/blob/blob-store.ts';
import { ExtractionError } from '../../providers/documents/extraction-error.ts';
import type { ExtractorPool } from '../../providers/documents/extractor-pool.ts';
import * as docsDb from '../../store/documents.ts';
import { findDatasourceById, type DatasourceRecord } from '../../store/datasources.ts';
import { now, type Store } from '../../store/store.ts';
import { datasourceView } from './datasources.service.ts';

export type OcrMode = 'auto' | 'always' | 'never';
export type DocumentConfig = Pick<Config, 'documentTimeoutMs' | 'documentMaxPages'>;

const PAGED_FORMATS = new Set(['pdf', 'png', 'jpeg']);
const POLL_MS = 200;
/**
 * Documents (and their pages, per OCR mode) recently read by doc_extraction. A finished extraction
 * never changes, and the cells of one row (one per doc_extraction column) read the same document
 * within milliseconds: remembering the last few saves two queries per cell.
 */
const RECENT_DOCUMENTS = 32;

/**
 * The documents pipeline: a document datasource is stored `processing`, its text is extracted in the
 * extractor pool's threads, then it becomes `completed` (pages stored) or `failed` (reason in
 * `error`), and `datasource.processed` is published. Documents still `processing` when the process
 * stopped are extracted again at the next start (`resume`).
 */
export function createDocumentService({ store, blobs, events, pool, config, logger }: { store: Store; blobs: BlobStore; events: EventBus; pool: ExtractorPool; config: Readonly<DocumentConfig>; logger: Logger }) {
  let stopping = false;
  const running = new Set<Promise<void>>();
  const ocrPasses = new Map<string, Promise<void>>();
  const recent = new Map<string, DatasourceRecord>();
  const recentPages = new Map<string, Promise<{ page: number; text: string }[]>>();

  function remember<V>(map: Map<string, V>, key: string, value: V): V {
    map.delete(key);
    map.set(key, value);
    if (map.size > RECENT_DOCUMENTS) map.delete(map.keys().next().value!);
    return value;
  }

  async function extract(d: DatasourceRecord): Promise<void> {
    let result: { status: 'completed' | 'failed'; error: string | null; info: Record<string, unknown>; pages: docsDb.DocumentPage[] };
    try {
      const pages = await blobs.withFile(d.blobKey, (file) => pool.extract(file, d.format, { ocr: 'auto', maxPages: config.documentMaxPages }, config.documentTimeoutMs));
      const count = (m: docsDb.PageMethod) => pages.filter((p) => p.method === m).length;
      result = { status: 'completed', error: null, pages, info: { pages: pages.length, ocrPages: count('ocr'), emptyPages: count('none'), ...(PAGED_FORMATS.has(d.format) ? {} : { sections: true }) } };
    } catch (err) {
      // Stopping: leave it `processing`, the next start extracts it again.
      if (stopping) return;
      if (!(err instanceof ExtractionError)) {
        if (!(await findDatasourceById(store.db, d.id))) return; // deleted while queued: nothing to report
        logger.error('document extraction failed unexpectedly', { datasourceId: d.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      }
      const known = err instanceof ExtractionError;
      result = { status: 'failed', error: known ? err.message : 'the file could not be read', pages: [], info: { pages: 0, errorCode: known ? err.code : 'EXTRACTION_FAILED' } };
    }
    const done = { ...d, status: result.status, error: result.error, info: result.info, processedAt: now() };
    if (!(await docsDb.finishExtraction(store, d.id, { ...result, processedAt: done.processedAt }))) return;
    events.emit({ type: 'datasource.processed', workspaceId: d.workspaceId, data: datasourceView(done) });
  }

  function track(p: Promise<void>) {
    running.add(p);
    void p.finally(() => running.delete(p));
  }

  /** `ocr: always` wants an OCR pass over pages that have a text layer too: made once, on demand, and stored. */
  function ensureOcr(d: DatasourceRecord, pages: docsDb.DocumentPage[]): Promise<void> {
    if (!PAGED_FORMATS.has(d.format) || pages.every((p) => p.ocrText != null || p.method === 'ocr')) return Promise.resolve();
    let pass = ocrPasses.get(d.id);
    if (!pass) {
      pass = (async () => {
        const ocr = await blobs.withFile(d.blobKey, (file) => pool.extract(file, d.format, { ocr: 'always', maxPages: config.documentMaxPages }, config.documentTimeoutMs));
        await docsDb.writeOcrText(store, d.id, ocr.map((p) => ({ page: p.page, text: p.ocrText ?? p.text })));
      })().finally(() => ocrPasses.delete(d.id));
      ocrPasses.set(d.id, pass);
    }
    return pass;
  }

  return {
    /** Starts extracting a freshly stored document in the background. */
    enqueue(d: DatasourceRecord): void {
      if (d.kind !== 'document' || stopping) return;
      track(extract(d).catch((err: unknown) => logger.error('recording a document extraction failed', { datasourceId: d.id, error: String(err) })));
    },

    /** At start: extracts again every document left `processing` by a stopped process. */
    async resume(): Promise<number> {
      const pending = await docsDb.documentsInProcessing(store.db);
      for (const d of pending) this.enqueue(d);
      return pending.length;
    },

    /**
     * The datasource once its extraction is over, polling the store (the engine may run in another
     * process than the upload). Gives up with undefined after `timeoutMs` or when `signal` fires.
     */
    async waitProcessed(workspaceId: string, id: string, signal: AbortSignal, timeoutMs = config.documentTimeoutMs): Promise<DatasourceRecord | undefined> {
      const known = recent.get(id);
      if (known) return known.workspaceId === workspaceId ? known : undefined;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const d = await findDatasourceById(store.db, id);
        if (!d || d.workspaceId !== workspaceId) return undefined;
        if (d.status !== 'processing') return remember(recent, id, d);
        if (signal.aborted || Date.now() >= deadline) return d;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, POLL_MS);
          signal.addEventListener('abort', done, { once: true });
          function done() {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            resolve();
          }
        });
      }
    },

    /**
     * A completed document's pages as one OCR mode sees them: `auto` the stored text; `never` without
     * OCR'd text; `always` the OCR text of every page (an OCR pass is run and stored the first time).
     */
    pages(d: DatasourceRecord, ocr: OcrMode): Promise<{ page: number; text: string }[]> {
      const key = `${d.id}:${ocr}`;
      const hit = recentPages.get(key);
      if (hit) return hit;
      const read = loadPages(d, ocr);
      read.catch(() => recentPages.delete(key));
      return remember(recentPages, key, read);
    },

    /** Stops starting work; extractions in flight are abandoned (they stay `processing` and resume at the next start). */
    async close(): Promise<void> {
      stopping = true;
      await pool.close();
      await Promise.allSettled([...running, ...ocrPasses.values()]);
    },
  };

  async function loadPages(d: DatasourceRecord, ocr: OcrMode): Promise<{ page: number; text: string }[]> {
    let pages = await docsDb.readPages(store.db, d.id);
    if (ocr === 'always' && PAGED_FORMATS.has(d.format)) {
      await ensureOcr(d, pages);
      pages = await docsDb.readPages(store.db, d.id);
      return pages.map((p) => ({ page: p.page, text: p.ocrText ?? p.text }));
    }
    if (ocr === 'never') return pages.map((p) => ({ page: p.page, text: p.method === 'ocr' ? '' : p.text }));
    return pages.map((p) => ({ page: p.page, text: p.text }));
  }
}
export type DocumentService = ReturnType<typeof createDocumentService>;
