import { z } from 'zod';
import { validLatLng } from '../../providers/places/geo.ts';
import { PlacesError, type TagClause, type TagValue } from '../../providers/places/places.ts';
import type { PlacesProviderName, PlacesProviders } from '../../providers/places/providers.ts';
import { tagsForPhrase } from '../../providers/places/tag-words.ts';
import { renderTemplate } from '../template.ts';
import { CellError, valueText, type ExecutionContext, type Executor } from '../executor.ts';

export const DEFAULT_RADIUS_M = 1000;
export const MAX_RADIUS_M = 50_000;
const SAMPLE_SIZE = 5;

/** Column names found without configuration (SPEC section 4), compared case-insensitively. */
const LAT_NAMES = ['lat', 'latitude'];
const LNG_NAMES = ['lng', 'lon', 'long', 'longitude'];
const COORD_NAMES = ['coordinates', 'coords', 'latlng', 'lat,lng', 'lat/lng', 'location'];

/**
 * places_count: how many places matching the prompt (as OpenStreetMap tags) lie within the radius
 * of the row's coordinates. Tags come from explicit `tags`, else the iD presets, else the LLM; the
 * cell's metadata says which tags were counted (and which presets gave them), where, how far, and
 * from which source.
 */
export function placesCount(deps: { places: PlacesProviders }): Executor {
  return {
    async execute(ctx: ExecutionContext) {
      const meta = ctx.column.metadata;
      const center = location(ctx);
      const radiusMeters = radius(ctx);
      const { tags, tagSource, presets } = await tagsFor(ctx);
      const name = (meta.provider as PlacesProviderName | undefined) ?? deps.places.defaultName();
      // An estimate prices the LLM calls (the tag fallback above) and asks no map service.
      if (ctx.dryRun) return { value: 0 };
      try {
        const provider = await deps.places.get(name);
        const result = await provider.count({ ...center, radiusMeters, tags, sampleSize: SAMPLE_SIZE, signal: ctx.signal });
        return {
          value: result.count,
          metadata: {
            // A count over map data, not a guess: exact for the tags and radius it names.
            confidence: 1,
            confidenceSource: 'exact',
            provider: provider.name,
            tags,
            tagSource,
            ...(presets ? { presets } : {}),
            center,
            radiusMeters,
            attribution: provider.attribution,
            sample: result.sample,
            sources: [{ type: 'map', provider: provider.name, title: provider.attribution }],
          },
        };
      } catch (err) {
        if (err instanceof PlacesError) throw new CellError(err.code, err.message, err.retryable);
        throw err;
      }
    },
  };
}

const fail = (code: string, message: string): never => {
  throw new CellError(code, message);
};

function column(ctx: ExecutionContext, names: string[]): string | undefined {
  return ctx.columns.find((c) => c.id !== ctx.column.id && names.includes(c.name.trim().toLowerCase()))?.id;
}

function number(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') return Number(value.trim());
  return NaN;
}

/** "lat,lng" (also "lat lng" or "lat;lng"), [lat, lng] or {lat, lng}. */
function pair(value: unknown): { lat: number; lng: number } {
  if (Array.isArray(value)) return { lat: number(value[0]), lng: number(value[1]) };
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return { lat: number(o.lat ?? o.latitude), lng: number(o.lng ?? o.lon ?? o.longitude) };
  }
  const parts = valueText(value).trim().split(/\s*[,;]\s*|\s+/);
  if (parts.length !== 2) return { lat: NaN, lng: NaN };
  return { lat: number(parts[0]), lng: number(parts[1]) };
}

function location(ctx: ExecutionContext): { lat: number; lng: number } {
  const meta = ctx.column.metadata;
  let found: { lat: number; lng: number; raw: string } | undefined;
  const latId = (meta.latitudeColumnId as string | undefined) ?? (meta.coordinatesColumnId ? undefined : column(ctx, LAT_NAMES));
  const lngId = (meta.longitudeColumnId as string | undefined) ?? (meta.coordinatesColumnId ? undefined : column(ctx, LNG_NAMES));
  if (latId && lngId) {
    const lat = ctx.row[latId];
    const lng = ctx.row[lngId];
    if (lat === null || lat === undefined || lat === '' || lng === null || lng === undefined || lng === '') fail('MISSING_COORDINATES', 'The row has no latitude or no longitude');
    found = { lat: number(lat), lng: number(lng), raw: `${valueText(lat)}, ${valueText(lng)}` };
  } else {
    const coordId = (meta.coordinatesColumnId as string | undefined) ?? column(ctx, COORD_NAMES);
    if (!coordId) return fail('MISSING_COORDINATES', 'No coordinates: name columns lat/latitude and lng/lon/longitude, or set latitudeColumnId + longitudeColumnId or coordinatesColumnId (a "lat,lng" column)');
    const value = ctx.row[coordId];
    if (value === null || value === undefined || value === '') fail('MISSING_COORDINATES', 'The row has no coordinates');
    found = { ...pair(value), raw: valueText(value) };
  }
  if (!validLatLng(found.lat, found.lng)) fail('INVALID_COORDINATES', `"${found.raw.slice(0, 100)}" is not a valid location: latitude must be a number within [-90, 90] and longitude within [-180, 180]`);
  return { lat: found.lat, lng: found.lng };
}

function radius(ctx: ExecutionContext): number {
  const meta = ctx.column.metadata;
  const ref = meta.radiusColumnId as string | undefined;
  const raw = ref ? ctx.row[ref] : (meta.radiusMeters ?? DEFAULT_RADIUS_M);
  const r = number(raw);
  if (!Number.isFinite(r) || r <= 0 || r > MAX_RADIUS_M) fail('INVALID_RADIUS', `Radius "${valueText(raw).slice(0, 50)}" must be a number of metres above 0 and at most ${MAX_RADIUS_M}`);
  return r;
}

/** Metadata `tags`: one clause `{key: value}` (every key must match) or an array of clauses (any may match). */
export function clausesOf(tags: unknown): TagClause[] {
  const list = Array.isArray(tags) ? tags : [tags];
  return list.map((c) => {
    const out: TagClause = {};
    for (const [k, v] of Object.entries(c as Record<string, TagValue>)) out[k] = v === '*' ? true : v;
    return out;
  });
}

const LlmTags = z.object({
  alternatives: z.array(z.object({ tags: z.array(z.object({ key: z.string(), value: z.string() })) })),
});
const TAG_KEY = /^[A-Za-z0-9_:.-]{1,64}$/;

const TAGS_SCHEMA = {
  type: 'object',
  properties: {
    alternatives: {
      type: 'array',
      description: 'Each alternative is one kind of feature; a feature counts when it has every tag of one alternative.',
      items: {
        type: 'object',
        properties: { tags: { type: 'array', items: { type: 'object', properties: { key: { type: 'string' }, value: { type: 'string', description: 'the tag value, or * for any value' } }, required: ['key', 'value'], additionalProperties: false } } },
        required: ['tags'],
        additionalProperties: false,
      },
    },
  },
  required: ['alternatives'],
  additionalProperties: false,
};

/** The tags to count, where they came from, and for `presets` the iD preset ids the prompt matched. */
async function tagsFor(ctx: ExecutionContext): Promise<{ tags: TagClause[]; tagSource: 'metadata' | 'presets' | 'llm'; presets?: string[] }> {
  const meta = ctx.column.metadata;
  if (meta.tags !== undefined) return { tags: clausesOf(meta.tags), tagSource: 'metadata' };
  const phrase = renderTemplate(String(meta.prompt ?? ctx.column.name), (ref) => (ref in ctx.row ? valueText(ctx.row[ref]) : undefined)).trim();
  const preset = tagsForPhrase(phrase);
  if (preset) return { tags: preset.tags, tagSource: 'presets', presets: preset.presets };
  const answer = await ctx.llm.complete(ctx.defaultModel, {
    messages: [
      { role: 'system', content: 'You translate a description of places into OpenStreetMap tags (the tags mappers use, e.g. amenity=cafe, shop=bakery, leisure=park). Give one alternative per kind of feature meant; use value "*" for any value. If the text does not describe a kind of place that OpenStreetMap maps, answer with no alternatives.' },
      { role: 'user', content: phrase },
    ],
    jsonSchema: { name: 'osm_tags', schema: TAGS_SCHEMA },
    temperature: 0,
  });
  const parsed = LlmTags.safeParse(answer.json);
  const tags: TagClause[] = [];
  for (const alt of parsed.success ? parsed.data.alternatives : []) {
    const clause: TagClause = {};
    for (const { key, value } of alt.tags) {
      const v = value.trim();
      if (TAG_KEY.test(key.trim()) && v && v.length <= 100) clause[key.trim()] = v === '*' ? true : v;
    }
    if (Object.keys(clause).length) tags.push(clause);
  }
  if (!tags.length) fail('NO_TAGS', `"${phrase.slice(0, 100)}" does not name a kind of place with OpenStreetMap tags; rephrase the prompt or set metadata.tags (e.g. {"amenity": "cafe"})`);
  return { tags, tagSource: 'llm' };
}
