import type { Config } from '../../config.ts';
import type { Logger } from '../../logger.ts';
import type { BlobStore } from '../../providers/blob/blob-store.ts';
import type { Store } from '../../store/store.ts';
import type { Executor } from '../executor.ts';
import { aiEnrich } from './ai-enrich.ts';
import { classification } from './classification.ts';
import { placesCount } from './places-count.ts';
import { createPlacesProviders, type PlacesProviders } from '../../providers/places/providers.ts';
import type { Fetcher } from '../../providers/web/fetcher.ts';
import type { SearchProvider } from '../../providers/search/search.ts';
import { createWebEnrich } from './web-enrich.ts';
import { createWebEnrichDeps } from './web-setup.ts';
import { docExtraction, type DocumentSource } from './doc-extraction.ts';

/**
 * What executors may need beyond the row: the store (documents' pages, caches), the blob store
 * (files), the configuration (providers' URLs and limits) and the logger. The composition root
 * builds the executors once per process; each task type's factory opens what it needs lazily.
 * `fetcher` and `search` replace the ones built from the configuration (tests, benchmarks).
 */
export type ExecutorDeps = { store: Store; blobs: BlobStore; config: Readonly<Config>; logger: Logger; documents: DocumentSource; places?: PlacesProviders; fetcher?: Fetcher; search?: SearchProvider };
export type Executors = Readonly<Record<string, Executor>>;

/** The executor of each computed task type. */
export function createExecutors(deps: ExecutorDeps): Executors {
  const places =
    deps.places ??
    createPlacesProviders({ dataDir: deps.config.dataDir, placesFile: deps.config.placesFile, overpassUrl: deps.config.overpassUrl, overpassConcurrency: deps.config.overpassConcurrency, overpassTimeoutMs: deps.config.overpassTimeoutMs, logger: deps.logger });
  return {
    ai_enrich: aiEnrich,
    classification,
    doc_extraction: docExtraction({ documents: deps.documents, chunkChars: deps.config.docExtractionChunkChars, maxChunks: deps.config.docExtractionMaxChunks }),
    web_enrich: createWebEnrich(createWebEnrichDeps(deps)),
    places_count: placesCount({ places }),
  };
}
