import { open, stat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { defaultFeatureKeys } from './feature-keys.ts';
import { INDEX_FORMAT_VERSION, PlaceIndexBuilder, type IndexHeader, type PlaceInput } from './index-file.ts';
import { readCsv } from './sources/csv.ts';
import { readGeoJson } from './sources/geojson.ts';
import { readOsmPbf } from './sources/pbf.ts';
import { PlacesImportError, type ImportStats } from './sources/source.ts';

export type SourceFormat = 'pbf' | 'geojson' | 'csv' | 'tsv';

/** By extension, else by the first bytes (a PBF starts with a 4-byte length then "\n\x09OSMHeader"). */
export async function detectFormat(file: string): Promise<SourceFormat> {
  const lower = file.toLowerCase();
  if (lower.endsWith('.pbf')) return 'pbf';
  if (lower.endsWith('.geojson') || lower.endsWith('.json')) return 'geojson';
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.tsv')) return 'tsv';
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await fh.read(head, 0, 64, 0);
    const text = head.subarray(0, bytesRead);
    if (text.includes('OSMHeader')) return 'pbf';
    const first = text.toString('utf8').trimStart()[0];
    if (first === '{' || first === '[') return 'geojson';
    return 'csv';
  } finally {
    await fh.close();
  }
}

export type ImportOptions = {
  /**
   * OSM PBF only: the keys that select a feature (its node, way or relation). Default:
   * the primary keys of the iD presets (defaultFeatureKeys). A smaller list gives a smaller index;
   * a query on a key outside it is refused with PLACES_KEY_NOT_INDEXED. GeoJSON and CSV keep every feature.
   */
  keys?: readonly string[] | undefined;
};

/**
 * Builds the index file for `source` (streaming: the source is never held in memory, only the
 * compact feature arrays). The index records the source's size and mtime so a changed file is
 * rebuilt, and the keys its features were selected by.
 */
export async function buildPlacesIndex(source: string, indexFile: string, options: ImportOptions = {}): Promise<{ header: IndexHeader; stats: ImportStats }> {
  const info = await stat(source).catch(() => {
    throw new PlacesImportError(`${source} does not exist or cannot be read`);
  });
  if (!info.isFile()) throw new PlacesImportError(`${source} is not a file`);
  const format = await detectFormat(source);
  const keys = format === 'pbf' ? [...new Set(options.keys ?? defaultFeatureKeys())].sort() : null;
  if (keys && !keys.length) throw new PlacesImportError('no keys to select features by: give at least one (e.g. --keys amenity,shop)');
  const builder = new PlaceIndexBuilder(keys);
  const sink = (p: PlaceInput) => builder.add(p);
  const stats = format === 'pbf' ? await readOsmPbf(source, sink, new Set(keys)) : format === 'geojson' ? await readGeoJson(source, sink) : await readCsv(source, sink, format === 'tsv' ? '\t' : ',');
  await mkdir(path.dirname(indexFile), { recursive: true });
  const header = await builder.write(indexFile, { path: path.resolve(source), size: info.size, mtimeMs: info.mtimeMs, format });
  return { header, stats };
}

/** Whether an index header was built from `source` as it is now, by this format (an older index is rebuilt from its source). */
export async function isCurrent(header: IndexHeader, source: string): Promise<boolean> {
  const info = await stat(source).catch(() => undefined);
  return !!info && header.version === INDEX_FORMAT_VERSION && header.source.path === path.resolve(source) && header.source.size === info.size && header.source.mtimeMs === info.mtimeMs;
}
