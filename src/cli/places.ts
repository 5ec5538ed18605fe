import { stat } from 'node:fs/promises';
import type { Config } from '../config.ts';
import { defaultFeatureKeys } from '../providers/places/feature-keys.ts';
import { buildPlacesIndex } from '../providers/places/import.ts';
import { placesIndexPath } from '../providers/places/providers.ts';
import { PlacesImportError } from '../providers/places/sources/source.ts';

export const PLACES_USAGE = `cellwise places import FILE [--keys KEY,KEY,...|+KEY,...]
  Index an OpenStreetMap PBF extract, a GeoJSON FeatureCollection of points or a CSV with
  lat/lng and tag columns into CELLWISE_DATA_DIR/places/places.cwp. places_count then works
  offline; the server and workers reopen the index without parsing FILE again.
  A PBF keeps every node, way and relation with a primary key of the iD presets
  (amenity, shop, natural, landuse, building, highway, power ...). --keys keeps only the keys
  listed (a smaller index); --keys +KEY,... adds keys to the default list. A column counting by
  a key the index lacks ends with PLACES_KEY_NOT_INDEXED, never with a wrong 0.`;

const KEY = /^[A-Za-z0-9_:.-]{1,64}$/;

/** `cellwise places import FILE [--keys ...]`; returns the process exit code. */
export async function placesCommand(args: string[], config: Readonly<Config>, out: (line: string) => void = console.log): Promise<number> {
  const [sub, file, ...rest] = args;
  let keys: string[] | undefined;
  if (rest.length) {
    const list = rest[0] === '--keys' ? rest[1] : rest[0]?.startsWith('--keys=') ? rest[0].slice('--keys='.length) : undefined;
    const names = (list ?? '').split(',').map((k) => k.trim()).filter(Boolean);
    const add = names.length > 0 && names.every((k) => k.startsWith('+'));
    const plain = names.map((k) => k.replace(/^\+/, ''));
    if (!names.length || plain.some((k) => !KEY.test(k)) || (!add && names.some((k) => k.startsWith('+'))) || rest.length > (rest[0] === '--keys' ? 2 : 1)) {
      out(PLACES_USAGE);
      return 2;
    }
    keys = add ? [...defaultFeatureKeys(), ...plain] : plain;
  }
  if (sub !== 'import' || !file || file.startsWith('--')) {
    out(PLACES_USAGE);
    return 2;
  }
  const target = placesIndexPath(config.dataDir);
  const started = performance.now();
  try {
    const { stats, header } = await buildPlacesIndex(file, target, { keys });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const mb = ((await stat(target)).size / 1024 / 1024).toFixed(1);
    out(`Indexed ${stats.points} places from ${file} (${stats.fromNodes} points/nodes, ${stats.fromWays} ways, ${stats.fromRelations} relations, ${stats.skipped} skipped) in ${seconds} s`);
    out(`Index: ${target} (${mb} MB)${header.keys ? `, features selected by ${header.keys.length} keys` : ''}`);
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
