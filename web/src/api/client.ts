import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from '../../../clients/typescript/schema.ts';
import { session } from './session';

export type Schemas = components['schemas'];
export type Dataset = Schemas['Dataset'];
export type DatasetDetail = Schemas['DatasetDetail'];
export type Column = Schemas['Column'];
export type TaskType = Schemas['TaskType'];
export type Task = Schemas['Task'];
export type Datasource = Schemas['Datasource'];

/** An error answered by the API ({error, code, details}), or NETWORK_ERROR when it could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
  /** `details.issues` of INVALID_PARAMETERS, by dotted path. */
  issues(): { path: string; message: string }[] {
    const list = (this.details as { issues?: { path?: unknown; message?: unknown }[] }).issues;
    if (!Array.isArray(list)) return [];
    return list.map((i) => ({ path: Array.isArray(i.path) ? i.path.join('.') : String(i.path ?? ''), message: String(i.message ?? '') }));
  }
}

export function authHeaders(): Record<string, string> {
  const key = session.get().key;
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** Every answer goes through here: a 401 signs out with the server's reason. */
export async function checkResponse(response: Response): Promise<void> {
  session.setUnreachable(false);
  if (response.status === 401) {
    let message = 'Your API key was not accepted.';
    try {
      const body = (await response.clone().json()) as { error?: string };
      if (body.error) message = body.error;
    } catch {
      // not JSON: keep the generic reason
    }
    session.signOut(message);
  }
}

/** fetch with the key, the 401 rule and the unreachable-server banner. */
export async function apiFetch(input: string, init: RequestInit = {}): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(input, { ...init, headers: { ...authHeaders(), ...(init.headers as Record<string, string> | undefined) } });
  } catch (e) {
    if ((e as Error).name !== 'AbortError') session.setUnreachable(true);
    throw e instanceof Error && e.name === 'AbortError' ? e : new ApiError(0, 'NETWORK_ERROR', 'The server cannot be reached.');
  }
  await checkResponse(response);
  return response;
}

const middleware: Middleware = {
  onRequest({ request }) {
    const key = session.get().key;
    if (key) request.headers.set('authorization', `Bearer ${key}`);
    return request;
  },
  async onResponse({ response }) {
    await checkResponse(response);
    return response;
  },
  onError({ error }) {
    if ((error as Error)?.name === 'AbortError') return;
    session.setUnreachable(true);
    return new ApiError(0, 'NETWORK_ERROR', 'The server cannot be reached.');
  },
};

export const api = createClient<paths>({ baseUrl: '' });
api.use(middleware);

/** The data of an openapi-fetch answer, or its error thrown as an ApiError. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) {
    const e = (error ?? {}) as { error?: string; code?: string; details?: Record<string, unknown> };
    throw new ApiError(response.status, e.code ?? 'HTTP_' + response.status, e.error ?? `Request failed (${response.status})`, e.details ?? {});
  }
  return data as T;
}

/** Reads an error body of a plain fetch answer (multipart uploads, streams). */
export async function errorOf(response: Response): Promise<ApiError> {
  try {
    const e = (await response.json()) as { error?: string; code?: string; details?: Record<string, unknown> };
    return new ApiError(response.status, e.code ?? 'HTTP_' + response.status, e.error ?? `Request failed (${response.status})`, e.details ?? {});
  } catch {
    return new ApiError(response.status, 'HTTP_' + response.status, `Request failed (${response.status})`);
  }
}
