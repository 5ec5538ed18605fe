import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { validLatLng } from '../geo.ts';
import type { PlaceInput } from '../index-file.ts';
import { PlacesImportError, scalarTags, type ImportStats } from './source.ts';

const LAT = ['lat', 'latitude', 'y'];
const LNG = ['lng', 'lon', 'long', 'longitude', 'x'];

/**
 * CSV (or TSV) with a header: latitude and longitude columns (lat/latitude, lng/lon/longitude),
 * an optional `name`, and every other column a tag (`amenity`, `shop`, `cuisine` ...). A row with
 * coordinates that are not numbers or outside the globe stops the import with its line number.
 */
export async function readCsv(file: string, sink: (place: PlaceInput) => void, delimiter = ','): Promise<ImportStats> {
  const parser = createReadStream(file).pipe(parse({ delimiter, columns: (header: string[]) => header.map((h) => h.trim()), bom: true, skip_empty_lines: true, relax_column_count: true, trim: true }));
  let latKey: string | undefined;
  let lngKey: string | undefined;
  let nameKey: string | undefined;
  let skip: Set<string> = new Set();
  let n = 0;
  try {
    for await (const record of parser as AsyncIterable<Record<string, string>>) {
      if (n === 0) {
        const keys = Object.keys(record);
        const find = (names: string[]) => keys.find((k) => names.includes(k.toLowerCase()));
        latKey = find(LAT);
        lngKey = find(LNG);
        nameKey = find(['name']);
        if (!latKey || !lngKey) throw new PlacesImportError(`the CSV has no coordinate columns: it needs one of ${LAT.join('/')} and one of ${LNG.join('/')} (columns: ${keys.join(', ')})`);
        skip = new Set([latKey, lngKey, nameKey ?? ''].map((k) => k.toLowerCase()));
      }
      const line = n + 2;
      const rawLat = record[latKey!] ?? '';
      const rawLng = record[lngKey!] ?? '';
      const lat = rawLat === '' ? NaN : Number(rawLat);
      const lng = rawLng === '' ? NaN : Number(rawLng);
      if (!validLatLng(lat, lng)) throw new PlacesImportError(`line ${line}: invalid coordinates "${rawLat}", "${rawLng}" (latitude within [-90, 90], longitude within [-180, 180])`);
      sink({ lat, lng, tags: scalarTags(record, skip), name: nameKey ? record[nameKey] || undefined : undefined });
      n++;
    }
  } catch (err) {
    if (err instanceof PlacesImportError) throw err;
    throw new PlacesImportError(`unreadable CSV: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (n === 0 && !latKey) throw new PlacesImportError('the CSV is empty: it needs a header with latitude and longitude columns and one row per place');
  return { points: n, fromNodes: n, fromWays: 0, fromRelations: 0, skipped: 0 };
}
