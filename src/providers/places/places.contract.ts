import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { destination } from './geo.ts';
import type { PlacesProvider, PlacesQuery } from './places.ts';

/** A fixture place; every adapter's harness must make these available to the provider it returns. */
export type ContractPlace = { id: number; lat: number; lng: number; tags: Record<string, string> };
export type ContractHarness = { provider: PlacesProvider; close(): Promise<void> };

const C = { lat: 52.52, lng: 13.405 };
const at = (bearing: number, m: number) => destination(C.lat, C.lng, bearing, m);
const cafe = (id: number, p: { lat: number; lng: number }, name?: string): ContractPlace => ({ id, ...p, tags: { amenity: 'cafe', ...(name ? { name } : {}) } });

/** The fixture every adapter is tested on, with known answers. */
export const CONTRACT_PLACES: ContractPlace[] = [
  cafe(1, at(0, 100), 'Near Cafe'),
  cafe(2, at(90, 499), 'Inside Edge'),
  cafe(3, at(180, 500), 'On The Radius'),
  cafe(4, at(270, 501), 'Just Outside'),
  cafe(5, at(45, 5000), 'Far Away'),
  { id: 6, ...at(10, 200), tags: { shop: 'coffee', name: 'Bean Shop' } },
  { id: 7, ...at(20, 300), tags: { amenity: 'restaurant', cuisine: 'pizza', name: 'Pizza Place' } },
  { id: 8, ...at(30, 300), tags: { amenity: 'restaurant', cuisine: 'sushi' } },
  { id: 9, ...at(40, 250), tags: { amenity: 'pharmacy', name: 'Pharma' } },
  // The antimeridian: a centre at 179.999 E sees places at 179.999 W (about 222 m away at the equator).
  { id: 10, lat: 0, lng: -179.999, tags: { amenity: 'fuel', name: 'West Fuel' } },
  { id: 11, lat: 0, lng: 179.9995, tags: { amenity: 'fuel', name: 'East Fuel' } },
  { id: 12, lat: 0, lng: -179.99, tags: { amenity: 'fuel', name: 'Too Far West' } },
  // The poles: longitude means nothing at 90 N; 89.9999 N on the far meridian is about 22 m from 89.9999 N, 0 E.
  { id: 13, lat: 89.9999, lng: 180, tags: { man_made: 'mast', name: 'Far Side Mast' } },
  { id: 14, lat: 89.9999, lng: -90, tags: { man_made: 'mast' } },
  { id: 15, lat: 89.99, lng: 0, tags: { man_made: 'mast', name: 'Pole Too Far' } },
  { id: 16, lat: -90, lng: 0, tags: { man_made: 'mast', name: 'South Pole Mast' } },
];

export function placesContract(label: string, make: (places: ContractPlace[]) => Promise<ContractHarness>) {
  describe(`places contract: ${label}`, () => {
    let h: ContractHarness;
    before(async () => {
      h = await make(CONTRACT_PLACES);
    });
    after(() => h?.close());
    const q = (over: Partial<PlacesQuery>): PlacesQuery => ({ ...C, radiusMeters: 500, tags: [{ amenity: 'cafe' }], sampleSize: 5, ...over });

    test('counts the matching places within the radius, a place exactly on it included', async () => {
      const r = await h.provider.count(q({}));
      assert.equal(r.count, 3);
      assert.deepEqual([...r.sample].sort(), ['Inside Edge', 'Near Cafe', 'On The Radius']);
    });

    test('a metre more or less moves the edge', async () => {
      assert.equal((await h.provider.count(q({ radiusMeters: 499 }))).count, 2);
      assert.equal((await h.provider.count(q({ radiusMeters: 501 }))).count, 4);
      assert.equal((await h.provider.count(q({ radiusMeters: 10_000 }))).count, 5);
    });

    test('clauses are a union; keys within a clause must all match; lists and true match values', async () => {
      assert.equal((await h.provider.count(q({ tags: [{ amenity: 'cafe' }, { shop: 'coffee' }] }))).count, 4);
      assert.equal((await h.provider.count(q({ tags: [{ amenity: 'restaurant', cuisine: 'pizza' }] }))).count, 1);
      assert.equal((await h.provider.count(q({ tags: [{ amenity: ['restaurant', 'pharmacy'] }] }))).count, 3);
      assert.equal((await h.provider.count(q({ tags: [{ cuisine: true }] }))).count, 2);
      assert.equal((await h.provider.count(q({ tags: [{ amenity: 'nightclub' }] }))).count, 0);
    });

    test('the sample holds at most sampleSize names of counted places', async () => {
      const r = await h.provider.count(q({ radiusMeters: 10_000, sampleSize: 2 }));
      assert.equal(r.count, 5);
      assert.equal(r.sample.length, 2);
      for (const name of r.sample) assert.ok(['Near Cafe', 'Inside Edge', 'On The Radius', 'Just Outside', 'Far Away'].includes(name));
      assert.deepEqual((await h.provider.count(q({ tags: [{ amenity: 'nightclub' }] }))).sample, []);
    });

    test('across the antimeridian', async () => {
      const r = await h.provider.count({ lat: 0, lng: 179.999, radiusMeters: 500, tags: [{ amenity: 'fuel' }], sampleSize: 5 });
      assert.equal(r.count, 2);
      assert.deepEqual([...r.sample].sort(), ['East Fuel', 'West Fuel']);
      const west = await h.provider.count({ lat: 0, lng: -179.9995, radiusMeters: 1200, tags: [{ amenity: 'fuel' }], sampleSize: 5 });
      assert.equal(west.count, 3);
    });

    test('near and at the poles', async () => {
      const near = await h.provider.count({ lat: 89.9999, lng: 0, radiusMeters: 100, tags: [{ man_made: 'mast' }], sampleSize: 5 });
      assert.equal(near.count, 2);
      const pole = await h.provider.count({ lat: 90, lng: 0, radiusMeters: 20, tags: [{ man_made: 'mast' }], sampleSize: 5 });
      assert.equal(pole.count, 2); // 89.9999 N is 11.1 m from the pole, whatever its longitude; 89.99 N is 1.1 km
      const south = await h.provider.count({ lat: -89.9999, lng: 123, radiusMeters: 50, tags: [{ man_made: 'mast' }], sampleSize: 5 });
      assert.deepEqual(south, { count: 1, sample: ['South Pole Mast'] });
    });
  });
}
