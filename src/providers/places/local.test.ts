import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
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

test('a count gives the event loop a turn, so a task of local counts cannot starve HTTP', async () => {
  // On SQLite the engine's store calls resolve as microtasks; before this, 10,000 local counts ran
  // without a single event-loop turn (a 72 s stall in the bench, with task polls reset).
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cw-places-'));
  try {
    await writeFile(path.join(dir, 'p.csv'), 'lat,lng,amenity\n1,1,cafe\n');
    await buildPlacesIndex(path.join(dir, 'p.csv'), path.join(dir, 'p.cwp'));
    const provider = createLocalPlacesProvider(await readIndexFile(path.join(dir, 'p.cwp')));
    let turned = false;
    setImmediate(() => (turned = true));
    assert.equal((await provider.count({ lat: 1, lng: 1, radiusMeters: 10, tags: [{ amenity: 'cafe' }], sampleSize: 1 })).count, 1);
    assert.ok(turned, 'count resolved before the event loop turned');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
