import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, truncate, writeFile, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../logger.ts';
import { denseNodesBlock, headerBlock, osmPbf, plainNodesBlock, waysBlock, blob, type OsmNode, type OsmWay } from '../../../test/fixtures/osm-pbf-writer.ts';
import { distanceMeters } from './geo.ts';
import { buildPlacesIndex } from './import.ts';
import { IndexFileError, readIndexFile, readIndexHeader } from './index-file.ts';
import { createLocalPlacesProvider } from './local.ts';
import { PlacesError } from './places.ts';
import { createPlacesProviders, placesIndexPath } from './providers.ts';
import { PlacesImportError } from './sources/source.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cw-places-import-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const file = (name: string) => path.join(dir, name);
async function indexOf(name: string, content: string | Buffer) {
  await writeFile(file(name), content);
  const built = await buildPlacesIndex(file(name), file(`${name}.cwp`));
  return { ...built, provider: createLocalPlacesProvider(await readIndexFile(file(`${name}.cwp`))) };
}
const rejectsImport = (name: string, content: string | Buffer, pattern: RegExp) =>
  assert.rejects(async () => {
    await writeFile(file(name), content);
    await buildPlacesIndex(file(name), file(`${name}.cwp`));
  }, (err: unknown) => err instanceof PlacesImportError && pattern.test(err.message));

describe('OSM PBF import', () => {
  // A square block of four nodes around (10.0, 20.0), closed as an area tagged as a school, plus tagged and untagged nodes.
  const nodes: OsmNode[] = [
    { id: 1, lat: 10.001, lng: 20.001, tags: { amenity: 'cafe', name: 'Dense Cafe', 'addr:street': 'Main St' } },
    { id: 2, lat: 10.002, lng: 20.0 }, // untagged: a way's node, never a place
    { id: 3, lat: 10.0, lng: 19.998 },
    { id: 4, lat: 9.998, lng: 20.0 },
    { id: 5, lat: 10.0, lng: 20.002 },
    { id: 6, lat: 10.0005, lng: 20.0005, tags: { highway: 'crossing' } },
    { id: 7, lat: 10.0, lng: 20.0, tags: { created_by: 'JOSM' } }, // tags, but no feature key
  ];
  const ways: OsmWay[] = [
    { id: 100, refs: [2, 3, 4, 5, 2], tags: { amenity: 'school', name: 'Area School' } },
    { id: 101, refs: [2, 3], tags: { highway: 'residential', name: 'A Road' } }, // a road: highway is a preset key, so it is a feature too
    { id: 102, refs: [3, 999], tags: { shop: 'kiosk' } }, // 999 is outside the extract: the part that is there
    { id: 103, refs: [998, 997], tags: { shop: 'bakery' } }, // no node at all: skipped
  ];

  test('nodes and ways with feature tags, ways with their geometry, names kept, noise tags dropped', async () => {
    const { stats, header, provider } = await indexOf('a.osm.pbf', Buffer.concat([headerBlock(), denseNodesBlock(nodes), plainNodesBlock([{ id: 8, lat: 10.0001, lng: 20.0001, tags: { amenity: 'cafe', name: 'Plain Cafe' } }]), waysBlock(ways)]));
    assert.deepEqual(stats, { points: 6, fromNodes: 3, fromWays: 3, fromRelations: 0, skipped: 1 });
    assert.equal(header.points, 6);
    const count = (tags: Record<string, string | true>[], radiusMeters = 1000) => provider.count({ lat: 10, lng: 20, radiusMeters, tags, sampleSize: 5 });
    assert.deepEqual(await count([{ amenity: 'cafe' }]), { count: 2, sample: ['Plain Cafe', 'Dense Cafe'] });
    // The school's ring holds the centre, about 220 m from its edges: it counts at any radius.
    assert.deepEqual(await count([{ amenity: 'school' }], 0.01), { count: 1, sample: ['Area School'] });
    assert.deepEqual(await count([{ highway: true }]), { count: 2, sample: ['A Road'] });
    const kiosk = await provider.count({ lat: 10, lng: 19.998, radiusMeters: 0.01, tags: [{ shop: 'kiosk' }], sampleSize: 5 });
    assert.equal(kiosk.count, 1, 'the kiosk sits on node 3, its only node inside the extract');
    await assert.rejects(count([{ 'addr:street': true }]), (err: unknown) => err instanceof PlacesError && err.code === 'PLACES_KEY_NOT_INDEXED', 'address tags are not kept: no count, an error');
    await assert.rejects(count([{ created_by: true }]), (err: unknown) => err instanceof PlacesError && err.code === 'PLACES_KEY_NOT_INDEXED');
  });

  test('a way across the antimeridian is found from the side its segment crosses', async () => {
    const { provider } = await indexOf('am.pbf', osmPbf([{ id: 1, lat: 0, lng: 179.999 }, { id: 2, lat: 0, lng: -179.999 }], [{ id: 9, refs: [1, 2], tags: { amenity: 'ferry_terminal' } }]));
    const r = await provider.count({ lat: 0, lng: 180, radiusMeters: 1, tags: [{ amenity: true }], sampleSize: 5 });
    assert.equal(r.count, 1);
  });

  test('coordinates are read at the file granularity (1e-7 degrees)', async () => {
    const { provider } = await indexOf('g.pbf', osmPbf([{ id: 5, lat: -33.8567844, lng: 151.2152967, tags: { tourism: 'attraction', name: 'Opera' } }]));
    const near = await provider.count({ lat: -33.8567844, lng: 151.2152967, radiusMeters: 0.01, tags: [{ tourism: true }], sampleSize: 1 });
    assert.deepEqual(near, { count: 1, sample: ['Opera'] });
  });

  test('corrupt, truncated, foreign and unsupported files are clear errors', async () => {
    const good = osmPbf(nodes.slice(0, 2));
    await rejectsImport('garbage.pbf', Buffer.from('this is not a pbf file at all, just text'), /corrupt OSM PBF at byte 0/);
    await rejectsImport('trunc.pbf', good.subarray(0, good.length - 7), /corrupt OSM PBF .*truncated blob/);
    await rejectsImport('empty.pbf', Buffer.alloc(0), /empty file/);
    const badZlib = Buffer.from(good);
    badZlib.fill(0x55, headerBlock().length + 30, headerBlock().length + 60);
    await rejectsImport('zlib.pbf', badZlib, /corrupt OSM PBF at byte \d+/);
    await rejectsImport('noheader.pbf', denseNodesBlock(nodes), /data before the OSMHeader/);
    await rejectsImport('features.pbf', Buffer.concat([headerBlock(['OsmSchema-V0.6', 'HistoricalInformation'])]), /HistoricalInformation/);
    await rejectsImport('latout.pbf', osmPbf([{ id: 1, lat: 95, lng: 0, tags: { amenity: 'bar' } }]), /outside the globe/);
    await rejectsImport('foreign.pbf', blob('OSMData', Buffer.from('x')), /data before the OSMHeader|not an OSM PBF/);
  });
});

describe('GeoJSON and CSV import', () => {
  test('GeoJSON points with properties as tags', async () => {
    const fc = { type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'Point', coordinates: [2.35, 48.85] }, properties: { amenity: 'cafe', name: 'Chez', seats: 12, nested: { a: 1 } } }] };
    const { provider, stats } = await indexOf('p.geojson', JSON.stringify(fc));
    assert.equal(stats.points, 1);
    assert.deepEqual(await provider.count({ lat: 48.85, lng: 2.35, radiusMeters: 10, tags: [{ amenity: 'cafe', seats: '12' }], sampleSize: 5 }), { count: 1, sample: ['Chez'] });
  });

  test('GeoJSON that is not points, not GeoJSON or not JSON is refused', async () => {
    const poly = { type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] }, properties: {} }] };
    await rejectsImport('poly.geojson', JSON.stringify(poly), /feature 0 has a Polygon geometry; only Point/);
    await rejectsImport('nofeat.geojson', JSON.stringify({ type: 'Feature', geometry: null }), /no "features" array/);
    await rejectsImport('broken.geojson', '{"type":"FeatureCollection","features":[{"type":', /not valid JSON/);
    await rejectsImport('lat.geojson', JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'Point', coordinates: [0, 91] }, properties: {} }] }), /latitude within \[-90, 90\]/);
  });

  test('CSV with lat/lng and tag columns; TSV too', async () => {
    const { provider } = await indexOf('p.csv', 'name,Latitude,lon,amenity,cuisine\nA,1.0,1.0,restaurant,pizza\nB,1.0001,1.0,restaurant,\n');
    assert.equal((await provider.count({ lat: 1, lng: 1, radiusMeters: 50, tags: [{ amenity: 'restaurant' }], sampleSize: 5 })).count, 2);
    assert.equal((await provider.count({ lat: 1, lng: 1, radiusMeters: 50, tags: [{ cuisine: true }], sampleSize: 5 })).count, 1, 'an empty cell is no tag');
    const tsv = await indexOf('p.tsv', 'lat\tlng\tshop\n1\t1\tbakery\n');
    assert.equal((await tsv.provider.count({ lat: 1, lng: 1, radiusMeters: 1, tags: [{ shop: 'bakery' }], sampleSize: 5 })).count, 1);
  });

  test('CSV without coordinates or with a latitude outside [-90, 90] is refused with the line', async () => {
    await rejectsImport('nocoord.csv', 'name,amenity\nA,cafe\n', /no coordinate columns/);
    await rejectsImport('lat.csv', 'lat,lng\n10,10\n91,10\n', /line 3: invalid coordinates "91"/);
    await rejectsImport('text.csv', 'lat,lng\nten,10\n', /line 2: invalid coordinates/);
    await rejectsImport('empty.csv', '', /empty/);
  });
});

describe('index file', () => {
  test('reopens without the source and refuses a truncated or foreign file', async () => {
    await writeFile(file('r.csv'), 'lat,lng,amenity,name\n5,5,bench,Bench\n');
    await buildPlacesIndex(file('r.csv'), file('r.cwp'));
    await rm(file('r.csv'));
    const provider = createLocalPlacesProvider(await readIndexFile(file('r.cwp')));
    assert.deepEqual(await provider.count({ lat: 5, lng: 5, radiusMeters: 1, tags: [{ amenity: 'bench' }], sampleSize: 5 }), { count: 1, sample: ['Bench'] });
    const size = (await readFile(file('r.cwp'))).length;
    await truncate(file('r.cwp'), size - 16);
    await assert.rejects(readIndexFile(file('r.cwp')), IndexFileError);
    await writeFile(file('x.cwp'), 'hello');
    await assert.rejects(readIndexFile(file('x.cwp')), IndexFileError);
  });

  test('an index built by the previous format (1) still counts its own keys and refuses the rest with PLACES_KEY_NOT_INDEXED', async () => {
    // Written by cellwise before format 2 from a PBF with a cafe, a peak (dropped then) and a bus stop (kept as a node, never as a way).
    const provider = createLocalPlacesProvider(await readIndexFile(path.join(import.meta.dirname, '../../../test/fixtures/places-format1.cwp')));
    const q = (tags: Record<string, string | true>[]) => provider.count({ lat: -41.25, lng: 174.86, radiusMeters: 1000, tags, sampleSize: 5 });
    assert.deepEqual(await q([{ amenity: 'cafe' }]), { count: 1, sample: ['Old Cafe'] });
    const notIndexed = (key: string) => (err: unknown) => err instanceof PlacesError && err.code === 'PLACES_KEY_NOT_INDEXED' && err.details?.key === key && err.message.includes(`"${key}"`) && /older cellwise/.test(err.message);
    await assert.rejects(q([{ natural: 'peak' }]), notIndexed('natural'));
    await assert.rejects(q([{ highway: 'bus_stop' }]), notIndexed('highway'), 'its highway features were nodes only: a count could be short');
    // One clause it cannot answer makes the union unanswerable.
    await assert.rejects(q([{ amenity: 'cafe' }, { natural: 'peak' }]), notIndexed('natural'));
  });

  test('--keys: an index of chosen keys refuses the others; a clause with one indexed key is answerable', async () => {
    await writeFile(file('k.pbf'), osmPbf([{ id: 1, lat: 1, lng: 1, tags: { amenity: 'restaurant', cuisine: 'pizza' } }, { id: 2, lat: 1, lng: 1.0001, tags: { shop: 'bakery' } }]));
    const { header, stats } = await buildPlacesIndex(file('k.pbf'), file('k.cwp'), { keys: ['amenity'] });
    assert.deepEqual(header.keys, ['amenity']);
    assert.equal(stats.points, 1);
    const provider = createLocalPlacesProvider(await readIndexFile(file('k.cwp')));
    const q = (tags: Record<string, string | true>[]) => provider.count({ lat: 1, lng: 1, radiusMeters: 100, tags, sampleSize: 5 });
    assert.equal((await q([{ amenity: 'restaurant', cuisine: 'pizza' }])).count, 1);
    await assert.rejects(q([{ shop: 'bakery' }]), (err: unknown) => err instanceof PlacesError && err.code === 'PLACES_KEY_NOT_INDEXED' && err.details?.key === 'shop' && err.message.includes('--keys +shop'));
    await assert.rejects(q([{ cuisine: 'pizza' }]), (err: unknown) => err instanceof PlacesError && err.code === 'PLACES_KEY_NOT_INDEXED' && err.details?.key === 'cuisine');
  });

  test('an empty source gives an index that counts zero', async () => {
    const { provider } = await indexOf('none.geojson', '{"type":"FeatureCollection","features":[]}');
    assert.deepEqual(await provider.count({ lat: 0, lng: 0, radiusMeters: 50_000, tags: [{ amenity: true }], sampleSize: 5 }), { count: 0, sample: [] });
  });

  test('the providers rebuild when CELLWISE_PLACES_FILE changes, and report a broken source as a cell-level error', async () => {
    const dataDir = path.join(dir, 'data');
    await writeFile(file('live.csv'), 'lat,lng,amenity\n1,1,cafe\n');
    const logger = createLogger('silent');
    const first = createPlacesProviders({ dataDir, placesFile: file('live.csv'), overpassUrl: 'http://127.0.0.1:9/', logger });
    assert.equal(first.defaultName(), 'local');
    const q = { lat: 1, lng: 1, radiusMeters: 10, tags: [{ amenity: 'cafe' }], sampleSize: 5 };
    assert.equal((await (await first.get('local')).count(q)).count, 1);
    await writeFile(file('live.csv'), 'lat,lng,amenity\n1,1,cafe\n1,1.00001,cafe\n');
    await utimes(file('live.csv'), new Date(), new Date(Date.now() + 5000));
    const second = createPlacesProviders({ dataDir, placesFile: file('live.csv'), overpassUrl: 'http://127.0.0.1:9/', logger });
    assert.equal((await (await second.get('local')).count(q)).count, 2);
    // Without a source file, the imported index is still used.
    const third = createPlacesProviders({ dataDir, overpassUrl: 'http://127.0.0.1:9/', logger });
    assert.equal(third.defaultName(), 'local');
    assert.equal((await (await third.get('local')).count(q)).count, 2);
    const none = createPlacesProviders({ dataDir: path.join(dir, 'empty-data'), overpassUrl: 'http://127.0.0.1:9/', logger });
    assert.equal(none.defaultName(), 'overpass');
    await assert.rejects(none.get('local'), (err: unknown) => err instanceof PlacesError && err.code === 'PLACES_NOT_CONFIGURED');
    await writeFile(file('bad.csv'), 'name\nx\n');
    const broken = createPlacesProviders({ dataDir: path.join(dir, 'broken-data'), placesFile: file('bad.csv'), overpassUrl: 'http://127.0.0.1:9/', logger });
    await assert.rejects(broken.get('local'), (err: unknown) => err instanceof PlacesError && err.code === 'PLACES_INDEX_FAILED' && /no coordinate columns/.test(err.message));
    assert.ok(placesIndexPath(dataDir).endsWith(path.join('places', 'places.cwp')));
  });

  test('with CELLWISE_PLACES_FILE, an index of the previous format built from that very file is rebuilt, not used', async () => {
    const dataDir = path.join(dir, 'old-data');
    const source = file('old.osm.pbf');
    await writeFile(source, osmPbf([{ id: 1, lat: -41.25, lng: 174.86, tags: { amenity: 'cafe', name: 'Old Cafe' } }, { id: 2, lat: -41.251, lng: 174.861, tags: { natural: 'peak', name: 'Old Peak' } }]));
    // The format-1 fixture, its header pointed at this source as it is now: stale only by its format.
    const old = await readFile(path.join(import.meta.dirname, '../../../test/fixtures/places-format1.cwp'));
    const len = old.readUInt32LE(8);
    const header = JSON.parse(old.toString('utf8', 12, 12 + len));
    const info = await stat(source);
    header.source = { ...header.source, path: path.resolve(source), size: info.size, mtimeMs: info.mtimeMs };
    const head = Buffer.from(JSON.stringify(header));
    const prefix = Buffer.alloc(Math.ceil((12 + head.length) / 8) * 8);
    old.copy(prefix, 0, 0, 8);
    prefix.writeUInt32LE(head.length, 8);
    head.copy(prefix, 12);
    await mkdir(path.dirname(placesIndexPath(dataDir)), { recursive: true });
    await writeFile(placesIndexPath(dataDir), Buffer.concat([prefix, old.subarray(Math.ceil((12 + len) / 8) * 8)]));
    assert.equal((await readIndexHeader(placesIndexPath(dataDir))).version, 1);
    const providers = createPlacesProviders({ dataDir, placesFile: source, overpassUrl: 'http://127.0.0.1:9/', logger: createLogger('silent') });
    const peak = await (await providers.get('local')).count({ lat: -41.25, lng: 174.86, radiusMeters: 1000, tags: [{ natural: 'peak' }], sampleSize: 5 });
    assert.deepEqual(peak, { count: 1, sample: ['Old Peak'] });
    assert.equal((await readIndexHeader(placesIndexPath(dataDir))).version, 2);
  });
});

test('distanceMeters agrees with a known distance (Paris to London, about 343.5 km)', () => {
  const d = distanceMeters(48.8566, 2.3522, 51.5074, -0.1278);
  assert.ok(Math.abs(d - 343_500) < 1000, String(d));
});
