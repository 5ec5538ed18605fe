/**
 * The fetcher port: one GET of a public web resource, redirects followed, with the safety rules of
 * the adapter (schemes, addresses, size, time). Non-2xx answers are returned, not thrown: callers
 * (robots.txt, the page reader) decide what a status means. Anything that stops the fetch itself is
 * a FetchError.
 */
export type FetchedResponse = {
  /** The URL that answered, after redirects. */
  url: string;
  status: number;
  /** The media type without parameters, lower case ('' when the server sent none). */
  contentType: string;
  /** The charset parameter of Content-Type, when given. */
  charset?: string;
  /** The decoded (decompressed) body, at most the adapter's size cap. */
  body: Buffer;
};

export type FetchOptions = { signal?: AbortSignal; accept?: string };

export interface Fetcher {
  /** GETs `url`; rejects with FetchError when the URL is refused or the transfer fails. */
  fetch(url: string, options?: FetchOptions): Promise<FetchedResponse>;
}

/** Codes of fetch failures as they appear on a cell's `metadata.error.code`. */
export type FetchErrorCode =
  | 'FETCH_BLOCKED'
  | 'FETCH_INVALID_URL'
  | 'FETCH_DNS'
  | 'FETCH_FAILED'
  | 'FETCH_TIMEOUT'
  | 'FETCH_TOO_LARGE'
  | 'FETCH_TOO_MANY_REDIRECTS'
  | 'FETCH_HTTP_ERROR'
  | 'FETCH_ROBOTS_DISALLOWED'
  | 'FETCH_UNSUPPORTED_CONTENT'
  | 'FETCH_BOT_WALL'
  | 'FETCH_LOGIN_WALL'
  | 'FETCH_ERROR_PAGE'
  | 'FETCH_NO_CONTENT';

/** A failure of the web as an outside system: ends on the cell with its code, never as an HTTP error. */
export class FetchError extends Error {
  constructor(
    readonly code: FetchErrorCode,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

/**
 * Parses a URL for fetching: absolute http(s) only, no credentials. Every redirect target is
 * checked again with this. `file:`, `gopher:`, `ftp:`, `data:`, `javascript:` ... are refused.
 */
export function parseFetchUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FetchError('FETCH_INVALID_URL', `Not an absolute URL: ${raw.slice(0, 200)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FetchError('FETCH_BLOCKED', `Refused ${url.protocol} URL: only http and https are fetched`);
  if (url.username || url.password) throw new FetchError('FETCH_BLOCKED', 'Refused a URL with credentials (user:password@host)');
  url.hash = '';
  return url;
}
