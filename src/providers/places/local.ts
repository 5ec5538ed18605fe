import { around } from 'geokdbush';
import { OSM_ATTRIBUTION, type PlacesProvider, type PlacesQuery, type PlacesResult, type TagClause } from './places.ts';
import type { IndexData } from './index-file.ts';

/** Inclusive radius: a point on the circle counts even when float rounding puts it a hair outside. */
const ON_RADIUS_TOLERANCE_M = 0.001;

/** A clause compiled against the pair dictionary: per condition, which pair ids satisfy it. */
type CompiledClause = Uint8Array[];

/**
 * The local adapter: geokdbush's great-circle `around` over the kd-tree (it handles the
 * antimeridian and the poles: its box distance is periodic in longitude), with the tag filter as its
 * predicate, so non-matching points never enter the result. Results come nearest first, which gives
 * the sample for free.
 */
export function createLocalPlacesProvider(data: IndexData, attribution = OSM_ATTRIBUTION): PlacesProvider & { readonly points: number } {
  const compiled = new Map<string, CompiledClause[]>();
  const byKey = new Map<string, number[]>();
  data.pairs.forEach(([k], id) => {
    let list = byKey.get(k);
    if (!list) byKey.set(k, (list = []));
    list.push(id);
  });

  function compile(tags: TagClause[]): CompiledClause[] {
    const cacheKey = JSON.stringify(tags);
    let out = compiled.get(cacheKey);
    if (out) return out;
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
      const clauses = compile(q.tags);
      const { tagOffsets, tagIds } = data;
      const points = data.header.points;
      const matches = (id: number) => {
        if (id >= points) return false;
        const from = tagOffsets[id]!;
        const to = tagOffsets[id + 1]!;
        return clauses.some((conditions) =>
          conditions.every((mask) => {
            for (let i = from; i < to; i++) if (mask[tagIds[i]!]) return true;
            return false;
          }),
        );
      };
      const ids = around(data.kdbush, q.lng, q.lat, Infinity, (q.radiusMeters + ON_RADIUS_TOLERANCE_M) / 1000, matches);
      const sample: string[] = [];
      for (const id of ids) {
        if (sample.length >= q.sampleSize) break;
        const n = name(id);
        if (n) sample.push(n);
      }
      return { count: ids.length, sample };
    },
  };
}
