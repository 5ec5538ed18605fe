import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * Which OpenStreetMap features the local index keeps, and which of them are areas.
 *
 * A feature is kept when one of its keys is a primary key of the iD editor's presets (the first
 * key of a preset's tags: amenity, shop, natural, landuse, building, power, waterway, highway ...),
 * derived from @openstreetmap/id-tagging-schema at import time so a new preset key is picked up
 * with the package, or one of the keys the index kept before presets were used. A prompt that
 * names a feature the presets know therefore finds it in the index; a query on any other key is
 * refused (PLACES_KEY_NOT_INDEXED) instead of answering 0.
 */

/** The keys the index kept before it followed the presets (format 1), and keys the issue names outright. */
export const LEGACY_FEATURE_KEYS = ['amenity', 'shop', 'tourism', 'leisure', 'office', 'craft', 'healthcare', 'historic', 'emergency', 'sport', 'public_transport', 'railway', 'aeroway', 'man_made', 'club', 'education', 'place', 'attraction'] as const;
/** Secondary keys that often stand alone on real data (water=lake without natural=water). */
const EXTRA_KEYS = ['water', 'wetland'];
/** Preset keys that select nothing countable: the relation type, generic areas, templates and address blocks. */
const NOT_FEATURE_KEYS = new Set(['type', 'area', '@template']);

let primary: string[] | undefined;

/** The primary keys of the iD presets plus the legacy list, sorted. */
export function defaultFeatureKeys(): string[] {
  if (primary) return primary;
  const require = createRequire(import.meta.url);
  const presets = JSON.parse(readFileSync(require.resolve('@openstreetmap/id-tagging-schema/dist/presets.json'), 'utf8')) as Record<string, { tags?: Record<string, string> }>;
  const keys = new Set<string>([...LEGACY_FEATURE_KEYS, ...EXTRA_KEYS]);
  for (const preset of Object.values(presets)) {
    const first = Object.keys(preset.tags ?? {})[0];
    if (first && !first.includes('*') && !NOT_FEATURE_KEYS.has(first)) keys.add(first);
  }
  return (primary = [...keys].sort());
}

/**
 * Closed ways that are lines, not areas (a roundabout, a fence around a field, a river loop):
 * the centre inside them is not "within" them. `area=yes` makes any closed way an area,
 * `area=no` none. The rest follows the usual OSM convention (and Overpass's area rules) that
 * a closed way of any other feature key encloses its area.
 */
const LINEAR_KEYS = new Set(['highway', 'barrier', 'waterway', 'railway', 'aerialway', 'route', 'power', 'pipeline', 'telecom', 'traffic_calming']);
const AREA_VALUES: Record<string, Set<string>> = {
  highway: new Set(['rest_area', 'services', 'platform']),
  waterway: new Set(['riverbank', 'dock', 'boatyard']),
  railway: new Set(['platform', 'station', 'turntable']),
  power: new Set(['plant', 'substation', 'generator', 'transformer', 'switchgear']),
  aerialway: new Set(['station']),
  barrier: new Set(['hedge_bank']),
};
const LINEAR_VALUES: Record<string, Set<string>> = {
  natural: new Set(['coastline', 'cliff', 'ridge', 'arete', 'tree_row', 'earth_bank', 'gully']),
  man_made: new Set(['embankment', 'cutline', 'breakwater', 'groyne', 'dyke', 'pipeline']),
  leisure: new Set(['track', 'slipway']),
};

/** Whether a closed way with these tags is an area. */
export function closedWayIsArea(tags: readonly (readonly [string, string])[]): boolean {
  let areaKey = false;
  for (const [k, v] of tags) {
    if (k === 'area') return v !== 'no';
    if (LINEAR_VALUES[k]?.has(v)) continue;
    if (LINEAR_KEYS.has(k) && !AREA_VALUES[k]?.has(v)) continue;
    if (k !== 'name' && !k.includes(':')) areaKey ||= defaultFeatureKeySet().has(k);
  }
  return areaKey;
}

let keySet: Set<string> | undefined;
function defaultFeatureKeySet(): Set<string> {
  return (keySet ??= new Set(defaultFeatureKeys()));
}
