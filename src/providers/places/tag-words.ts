import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { TagClause } from './places.ts';

/**
 * From words to OpenStreetMap tags, offline, with the iD editor's presets: their English names,
 * aliases and search terms. "pharmacies" -> amenity=pharmacy, "EV chargers" -> amenity=charging_station.
 * A phrase that matches a preset name wins over one that only matches search terms; several
 * presets of the same rank are all counted (a union). Phrases nothing matches return undefined:
 * the caller asks the LLM.
 */

type Preset = { tags: Record<string, string>; searchable?: boolean; name?: string; reference?: { key: string; value?: string } };
type Entry = { id: string; clauses: TagClause[]; names: string[]; terms: string[] };
/** Tags for a phrase, and the iD presets they came from (recorded on the cell). */
export type PhraseTags = { tags: TagClause[]; presets: string[] };

/**
 * Everyday words where iD's own vocabulary is narrower than what people mean: iD files "coffee
 * shop" under the cafe preset with cuisine=coffee_shop, and "school" under a grounds preset
 * tagged education=school, while most mapped schools carry amenity=school.
 */
const OVERRIDES: Record<string, PhraseTags> = {
  'coffee shop': { tags: [{ amenity: 'cafe' }, { shop: 'coffee' }], presets: ['amenity/cafe', 'shop/coffee'] },
  coffee: { tags: [{ amenity: 'cafe' }, { shop: 'coffee' }], presets: ['amenity/cafe', 'shop/coffee'] },
  school: { tags: [{ amenity: 'school' }], presets: ['amenity/school'] },
  'gas station': { tags: [{ amenity: 'fuel' }], presets: ['amenity/fuel'] },
  'petrol station': { tags: [{ amenity: 'fuel' }], presets: ['amenity/fuel'] },
  'ev charger': { tags: [{ amenity: 'charging_station' }], presets: ['amenity/charging_station'] },
  'bus stop': { tags: [{ highway: 'bus_stop' }, { public_transport: 'platform', bus: 'yes' }], presets: ['highway/bus_stop', 'public_transport/platform/bus_point'] },
  parking: { tags: [{ amenity: 'parking' }], presets: ['amenity/parking'] },
  'car park': { tags: [{ amenity: 'parking' }], presets: ['amenity/parking'] },
  // iD splits woodland into "Managed Forest" and "Natural Wood"; people mean both.
  forest: { tags: [{ landuse: 'forest' }, { natural: 'wood' }], presets: ['landuse/forest', 'natural/wood'] },
  wood: { tags: [{ landuse: 'forest' }, { natural: 'wood' }], presets: ['landuse/forest', 'natural/wood'] },
};

/** Presets of these keys are generic shapes, relation types or things that are gone, not features one counts. */
const SKIPPED_KEYS = new Set(['area', 'area:highway', 'type', 'disused:amenity', 'demolished:building']);
/** Suffixes iD adds to tell a preset's variants apart ("Hospital Grounds", "Pharmacy Counter"); a building preset keeps its "Building" ("hospital" is the amenity, not the building). */
const NAME_SUFFIX = / (ground|counter|building|area|facility)$/;
const FILLER = /^(the |number of |count of |all |any |nearby |near |how many )+/;

let entries: Entry[] | undefined;

function load(): Entry[] {
  if (entries) return entries;
  const require = createRequire(import.meta.url);
  const dir = require.resolve('@openstreetmap/id-tagging-schema/package.json').replace(/package\.json$/, '');
  const presets = JSON.parse(readFileSync(`${dir}dist/presets.json`, 'utf8')) as Record<string, Preset>;
  const en = JSON.parse(readFileSync(`${dir}dist/translations/en.json`, 'utf8')) as { en: { presets: { presets: Record<string, { name?: string; aliases?: string; terms?: string }> } } };
  const text = en.en.presets.presets;
  entries = [];
  for (const [id, preset] of Object.entries(presets)) {
    const keys = Object.keys(preset.tags);
    if (!keys.length || keys.some((k) => SKIPPED_KEYS.has(k))) continue;
    const t = text[id] ?? {};
    // Unsearchable presets that borrow another preset's name ("{education/school}") are aliases of it; skip them.
    const name = t.name ?? (preset.name && !preset.name.startsWith('{') ? preset.name : undefined);
    if (!name) continue;
    const clause: TagClause = {};
    for (const [k, v] of Object.entries(preset.tags)) clause[k] = v === '*' ? true : v;
    const clauses = [clause];
    // The grounds-style presets (education=school) point at the tag most data carries (amenity=school).
    const ref = preset.reference;
    if (ref?.value && clause[ref.key] !== ref.value) clauses.push({ [ref.key]: ref.value });
    const names = [name, ...(t.aliases ?? '').split('\n')].flatMap((n) => n.split(' / ')).map(normalize).filter(Boolean);
    const stripped = keys[0] === 'building' ? names : names.flatMap((n) => [n, n.replace(NAME_SUFFIX, '')]);
    entries.push({ id, clauses, names: [...new Set(stripped)], terms: (t.terms ?? '').split(',').map(normalize).filter(Boolean) });
  }
  return entries;
}

/** Lower case, no punctuation, each word singular ("EV Chargers!" -> "ev charger"). */
export function normalize(phrase: string): string {
  return phrase
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s'-]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(FILLER, '')
    .split(' ')
    .map(singular)
    .join(' ');
}

function singular(word: string): string {
  if (word.length <= 3 || word.endsWith('ss') || word.endsWith('us') || word.endsWith('is')) return word;
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (/(ches|shes|xes|sses|zes)$/.test(word)) return word.slice(0, -2);
  if (word.endsWith('s')) return word.slice(0, -1);
  return word;
}

/**
 * The tags a phrase means, or undefined when the presets do not know it. Ranks, first hit wins: a
 * preset's name or alias, then its search terms, then the last words of its name ("church" ->
 * "Christian Church").
 */
export function tagsForPhrase(phrase: string): PhraseTags | undefined {
  const wanted = normalize(phrase);
  if (!wanted) return undefined;
  const override = OVERRIDES[wanted];
  if (override) return override;
  const all = load();
  const ranks: [string, (e: Entry) => boolean][] = [
    ['names', (e) => e.names.includes(wanted)],
    ['terms', (e) => e.terms.includes(wanted)],
    ['endings', (e) => e.names.some((n) => n.endsWith(` ${wanted}`))],
  ];
  for (const [rank, hit] of ranks) {
    const hits = all.filter(hit);
    // A search term or ending shared by many presets ("food") is too vague to count by: let the LLM decide.
    if (hits.length && (rank === 'names' || hits.length <= 3)) {
      const unique = new Map(hits.flatMap((h) => h.clauses.map((c) => [JSON.stringify(c), c] as const)));
      return { tags: [...unique.values()], presets: hits.map((h) => h.id) };
    }
  }
  return undefined;
}
