import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFakeOverpass, type FakeOverpass } from '../../../test/fakes/overpass-server.ts';
import { createOverpassProvider, overpassQuery, parseRetryAfter } from './overpass.ts';
import { OSM_ATTRIBUTION, PlacesError } from './places.ts';
import { placesContract, type ContractPlace } from './places.contract.ts';

placesContract('overpass (fake server over HTTP)', async (places: ContractPlace[]) => {
  const fake = await startFakeOverpass(places.map((p) => ({ ...p })));
  return { provider: createOverpassProvider({ url: fake.url }), close: () => fake.close() };
});

describe('overpass adapter', () => {
  let fake: FakeOverpass;
  const places = [{ id: 1, lat: 48.85, lng: 2.35, tags: { amenity: 'cafe', name: 'Le "Quoted" Café' } }];
  before(async () => {
    fake = await startFakeOverpass(places, { latencyMs: 30 });
  });
  after(() => fake.close());
  const query = { lat: 48.85, lng: 2.35, radiusMeters: 100, tags: [{ amenity: 'cafe' }], sampleSize: 5 };

  test('writes Overpass QL: a union of around filters and of the areas holding the centre, out count, then named members for the sample', () => {
    const ql = overpassQuery({ ...query, tags: [{ amenity: 'cafe' }, { 'diet:vegan': ['yes', 'only'], name: true }, { 'we"ird': 'a\\b' }] }, 25);
    assert.match(ql, /^\[out:json\]\[timeout:25\];/);
    assert.match(ql, /nwr\["amenity"="cafe"\]\(around:100,48\.85,2\.35\);/);
    // A park or lake around the centre with its edges beyond the radius: the areas is_in finds, back to their ways and relations.
    assert.match(ql, /\nis_in\(48\.85,2\.35\)->\.in;\n/);
    assert.match(ql, /way\(pivot\.in\)\["amenity"="cafe"\];\n {2}rel\(pivot\.in\)\["amenity"="cafe"\];/);
    assert.match(ql, /nwr\["diet:vegan"~"\^\(yes\|only\)\$"\]\["name"\]\(around:100,48\.85,2\.35\);/);
    assert.ok(ql.includes('nwr["we\\"ird"="a\\\\b"]'), ql);
    assert.match(ql, /\.all out count;\nnwr\.all\["name"\];\nout tags 5;$/);
  });

  test('answers the count and names; attribution is OpenStreetMap', async () => {
    const provider = createOverpassProvider({ url: fake.url });
    assert.deepEqual(await provider.count(query), { count: 1, sample: ['Le "Quoted" Café'] });
    assert.equal(provider.attribution, OSM_ATTRIBUTION);
  });

  test('keeps at most `concurrency` requests in flight', async () => {
    const provider = createOverpassProvider({ url: fake.url, concurrency: 2 });
    const results = await Promise.all(Array.from({ length: 8 }, () => provider.count(query)));
    assert.ok(results.every((r) => r.count === 1));
    assert.ok(fake.maxInFlight <= 2, `max in flight ${fake.maxInFlight}`);
  });

  test('backs off on 429 and 504, honouring Retry-After, then succeeds', async () => {
    const provider = createOverpassProvider({ url: fake.url, backoffMs: 10 });
    fake.fail({ status: 429, retryAfter: '1' }, { status: 504 });
    const before = fake.queries.length;
    const started = Date.now();
    assert.equal((await provider.count(query)).count, 1);
    assert.equal(fake.queries.length - before, 3);
    assert.ok(Date.now() - started >= 1000, 'waited for Retry-After');
  });

  test('gives up after maxAttempts with a retryable error the engine retries later', async () => {
    const provider = createOverpassProvider({ url: fake.url, backoffMs: 5, maxAttempts: 2 });
    fake.fail({ status: 429, retryAfter: '0' }, { status: 429, retryAfter: '0' });
    await assert.rejects(provider.count(query), (err: unknown) => err instanceof PlacesError && err.code === 'PLACES_RATE_LIMITED' && err.retryable);
  });

  test('a bad request is not retried; an unreachable server is retryable', async () => {
    const provider = createOverpassProvider({ url: fake.url.replace('/api/interpreter', '/nope'), maxAttempts: 1 });
    await assert.rejects(provider.count(query), (err: unknown) => err instanceof PlacesError && err.code === 'PLACES_QUERY_FAILED' && !err.retryable);
    const down = createOverpassProvider({ url: 'http://127.0.0.1:9/api/interpreter', maxAttempts: 1 });
    await assert.rejects(down.count(query), (err: unknown) => err instanceof PlacesError && err.code === 'PLACES_UNAVAILABLE' && err.retryable);
  });

  test('cancellation stops the request', async () => {
    const provider = createOverpassProvider({ url: fake.url });
    const controller = new AbortController();
    const pending = provider.count({ ...query, signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, (err: unknown) => err instanceof PlacesError && err.code === 'PLACES_ABORTED');
  });

  test('Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(null), undefined);
    const ms = parseRetryAfter(new Date(Date.now() + 5000).toUTCString())!;
    assert.ok(ms > 3000 && ms <= 5000);
  });
});
