import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildPlacesIndex } from './import.ts';
import { readIndexFile } from './index-file.ts';
import { createLocalPlacesProvider } from './local.ts';
import { placesContract, type ContractPlace } from './places.contract.ts';

/** The local adapter on an index built from GeoJSON (full float precision, so "on the radius" is exact). */
placesContract('local index', async (places: ContractPlace[]) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cw-places-'));
  const features = places.map((p) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [p.lng, p.lat] }, properties: p.tags }));
  await writeFile(path.join(dir, 'places.geojson'), JSON.stringify({ type: 'FeatureCollection', bbox: [-180, -90, 180, 90], features }));
  await buildPlacesIndex(path.join(dir, 'places.geojson'), path.join(dir, 'index.cwp'));
  return { provider: createLocalPlacesProvider(await readIndexFile(path.join(dir, 'index.cwp'))), close: () => rm(dir, { recursive: true, force: true }) };
});
