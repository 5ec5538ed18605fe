import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { destination } from '../src/providers/places/geo.ts';
import { startFakeOpenAI, type FakeLlmServer, type FakeReply, type RecordedRequest } from './fakes/openai-server.ts';
import { startFakeOverpass, type FakeOverpass } from './fakes/overpass-server.ts';
import { osmPbf, type OsmNode } from './fixtures/osm-pbf-writer.ts';
import { expectError, startTestApp, type TestApp } from './helpers/app.ts';
import { waitForTask } from './helpers/tasks.ts';

/**
 * places_count end to end: a dataset of stores, a places_count column, a bulk task through the
 * API, and the cells read back from /data with their metadata. The local source is an OSM PBF
 * written by the test; the Overpass source is the fake interpreter over HTTP.
 */
const STORE = { lat: 51.5, lng: -0.12 };
const near = (bearing: number, m: number) => destination(STORE.lat, STORE.lng, bearing, m);
const nodes: OsmNode[] = [
  { id: 1, ...near(0, 100), tags: { amenity: 'cafe', name: 'Cafe One' } },
  { id: 2, ...near(90, 300), tags: { amenity: 'cafe', name: 'Cafe Two' } },
  { id: 3, ...near(180, 800), tags: { shop: 'coffee', name: 'Beans' } },
  { id: 4, ...near(270, 2500), tags: { amenity: 'cafe', name: 'Far Cafe' } },
  { id: 5, ...near(45, 200), tags: { amenity: 'pharmacy', name: 'Chemist' } },
  { id: 6, ...near(10, 150), tags: { amenity: 'charging_station' } },
  // natural=peak: a key the index did not keep before format 2 (it answered 0, done).
  { id: 7, ...near(300, 600), tags: { natural: 'peak', name: 'Store Hill' } },
];

let dir: string;
let app: TestApp;
let llm: FakeLlmServer;
let overpass: FakeOverpass;
let script: ((req: RecordedRequest) => FakeReply | undefined) | undefined;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cw-places-e2e-'));
  await writeFile(path.join(dir, 'extract.osm.pbf'), osmPbf(nodes));
  llm = await startFakeOpenAI({ respond: (r) => script?.(r) });
  overpass = await startFakeOverpass(nodes.map((n) => ({ ...n, tags: n.tags ?? {} })));
  app = await startTestApp({ openaiBaseUrl: llm.baseUrl, placesFile: path.join(dir, 'extract.osm.pbf'), overpassUrl: overpass.url });
});
after(async () => {
  await app?.close();
  await llm?.close();
  await overpass?.close();
  await rm(dir, { recursive: true, force: true });
});

async function dataset(rows: Record<string, unknown>[]) {
  const res = await app.post('/api/v2/datasets', { name: 'Stores', type: 'analysis', rows });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.datasetId as string;
}
async function fill(id: string, metadata: Record<string, unknown>, name = 'Count') {
  const col = await app.post(`/api/v2/datasets/${id}/columns`, { name, taskType: 'places_count', metadata });
  assert.equal(col.status, 201, JSON.stringify(col.body));
  const task = await app.post(`/api/v2/datasets/${id}/tasks/bulk`, { columnIds: [col.body.columnId] });
  assert.equal(task.status, 202, JSON.stringify(task.body));
  await waitForTask(app, id, task.body.taskId, undefined, 60_000);
  const grid = (await app.get(`/api/v2/datasets/${id}/data?includeMetadata=true`)).body;
  const k = grid.columns.findIndex((c: any) => c.columnId === col.body.columnId);
  return grid.data.map((r: any[]) => r[k]);
}

describe('places_count through the tasks API', () => {
  it('counts from the local extract with preset tags, auto-detected lat/lng columns and recorded metadata', async () => {
    const id = await dataset([
      { Store: 'A', Latitude: STORE.lat, Longitude: STORE.lng },
      { Store: 'B', Latitude: String(STORE.lat), Longitude: String(STORE.lng) },
      { Store: 'Nowhere', Latitude: -45, Longitude: 170 },
    ]);
    const [a, b, none] = await fill(id, { prompt: 'coffee shops', radiusMeters: 1000 });
    assert.equal(a.status, 'done', JSON.stringify(a));
    assert.equal(a.value, 3);
    assert.equal(b.value, 3);
    assert.equal(none.value, 0);
    assert.equal(a.metadata.provider, 'local');
    // Issue 12: a count from the local index is exact.
    assert.equal(a.metadata.confidence, 1);
    assert.equal(a.metadata.confidenceSource, 'exact');
    assert.deepEqual(a.metadata.tags, [{ amenity: 'cafe' }, { shop: 'coffee' }]);
    assert.equal(a.metadata.tagSource, 'presets');
    assert.deepEqual(a.metadata.center, STORE);
    assert.equal(a.metadata.radiusMeters, 1000);
    assert.equal(a.metadata.attribution, '© OpenStreetMap contributors');
    assert.deepEqual(a.metadata.sample, ['Cafe One', 'Cafe Two', 'Beans'], 'nearest first');
    assert.deepEqual(none.metadata.sample, []);
  });

  it('reads a "lat,lng" column and a radius column; explicit tags win over the prompt', async () => {
    const id = await dataset([
      { Where: `${STORE.lat},${STORE.lng}`, Radius: 250 },
      { Where: `${STORE.lat}, ${STORE.lng}`, Radius: '5000' },
    ]);
    const [small, big] = await fill(id, { prompt: 'coffee shops', tags: { amenity: 'cafe' }, coordinatesColumnId: 'Where', radiusColumnId: 'Radius' });
    assert.equal(small.value, 1);
    assert.equal(big.value, 3);
    assert.deepEqual(big.metadata.tags, [{ amenity: 'cafe' }]);
    assert.equal(big.metadata.tagSource, 'metadata');
    assert.equal(big.metadata.radiusMeters, 5000);
  });

  it('bad coordinates and radii end as cell errors with a code, never as a failed task', async () => {
    const id = await dataset([
      { lat: 95, lng: 0, r: 100 },
      { lat: 'north', lng: 0, r: 100 },
      { lat: null, lng: 0, r: 100 },
      { lat: 10, lng: 0, r: 0 },
      { lat: 10, lng: 0, r: 50_001 },
      { lat: 10, lng: 200, r: 10 },
      { lat: 10, lng: 0, r: 50_000 },
    ]);
    const out = await fill(id, { prompt: 'pharmacies', radiusColumnId: 'r' });
    assert.deepEqual(
      out.map((c: any) => c.metadata.error?.code ?? c.status),
      ['INVALID_COORDINATES', 'INVALID_COORDINATES', 'MISSING_COORDINATES', 'INVALID_RADIUS', 'INVALID_RADIUS', 'INVALID_COORDINATES', 'done'],
    );
    assert.equal(out[0].status, 'error');
    assert.equal(out[6].value, 0);
  });

  it('a dataset without coordinates says how to give them', async () => {
    const id = await dataset([{ Store: 'A' }]);
    const [cell] = await fill(id, { prompt: 'cafes' });
    assert.equal(cell.metadata.error.code, 'MISSING_COORDINATES');
  });

  it('radius 0 or above 50 km in the column metadata is refused when the column is saved', async () => {
    const id = await dataset([{ lat: 1, lng: 1 }]);
    expectError(await app.post(`/api/v2/datasets/${id}/columns`, { name: 'X', taskType: 'places_count', metadata: { prompt: 'cafes', radiusMeters: 0 } }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(`/api/v2/datasets/${id}/columns`, { name: 'X', taskType: 'places_count', metadata: { prompt: 'cafes', radiusMeters: 50_001 } }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(`/api/v2/datasets/${id}/columns`, { name: 'X', taskType: 'places_count', metadata: { prompt: 'cafes', tags: {} } }), 400, 'INVALID_PARAMETERS');
  });

  it('asks the LLM for phrases the presets do not know, and records its tags', async () => {
    script = (r) => (JSON.stringify(r.body).includes('spots to charge my electric car') ? { kind: 'json', value: { alternatives: [{ tags: [{ key: 'amenity', value: 'charging_station' }] }] } } : undefined);
    try {
      const id = await dataset([{ lat: STORE.lat, lng: STORE.lng }]);
      const [cell] = await fill(id, { prompt: 'spots to charge my electric car' });
      assert.equal(cell.value, 1, JSON.stringify(cell));
      assert.deepEqual(cell.metadata.tags, [{ amenity: 'charging_station' }]);
      assert.equal(cell.metadata.tagSource, 'llm');
    } finally {
      script = undefined;
    }
  });

  it('a prompt that maps to no tags (presets nor LLM) is a NO_TAGS cell error', async () => {
    script = (r) => (JSON.stringify(r.body).includes('the meaning of life') ? { kind: 'json', value: { alternatives: [] } } : undefined);
    try {
      const id = await dataset([{ lat: STORE.lat, lng: STORE.lng }]);
      const [cell] = await fill(id, { prompt: 'the meaning of life' });
      assert.equal(cell.status, 'error');
      assert.equal(cell.metadata.error.code, 'NO_TAGS');
    } finally {
      script = undefined;
    }
  });

  it('words of any preset resolve offline ("peaks": natural=peak, no LLM call), and the matched preset is on the cell', async () => {
    const id = await dataset([{ lat: STORE.lat, lng: STORE.lng }]);
    const calls = llm.count;
    const [cell] = await fill(id, { prompt: 'peaks' });
    assert.equal(cell.status, 'done', JSON.stringify(cell));
    assert.equal(cell.value, 1);
    assert.deepEqual(cell.metadata.tags, [{ natural: 'peak' }]);
    assert.equal(cell.metadata.tagSource, 'presets');
    assert.deepEqual(cell.metadata.presets, ['natural/peak']);
    assert.deepEqual(cell.metadata.sample, ['Store Hill']);
    assert.equal(llm.count, calls, 'the LLM was not asked');
  });

  it('a key the index was not built with ends the cell PLACES_KEY_NOT_INDEXED (never 0), naming the key and how to re-index', async () => {
    const id = await dataset([{ lat: STORE.lat, lng: STORE.lng }]);
    const [cell] = await fill(id, { prompt: 'pizza places', tags: { cuisine: 'pizza' } });
    assert.equal(cell.status, 'error', JSON.stringify(cell));
    assert.equal(cell.value, null);
    assert.equal(cell.metadata.error.code, 'PLACES_KEY_NOT_INDEXED');
    assert.match(cell.metadata.error.message, /"cuisine".*cellwise places import FILE --keys \+cuisine/);
  });

  it('counts through Overpass when the column asks for it', async () => {
    const id = await dataset([{ lat: STORE.lat, lng: STORE.lng }]);
    const before = overpass.queries.length;
    const [cell] = await fill(id, { prompt: 'pharmacies', provider: 'overpass', radiusMeters: 500 });
    assert.equal(cell.value, 1, JSON.stringify(cell));
    assert.equal(cell.metadata.provider, 'overpass');
    assert.deepEqual(cell.metadata.sample, ['Chemist']);
    assert.equal(cell.metadata.attribution, '© OpenStreetMap contributors');
    assert.equal(overpass.queries.length - before, 1);
    assert.match(overpass.queries.at(-1)!, /nwr\["amenity"="pharmacy"\]\(around:500,51\.5,-0\.12\);/);
  });
});
