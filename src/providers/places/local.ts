import { capBoxes, EARTH_RADIUS_M, insideRings, segmentDistanceMeters } from './geo.ts';
import { OSM_ATTRIBUTION, PlacesError, type PlacesProvider, type PlacesQuery, type PlacesResult, type TagClause } from './places.ts';
import { AREA_FLAG, POINT_FLAG, selectionKeys, storedKey, type IndexData } from './index-file.ts';

/** Inclusive radius: a feature on the circle counts even when float rounding puts it a hair outside. */
const ON_RADIUS_TOLERANCE_M = 0.001;

/** A clause compiled against the pair dictionary: per condition, which pair ids satisfy it. */
type CompiledClause = Uint8Array[];

const RAD = Math.PI / 180;

/**
 * The local adapter: a flatbush search of the features' bounding boxes against the boxes of the
 * spherical cap (two across the antimeridian, the whole longitude band around a pole), then the tag
 * filter, then the exact test: a feature counts when any part of it is within the radius, as
 * Overpass's `around` counts (a vertex within it, or a segment passing within it, by great-circle
 * distance), or when it is an area that holds the centre. Points take the haversine path alone.
 * A query on a key the index did not select its features by is refused: its answer would be short.
 */
export function createLocalPlacesProvider(data: IndexData, attribution = OSM_ATTRIBUTION): PlacesProvider & { readonly points: number; countNow(q: PlacesQuery): PlacesResult } {
  const compiled = new Map<string, CompiledClause[]>();
  const byKey = new Map<string, number[]>();
  data.pairs.forEach(([k], id) => {
    let list = byKey.get(k);
    if (!list) byKey.set(k, (list = []));
    list.push(id);
  });
  const keys = selectionKeys(data.header);
  const selecting = keys && new Set(keys);

  /** Throws PLACES_KEY_NOT_INDEXED when a clause could match features the index never kept. */
  function answerable(tags: TagClause[]): void {
    for (const clause of tags) {
      const clauseKeys = Object.keys(clause);
      const unstored = clauseKeys.find((k) => !storedKey(k));
      if (unstored) throw new PlacesError('PLACES_KEY_NOT_INDEXED', `The local places index does not keep "${unstored}" tags (names, addresses and notes are left out of it): count by a feature key such as amenity or shop, or use provider "overpass"`, false, undefined, { key: unstored });
      if (selecting && !clauseKeys.some((k) => selecting.has(k))) {
        const key = clauseKeys[0]!;
        const old = data.header.version < 2 ? ` (it was built by an older cellwise, with ${keys!.length} keys)` : '';
        throw new PlacesError(
          'PLACES_KEY_NOT_INDEXED',
          `The local places index was built without features selected by "${key}"${old}, so it cannot count them: re-index with \`cellwise places import FILE${data.header.version < 2 ? '' : ` --keys +${key}`}\`${data.header.version < 2 ? ' (a server with CELLWISE_PLACES_FILE rebuilds it by itself)' : ''}, or use provider "overpass"`,
          false,
          undefined,
          { key },
        );
      }
    }
  }

  function compile(tags: TagClause[]): CompiledClause[] {
    const cacheKey = JSON.stringify(tags);
    let out = compiled.get(cacheKey);
    if (out) return out;
    answerable(tags);
    out = tags.map((clause) =>
      Object.entries(clause).map(([key, want]) => {
        const mask = new Uint8Array(data.pairs.length);
        for (const id of byKey.get(key) ?? []) {
          const value = data.pairs[id]![1];
          if (want === true || (Array.isArray(want) ? want.includes(value) : want === value)) mask[id] = 1;
        }
        return mask;
      }),
    );
    // Columns repeat one filter over thousands of rows; a handful of distinct filters stay cached.
    if (compiled.size > 256) compiled.clear();
    compiled.set(cacheKey, out);
    return out;
  }

  const name = (id: number) => data.names.toString('utf8', data.nameOffsets[id]!, data.nameOffsets[id + 1]!);

  return {
    name: 'local',
    attribution,
    points: data.header.points,
    async count(q: PlacesQuery): Promise<PlacesResult> {
      // The query itself is synchronous, and so is the store on SQLite (better-sqlite3 calls resolve
      // as microtasks): without one real turn of the event loop per query, a task of ten thousand
      // local counts would run start to finish without letting a single HTTP request in.
      await new Promise<void>((resolve) => setImmediate(resolve));
      return this.countNow(q);
    },
    /** The index query alone, synchronously (benchmarks; callers in the server use `count`). */
    countNow(q: PlacesQuery): PlacesResult {
      const clauses = compile(q.tags);
      // A filter no pair in the index can satisfy needs no spatial query at all.
      if (!clauses.some((conditions) => conditions.every((mask) => mask.includes(1)))) return { count: 0, sample: [] };
      const { tagOffsets, tagIds, coords, partOffsets, featureParts, flags } = data;
      const points = data.header.points;
      // Plain loops: this runs for every candidate in the box, and closures per call showed up as a third of the query time.
      const matches = (id: number) => {
        if (id >= points) return false;
        const from = tagOffsets[id]!;
        const to = tagOffsets[id + 1]!;
        for (let c = 0; c < clauses.length; c++) {
          const conditions = clauses[c]!;
          let all = true;
          for (let k = 0; k < conditions.length && all; k++) {
            const mask = conditions[k]!;
            let hit = false;
            for (let i = from; i < to && !hit; i++) hit = mask[tagIds[i]!] === 1;
            all = hit;
          }
          if (all) return true;
        }
        return false;
      };
      const limit = q.radiusMeters + ON_RADIUS_TOLERANCE_M;
      const lat1 = q.lat * RAD;
      const cosLat1 = Math.cos(lat1);
      // Haversine with the centre's cosine computed once: for the points, this is the whole cost of a query.
      const pointDistance = (lng: number, lat: number) => {
        const sLat = Math.sin((lat * RAD - lat1) / 2);
        const sLng = Math.sin(((lng - q.lng) * RAD) / 2);
        const h = sLat * sLat + cosLat1 * Math.cos(lat * RAD) * sLng * sLng;
        return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
      };
      // The distance from the centre to a feature that is not a point (0 inside an area), stopping early once within the radius.
      const distance = (id: number) => {
        const p0 = featureParts[id]!;
        const p1 = featureParts[id + 1]!;
        if (flags[id]! & AREA_FLAG && insideRings(q.lat, q.lng, coords, partOffsets, p0, p1)) return 0;
        let best = Infinity;
        for (let p = p0; p < p1 && best > limit; p++) {
          const from = partOffsets[p]!;
          const to = partOffsets[p + 1]!;
          for (let v = from; v < to && best > limit; v++) {
            const d = pointDistance(coords[2 * v]!, coords[2 * v + 1]!);
            if (d < best) best = d;
            if (v + 1 < to) {
              const s = segmentDistanceMeters(q.lat, q.lng, coords[2 * v + 1]!, coords[2 * v]!, coords[2 * v + 3]!, coords[2 * v + 2]!);
              if (s < best) best = s;
            }
          }
        }
        return best;
      };
      let count = 0;
      // The nearest named matches, kept sorted: the sample is a handful, so insertion is cheapest.
      const nearest: { d: number; id: number }[] = [];
      const seen = new Set<number>();
      const boxes = capBoxes(q.lat, q.lng, limit + 1);
      // All the work happens in flatbush's filter (which then says no): no array of candidates, and a
      // point's coordinates come with the call, as its box.
      const visit = (id: number, x0: number, y0: number) => {
        // A feature across the antimeridian can meet both boxes of the cap: count it once.
        if (boxes.length > 1) {
          if (seen.has(id)) return false;
          seen.add(id);
        }
        if (!matches(id)) return false;
        const d = flags[id]! & POINT_FLAG ? pointDistance(x0, y0) : distance(id);
        if (d > limit) return false;
        count++;
        if (q.sampleSize > 0 && data.nameOffsets[id + 1]! > data.nameOffsets[id]! && (nearest.length < q.sampleSize || d < nearest[nearest.length - 1]!.d)) {
          let at = nearest.length;
          while (at > 0 && nearest[at - 1]!.d > d) at--;
          nearest.splice(at, 0, { d, id });
          if (nearest.length > q.sampleSize) nearest.pop();
        }
        return false;
      };
      for (const [minLng, minLat, maxLng, maxLat] of boxes) data.tree.search(minLng, minLat, maxLng, maxLat, visit);
      return { count, sample: nearest.map((n) => name(n.id)) };
    },
  };
}
