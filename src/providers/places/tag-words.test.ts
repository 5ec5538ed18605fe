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
  assert.equal(tagsForPhrase('spots to charge my electric car'), undefined, 'no preset name or term: the LLM decides');
  assert.equal(tagsForPhrase('   '), undefined);
});

test('land, water, nature, buildings and power from all presets, with the preset ids', () => {
  assert.deepEqual(tagsForPhrase('peaks'), { tags: [{ natural: 'peak' }], presets: ['natural/peak'] });
  assert.deepEqual(tagsForPhrase('beach'), { tags: [{ natural: 'beach' }], presets: ['natural/beach'] });
  assert.deepEqual(tagsForPhrase('lakes'), { tags: [{ natural: 'water', water: 'lake' }], presets: ['natural/water/lake'] });
  assert.deepEqual(tagsForPhrase('forest'), { tags: [{ landuse: 'forest' }, { natural: 'wood' }], presets: ['landuse/forest', 'natural/wood'] });
  assert.deepEqual(tagsForPhrase('substations'), { tags: [{ power: 'substation' }], presets: ['power/substation'] });
  assert.deepEqual(tagsForPhrase('buildings')?.tags, [{ building: true }]);
  // A building preset keeps its "Building": "hotels" are the tourism feature, not also the building (no double count).
  assert.deepEqual(tagsForPhrase('hotels'), { tags: [{ tourism: 'hotel' }], presets: ['tourism/hotel'] });
  // The last words of a preset name: "Christian Church".
  assert.deepEqual(tagsForPhrase('churches')?.presets, ['amenity/place_of_worship/christian']);
  assert.equal(tagsForPhrase('roads'), undefined, 'not the "Road Surface" area preset');
});

test('normalize singularises each word and drops punctuation and filler', () => {
  assert.equal(normalize('How many EV Chargers?!'), 'ev charger');
  assert.equal(normalize('libraries'), 'library');
  assert.equal(normalize('churches'), 'church');
  assert.equal(normalize('bus'), 'bus');
});
