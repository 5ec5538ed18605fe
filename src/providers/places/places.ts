/**
 * The places port: "how many features with these OpenStreetMap tags lie within this radius of this
 * point?". Two adapters pass the shared suite in places.contract.ts: a local index built from an
 * extract the operator downloads once (local.ts), and the Overpass API (overpass.ts).
 */

/** One tag condition's accepted values: a value, any of several values, or any value at all (`true`). */
export type TagValue = string | string[] | true;
/**
 * A clause: every key must match (like Overpass's chained `["k"="v"]` filters). A query holds one
 * or more clauses and counts a feature that matches any of them (a union, like Overpass's `(...;)`).
 */
export type TagClause = Record<string, TagValue>;

export type PlacesQuery = {
  /** Centre, WGS84 degrees. */
  lat: number;
  lng: number;
  /** Great-circle radius in metres; a feature exactly on it counts (within 1 mm of float noise). */
  radiusMeters: number;
  /** Features matching any clause count. Never empty. */
  tags: TagClause[];
  /** How many names to return for the sample (nearest first where the adapter can tell). */
  sampleSize: number;
  signal?: AbortSignal;
};

export type PlacesResult = {
  count: number;
  /** Up to `sampleSize` names of counted features. */
  sample: string[];
};

export type PlacesProvider = {
  /** `local` or `overpass`: recorded in cell metadata. */
  readonly name: string;
  /** The data licence notice a user of the numbers must show. */
  readonly attribution: string;
  /** Counts matching features; fails with a PlacesError. */
  count(query: PlacesQuery): Promise<PlacesResult>;
};

export const OSM_ATTRIBUTION = '© OpenStreetMap contributors';

/**
 * The codes a places source fails with; they end on the cell (status `error`, metadata.error.code).
 * Documented in docs/places.md.
 */
export const PLACES_ERROR_CODES = {
  /** No local index and no CELLWISE_PLACES_FILE. */
  PLACES_NOT_CONFIGURED: 'no local index: import one or use Overpass',
  /** The local index (or its source) could not be opened or built. */
  PLACES_INDEX_FAILED: 'the local index could not be opened or built',
  /** A tag key the local index did not select its features by: its count would be short. */
  PLACES_KEY_NOT_INDEXED: 'the local index cannot answer a query on this key: re-index',
  /** Overpass unreachable or out of time (retryable). */
  PLACES_UNAVAILABLE: 'Overpass did not answer',
  /** Overpass answered 429/502/503/504 (retryable). */
  PLACES_RATE_LIMITED: 'Overpass is busy',
  /** Overpass refused the query. */
  PLACES_QUERY_FAILED: 'Overpass refused the query',
  /** Overpass answered something that is not its JSON output. */
  PLACES_BAD_RESPONSE: 'Overpass answered something else',
  /** The cell was cancelled while waiting for Overpass. */
  PLACES_ABORTED: 'cancelled',
} as const;
export type PlacesErrorCode = keyof typeof PLACES_ERROR_CODES;

/** A failure of a places source (unreachable, rate-limited, broken index); `retryable` tells the engine to try the cell again later. */
export class PlacesError extends Error {
  constructor(
    readonly code: PlacesErrorCode,
    message: string,
    readonly retryable = false,
    readonly retryAfterMs?: number,
    /** Machine-usable facts for the cell's metadata (e.g. `{key}` for PLACES_KEY_NOT_INDEXED). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}
