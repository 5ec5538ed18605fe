import { z } from 'zod';
import { OSM_ATTRIBUTION, PlacesError, type PlacesProvider, type PlacesQuery, type PlacesResult, type TagClause, type TagValue } from './places.ts';

export const PUBLIC_OVERPASS_URL = 'https://overpass-api.de/api/interpreter';

export type OverpassOptions = {
  /** The interpreter endpoint, e.g. https://overpass-api.de/api/interpreter. */
  url: string;
  /** Requests in flight at once: the public instance allows about two per client. */
  concurrency?: number;
  /** Per request, client side; the query's own [timeout:] is set a little lower. */
  timeoutMs?: number;
  /** Tries on 429, 503, 504 and network failures before the cell is handed back to the engine's retry. */
  maxAttempts?: number;
  /** First backoff delay when the server sends no Retry-After; doubles per try. */
  backoffMs?: number;
  userAgent?: string;
};

/** Longest wait we honour from a Retry-After; beyond it the cell is handed back to the engine's own backoff. */
const MAX_RETRY_AFTER_MS = 60_000;

const Response = z.object({
  elements: z.array(z.object({ type: z.string(), tags: z.record(z.string(), z.string()).optional() })),
  remark: z.string().optional(),
});

const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
const regexEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function filter(key: string, want: TagValue): string {
  if (want === true) return `[${quote(key)}]`;
  if (Array.isArray(want)) return `[${quote(key)}~${quote(`^(${want.map(regexEscape).join('|')})$`)}]`;
  return `[${quote(key)}=${quote(want)}]`;
}

/**
 * The Overpass QL for one count: a union of `nwr` around-queries (one per clause), `out count`,
 * then the names of a few named members for the sample. Overpass's `around` counts a way or
 * relation when any of its nodes or segments is within the radius (as the local index does); the
 * areas that hold the centre with all their edges beyond the radius (a large park, a lake) are
 * added from `is_in`, the ways and relations behind the enclosing areas, so both sources count
 * "any part of the feature within the radius", its inside included.
 */
export function overpassQuery(q: Pick<PlacesQuery, 'lat' | 'lng' | 'radiusMeters' | 'tags' | 'sampleSize'>, timeoutSeconds: number): string {
  const at = `${round(q.lat, 7)},${round(q.lng, 7)}`;
  const around = `(around:${round(q.radiusMeters, 3)},${at})`;
  const parts = q.tags.flatMap((clause: TagClause) => {
    const filters = Object.entries(clause)
      .map(([k, v]) => filter(k, v))
      .join('');
    return [`  nwr${filters}${around};`, `  way(pivot.in)${filters};`, `  rel(pivot.in)${filters};`];
  });
  return [`[out:json][timeout:${timeoutSeconds}];`, `is_in(${at})->.in;`, '(', ...parts, ')->.all;', '.all out count;', 'nwr.all["name"];', `out tags ${q.sampleSize};`].join('\n');
}

const round = (n: number, digits: number) => Number(n.toFixed(digits));

/** The Overpass adapter, with the public instance's etiquette: little concurrency, a timeout, backoff honouring Retry-After. */
export function createOverpassProvider(options: OverpassOptions): PlacesProvider {
  const concurrency = options.concurrency ?? 2;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxAttempts = options.maxAttempts ?? 3;
  const backoffMs = options.backoffMs ?? 1000;
  let active = 0;
  const waiting: (() => void)[] = [];
  const acquire = async () => {
    if (active < concurrency) {
      active++;
      return;
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };

  async function once(body: string, signal: AbortSignal | undefined): Promise<PlacesResult | { retryAfterMs: number | undefined; error: PlacesError }> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: globalThis.Response;
    try {
      res = await fetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': options.userAgent ?? 'cellwise (self-hosted places_count)' },
        body: `data=${encodeURIComponent(body)}`,
        signal: combined,
      });
    } catch (err) {
      if (signal?.aborted) throw new PlacesError('PLACES_ABORTED', 'The request to Overpass was cancelled');
      const why = timeout.aborted ? `no answer within ${timeoutMs} ms` : err instanceof Error ? err.message : String(err);
      return { retryAfterMs: undefined, error: new PlacesError('PLACES_UNAVAILABLE', `Overpass did not answer: ${why}`, true) };
    }
    if (res.status === 429 || res.status === 503 || res.status === 504 || res.status === 502) {
      await res.body?.cancel();
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      return { retryAfterMs, error: new PlacesError('PLACES_RATE_LIMITED', `Overpass answered ${res.status}${res.status === 429 ? ' (too many requests)' : ' (busy)'}`, true, retryAfterMs) };
    }
    const text = await res.text();
    if (!res.ok) throw new PlacesError('PLACES_QUERY_FAILED', `Overpass answered ${res.status}: ${text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300)}`);
    let parsed: z.infer<typeof Response>;
    try {
      parsed = Response.parse(JSON.parse(text));
    } catch {
      throw new PlacesError('PLACES_BAD_RESPONSE', 'Overpass answered something that is not its JSON output');
    }
    // A query that ran out of time or memory still answers 200, with a remark and partial output.
    if (parsed.remark && /error|timed out|out of memory/i.test(parsed.remark)) return { retryAfterMs: undefined, error: new PlacesError('PLACES_UNAVAILABLE', `Overpass: ${parsed.remark}`, true) };
    const counter = parsed.elements.find((e) => e.type === 'count');
    const total = Number(counter?.tags?.total);
    if (!Number.isInteger(total) || total < 0) throw new PlacesError('PLACES_BAD_RESPONSE', 'Overpass answered without a count');
    const sample = parsed.elements.filter((e) => e.type !== 'count' && e.tags?.name).map((e) => e.tags!.name!);
    return { count: total, sample };
  }

  return {
    name: 'overpass',
    attribution: OSM_ATTRIBUTION,
    async count(q: PlacesQuery): Promise<PlacesResult> {
      const body = overpassQuery(q, Math.max(1, Math.floor(timeoutMs / 1000) - 2));
      let last: PlacesError | undefined;
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        await acquire();
        let outcome: Awaited<ReturnType<typeof once>>;
        try {
          outcome = await once(body, q.signal);
        } finally {
          release();
        }
        if ('count' in outcome) return { count: outcome.count, sample: outcome.sample.slice(0, q.sampleSize) };
        last = outcome.error;
        if (attempt === maxAttempts) break;
        const wait = outcome.retryAfterMs ?? backoffMs * 2 ** (attempt - 1);
        if (wait > MAX_RETRY_AFTER_MS) break;
        await sleep(wait, q.signal);
      }
      throw last ?? new PlacesError('PLACES_UNAVAILABLE', 'Overpass did not answer', true);
    },
  };
}

export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new PlacesError('PLACES_ABORTED', 'The request to Overpass was cancelled'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new PlacesError('PLACES_ABORTED', 'The request to Overpass was cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
