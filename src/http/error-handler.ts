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
    return c.json({ error: error.message, code: error.code, details: error.details }, error.status as 400);
  };
}

function fromHttpException(err: HTTPException): ApiError {
  if (err.status === 413) return new ApiError('PAYLOAD_TOO_LARGE', 'Request body is too large');
  if (err.status === 415) return new InvalidParametersError([{ path: 'header.content-type', message: 'Content-Type must be application/json' }]);
  if (err.status === 400) return new InvalidParametersError([{ path: 'body', message: /json/i.test(err.message) ? 'request body is not valid JSON' : err.message }]);
  if (err.status === 401) return new ApiError('UNAUTHORIZED', 'Authentication required');
  return new ApiError('INTERNAL_ERROR', 'Internal server error');
}
