import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ApiError, InvalidParametersError } from './errors.ts';
import type { Logger } from '../logger.ts';

/** The one place errors become responses: Claro's shape, and nothing internal in a 500. */
export function createErrorHandler(logger: Logger) {
  return (err: Error, c: Context): Response => {
    let error: ApiError;
    if (err instanceof ApiError) error = err;
    else if (err instanceof HTTPException) error = fromHttpException(err);
    else {
      logger.error('unhandled error', { method: c.req.method, path: c.req.path, error: err.stack ?? String(err) });
      error = new ApiError('INTERNAL_ERROR', 'Internal server error');
    }
    for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
    return c.json({ error: boundedMessage(error.message), code: error.code, details: bounded(error.details) as Record<string, unknown> }, error.status as 400);
  };
}

/** Longest run of a value echoed back in an error (ids, names, paths); a 1 MB id must not give a 2 MB error. */
export const MAX_ECHO_CHARS = 200;
const MAX_MESSAGE_CHARS = 2000;
const MAX_ECHO_ITEMS = 100;

/** Cuts at a code-point boundary, saying how long the whole was. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, end)}… (${text.length} characters)`;
}

/** A message names values inline: each long unbroken run is cut, then the whole. */
function boundedMessage(message: string): string {
  return cut(message.replace(new RegExp(`\\S{${MAX_ECHO_CHARS + 1},}`, 'g'), (run) => cut(run, MAX_ECHO_CHARS)), MAX_MESSAGE_CHARS);
}

/** Details keep their shape; strings are cut (an issue's `message` like the top-level one) and long lists shortened. */
function bounded(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return cut(value, MAX_ECHO_CHARS);
  if (typeof value !== 'object' || value === null || depth > 8) return value;
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ECHO_ITEMS).map((v) => bounded(v, depth + 1));
    return value.length > MAX_ECHO_ITEMS ? [...items, `… ${value.length - MAX_ECHO_ITEMS} more`] : items;
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [cut(k, MAX_ECHO_CHARS), k === 'message' && typeof v === 'string' ? boundedMessage(v) : bounded(v, depth + 1)]));
}

function fromHttpException(err: HTTPException): ApiError {
  if (err.status === 413) return new ApiError('PAYLOAD_TOO_LARGE', 'Request body is too large');
  if (err.status === 415) return new InvalidParametersError([{ path: 'header.content-type', message: 'Content-Type must be application/json' }]);
  if (err.status === 400) return new InvalidParametersError([{ path: 'body', message: /json/i.test(err.message) ? 'request body is not valid JSON' : err.message }]);
  if (err.status === 401) return new ApiError('UNAUTHORIZED', 'Authentication required');
  return new ApiError('INTERNAL_ERROR', 'Internal server error');
}
