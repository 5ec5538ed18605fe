import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../logger.ts';
import { buildPlacesIndex, isCurrent } from './import.ts';
import { readIndexFile, readIndexHeader } from './index-file.ts';
import { createLocalPlacesProvider } from './local.ts';
import { createOverpassProvider } from './overpass.ts';
import { PlacesError, type PlacesProvider } from './places.ts';

export type PlacesProviderName = 'local' | 'overpass';

/** Where `cellwise places import` writes the index and where the server looks for it. */
export function placesIndexPath(dataDir: string): string {
  return path.join(dataDir, 'places', 'places.cwp');
}

export type PlacesOptions = {
  dataDir: string;
  /** CELLWISE_PLACES_FILE: a source extract; indexed on first use, and again whenever the file changes. */
  placesFile?: string | undefined;
  overpassUrl: string;
  overpassConcurrency?: number;
  overpassTimeoutMs?: number;
  logger: Logger;
};

/** A failed open is remembered this long, so ten thousand cells do not each retry a broken import. */
const FAILURE_MEMORY_MS = 60_000;

/**
 * The places sources of one process. The local index opens lazily (a worker that never counts
 * places never reads it) and once; a configured source file that is newer than the index is
 * re-imported first. Without a source file or an imported index, the default is Overpass.
 */
export function createPlacesProviders(options: PlacesOptions) {
  const indexFile = placesIndexPath(options.dataDir);
  const overpass = createOverpassProvider({ url: options.overpassUrl, concurrency: options.overpassConcurrency, timeoutMs: options.overpassTimeoutMs });
  let local: { promise: Promise<PlacesProvider>; failedAt?: number } | undefined;

  async function openLocal(): Promise<PlacesProvider> {
    const source = options.placesFile;
    if (source) {
      const header = existsSync(indexFile) ? await readIndexHeader(indexFile).catch(() => undefined) : undefined;
      if (!header || !(await isCurrent(header, source))) {
        options.logger.info('building the places index', { source, index: indexFile });
        const started = Date.now();
        const { stats } = await buildPlacesIndex(source, indexFile);
        options.logger.info('places index built', { ...stats, ms: Date.now() - started });
      }
    } else if (!existsSync(indexFile)) {
      throw new PlacesError('PLACES_NOT_CONFIGURED', 'No local places index: set CELLWISE_PLACES_FILE or run `cellwise places import FILE`, or use provider "overpass"');
    }
    const provider = createLocalPlacesProvider(await readIndexFile(indexFile));
    options.logger.info('places index opened', { index: indexFile, points: provider.points });
    return provider;
  }

  return {
    /** The default source: local when an extract is configured or imported, else Overpass. */
    defaultName(): PlacesProviderName {
      return options.placesFile || local || existsSync(indexFile) ? 'local' : 'overpass';
    },
    async get(name: PlacesProviderName): Promise<PlacesProvider> {
      if (name === 'overpass') return overpass;
      if (!local || (local.failedAt !== undefined && Date.now() - local.failedAt > FAILURE_MEMORY_MS)) {
        const entry: { promise: Promise<PlacesProvider>; failedAt?: number } = { promise: openLocal() };
        entry.promise.catch(() => (entry.failedAt = Date.now()));
        local = entry;
      }
      return local.promise.catch((err: unknown) => {
        if (err instanceof PlacesError) throw err;
        throw new PlacesError('PLACES_INDEX_FAILED', `The local places index could not be opened: ${err instanceof Error ? err.message : String(err)}`);
      });
    },
  };
}
export type PlacesProviders = ReturnType<typeof createPlacesProviders>;
