import { stat } from 'node:fs/promises';
import type { Config } from '../config.ts';
import { buildPlacesIndex } from '../providers/places/import.ts';
import { placesIndexPath } from '../providers/places/providers.ts';
import { PlacesImportError } from '../providers/places/sources/source.ts';

export const PLACES_USAGE = `cellwise places import FILE
  Index an OpenStreetMap PBF extract, a GeoJSON FeatureCollection of points or a CSV with
  lat/lng and tag columns into CELLWISE_DATA_DIR/places/places.cwp. places_count then works
  offline; the server and workers reopen the index without parsing FILE again.`;

/** `cellwise places import FILE`; returns the process exit code. */
export async function placesCommand(args: string[], config: Readonly<Config>, out: (line: string) => void = console.log): Promise<number> {
  const [sub, file] = args;
  if (sub !== 'import' || !file) {
    out(PLACES_USAGE);
    return 2;
  }
  const target = placesIndexPath(config.dataDir);
  const started = performance.now();
  try {
    const { stats } = await buildPlacesIndex(file, target);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const mb = ((await stat(target)).size / 1024 / 1024).toFixed(1);
    out(`Indexed ${stats.points} places from ${file} (${stats.fromNodes} points/nodes, ${stats.fromWays} ways as centroids, ${stats.skipped} skipped) in ${seconds} s`);
    out(`Index: ${target} (${mb} MB)`);
    if (config.placesFile && config.placesFile !== file) out(`Note: CELLWISE_PLACES_FILE=${config.placesFile} is set; the server rebuilds the index from that file when it differs.`);
    return 0;
  } catch (err) {
    if (err instanceof PlacesImportError) {
      out(`Cannot import ${file}: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
