import { z } from '@hono/zod-openapi';

export const ErrorBody = z
  .object({
    error: z.string().openapi({ example: 'Dataset ds_123 not found' }),
    code: z.string().openapi({ example: 'DATASET_NOT_FOUND' }),
    details: z.record(z.string(), z.unknown()),
  })
  .openapi('Error');

export const Pagination = z.object({ page: z.number().int(), limit: z.number().int(), total: z.number().int(), totalPages: z.number().int() }).openapi('Pagination');

/** page/limit query parameters; out-of-range values are INVALID_PARAMETERS, never clamped. */
export function pageQuery(defaultLimit: number, maxLimit: number) {
  return {
    page: z.coerce.number().int().min(1).max(1_000_000).default(1).openapi({ param: { name: 'page', in: 'query' }, example: 1 }),
    limit: z.coerce.number().int().min(1).max(maxLimit).default(defaultLimit).openapi({ param: { name: 'limit', in: 'query' }, example: defaultLimit }),
  };
}

export function pagination(page: number, limit: number, total: number) {
  return { page, limit, total, totalPages: Math.ceil(total / limit) };
}

export const BooleanQuery = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: ErrorBody } } });
/** The error responses every authenticated route can give. */
export const ERROR_RESPONSES = {
  400: errorResponse('INVALID_PARAMETERS and other bad input'),
  401: errorResponse('UNAUTHORIZED'),
  403: errorResponse('ACCESS_DENIED'),
  404: errorResponse('a *_NOT_FOUND code'),
  409: errorResponse('PROCESSING_IN_PROGRESS or IDEMPOTENCY_KEY_CONFLICT'),
  429: errorResponse('RATE_LIMITED'),
} as const;

export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
export const jsonBody = <T extends z.ZodType>(schema: T) => ({ required: true, content: { 'application/json': { schema } } });
