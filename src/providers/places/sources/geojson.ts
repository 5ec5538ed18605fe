import { createReadStream } from 'node:fs';
import { getManyValues, isMany, none } from 'stream-chain/defs.js';
import Assembler from 'stream-json/assembler.js';
import { jsonParser, type Token } from 'stream-json/parser.js';
import { validLatLng } from '../geo.ts';
import type { PlaceInput } from '../index-file.ts';
import { PlacesImportError, scalarTags, type ImportStats } from './source.ts';

const NOT_TAGS = new Set(['name']);

/**
 * A GeoJSON FeatureCollection of Point features (or a bare array of them), streamed: only one
 * feature is assembled at a time. Properties become tags; `name` is the name. Any other geometry
 * is an error rather than a silent skip: a polygon file imported as "0 places" would only
 * surface later as wrong counts.
 */
export async function readGeoJson(file: string, sink: (place: PlaceInput) => void): Promise<ImportStats> {
  let index = 0;
  const take = (feature: unknown) => {
    const f = feature as { type?: unknown; geometry?: { type?: unknown; coordinates?: unknown }; properties?: unknown };
    if (f?.type !== 'Feature' || typeof f.geometry !== 'object' || f.geometry === null) throw new PlacesImportError(`feature ${index} is not a GeoJSON Feature with a geometry`);
    if (f.geometry.type !== 'Point') throw new PlacesImportError(`feature ${index} has a ${String(f.geometry.type)} geometry; only Point features can be indexed (convert areas to centroids first)`);
    const c = f.geometry.coordinates;
    const [lng, lat] = Array.isArray(c) ? (c as unknown[]) : [];
    if (typeof lat !== 'number' || typeof lng !== 'number' || !validLatLng(lat, lng)) throw new PlacesImportError(`feature ${index} has invalid coordinates ${JSON.stringify(c)} (longitude, latitude in degrees; latitude within [-90, 90])`);
    const props = typeof f.properties === 'object' && f.properties !== null ? (f.properties as Record<string, unknown>) : {};
    sink({ lat, lng, tags: scalarTags(props, NOT_TAGS), name: typeof props.name === 'string' ? props.name : undefined });
    index++;
  };

  // Depth-tracking token walk: features are the elements of the top-level array, or of the
  // top-level object's "features" array; everything else (bbox, crs, ...) is skipped.
  let depth = 0;
  let key = '';
  let inFeatures = false;
  let sawFeatures = false;
  let topType: string | undefined;
  let element: Assembler | undefined;
  const parse = jsonParser({ streamValues: false }) as (input: string | typeof none) => ReturnType<ReturnType<typeof jsonParser>>;
  const onToken = (token: Token) => {
    if (element) {
      element.consume(token);
      if (element.done) {
        take(element.current);
        element = undefined;
      }
      return;
    }
    if (inFeatures && depth === (topType === 'array' ? 1 : 2)) {
      if (token.name === 'startObject') return void (element = new Assembler().consume(token));
      if (token.name === 'endArray') {
        inFeatures = false;
        depth--;
        return;
      }
      throw new PlacesImportError(`feature ${index} is not an object`);
    }
    if (token.name === 'startObject' || token.name === 'startArray') {
      if (depth === 0) {
        topType = token.name === 'startArray' ? 'array' : 'object';
        if (topType === 'array') inFeatures = sawFeatures = true;
      } else if (depth === 1 && token.name === 'startArray' && key === 'features') inFeatures = sawFeatures = true;
      depth++;
    } else if (token.name === 'endObject' || token.name === 'endArray') depth--;
    else if (token.name === 'keyValue' && depth === 1) key = String(token.value);
  };
  const feed = (input: string | typeof none) => {
    let out: ReturnType<typeof parse>;
    try {
      out = parse(input);
    } catch (err) {
      throw new PlacesImportError(`not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (isMany(out)) for (const t of getManyValues(out) as Token[]) onToken(t);
  };
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 })) feed(chunk as string);
  feed(none);
  if (!sawFeatures) throw new PlacesImportError('not a GeoJSON FeatureCollection: no "features" array');
  return { points: index, fromNodes: index, fromWays: 0, fromRelations: 0, skipped: 0 };
}
