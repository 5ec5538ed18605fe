import type { Config } from '../../config.ts';
import type { Logger } from '../../logger.ts';
import type { BlobStore } from '../../providers/blob/blob-store.ts';
import type { Store } from '../../store/store.ts';
import { CellError, type Executor } from '../executor.ts';
import { aiEnrich } from './ai-enrich.ts';
import { classification } from './classification.ts';
import { docExtraction, type DocumentSource } from './doc-extraction.ts';

/**
 * What executors may need beyond the row: the store (documents' pages, caches), the blob store
 * (files), the configuration (providers' URLs and limits) and the logger. The composition root
 * builds the executors once per process; each task type's factory opens what it needs lazily.
 */
export type ExecutorDeps = { store: Store; blobs: BlobStore; config: Readonly<Config>; logger: Logger; documents: DocumentSource };
export type Executors = Readonly<Record<string, Executor>>;

const notImplemented = (taskType: string): Executor => ({
  execute: () => Promise.reject(new CellError('NOT_IMPLEMENTED', `Task type ${taskType} is not implemented yet`)),
});

/** The executor of each computed task type. */
export function createExecutors(deps: ExecutorDeps): Executors {
  return {
    ai_enrich: aiEnrich,
    classification,
    doc_extraction: docExtraction({ documents: deps.documents, chunkChars: deps.config.docExtractionChunkChars, maxChunks: deps.config.docExtractionMaxChunks }),
    web_enrich: notImplemented('web_enrich'),
    places_count: notImplemented('places_count'),
  };
}
