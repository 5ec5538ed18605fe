import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalize, tagsForPhrase } from './tag-words.ts';

test('everyday phrases map to OpenStreetMap tags from the iD presets', () => {
  const tags = (p: string) => tagsForPhrase(p)?.tags;
  assert.deepEqual(tags('coffee shops'), [{ amenity: 'cafe' }, { shop: 'coffee' }]);
  assert.deepEqual(tags('Pharmacies'), [{ amenity: 'pharmacy' }]);
  assert.deepEqual(tags('EV chargers'), [{ amenity: 'charging_station' }]);
  assert.deepEqual(tags('schools'), [{ amenity: 'school' }]);
  assert.deepEqual(tags('supermarkets'), [{ shop: 'supermarket' }]);
  assert.deepEqual(tags('hospitals'), [{ amenity: 'hospital' }], '"Hospital Grounds" is found by its plain name');
  assert.deepEqual(tags('gyms'), [{ leisure: 'fitness_centre' }], '"Gym / Fitness Center" names both');
  assert.deepEqual(tags('number of ATMs'), [{ amenity: 'atm' }]);
  assert.equal(tagsForPhrase('the meaning of life'), undefined);
  assert.equal(tagsForPhrase('   '), undefined);
});

test('normalize singularises each word and drops punctuation and filler', () => {
  assert.equal(normalize('How many EV Chargers?!'), 'ev charger');
  assert.equal(normalize('libraries'), 'library');
  assert.equal(normalize('churches'), 'church');
  assert.equal(normalize('bus'), 'bus');
});
