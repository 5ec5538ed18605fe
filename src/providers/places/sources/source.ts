/** What an import read: features indexed, by origin, and features skipped (ways or relations without any node in the extract). */
export type ImportStats = { points: number; fromNodes: number; fromWays: number; fromRelations: number; skipped: number };

/** A source file the importer cannot use (corrupt PBF, GeoJSON that is not points, CSV without coordinates ...). */
export class PlacesImportError extends Error {}

/** Tags from a record of properties: scalars as strings, nested values and empties left out. */
export function scalarTags(props: Record<string, unknown>, skip: ReadonlySet<string>): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(props)) {
    if (skip.has(k.toLowerCase()) || v === null || v === undefined || v === '' || typeof v === 'object') continue;
    out.push([k, String(v)]);
  }
  return out;
}
