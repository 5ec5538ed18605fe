import type { z } from 'zod';
import { LlmError } from './llm.ts';

/** The HTTP call every adapter makes: one JSON POST, its failures mapped to LlmError codes. */
export type PostJsonOptions = {
  /** Provider name, prefixed to messages so an operator sees which endpoint failed. */
  provider: string;
  url: string;
  headers?: Record<string, string>;
  body: unknown;
  /** Covers the whole exchange, body included: a server that stalls mid-answer times out too. */
  timeoutMs: number;
  signal?: AbortSignal;
  fetch: typeof fetch;
};

export const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * POSTs JSON and returns the parsed 2xx body checked against `schema`. Rejects only with LlmError.
 * The timeout is a plain timer cleared on completion rather than AbortSignal.timeout + AbortSignal.any:
 * at thousands of calls a minute, that leaves no live timers or signal listeners behind each call.
 */
export async function postJson<T>(opts: PostJsonOptions, schema: z.ZodType<T>): Promise<T> {
  const { provider, url, signal } = opts;
  if (signal?.aborted) throw aborted(provider, signal.reason);
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, opts.timeoutMs);
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let status = 0;
  let text: string;
  let headers: Headers;
  try {
    const res = await opts.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...opts.headers },
      body: JSON.stringify(opts.body),
      signal: controller.signal,
    });
    status = res.status;
    headers = res.headers;
    text = await res.text();
  } catch (err) {
    if (timedOut) throw new LlmError(`${provider}: no answer from ${url} within ${opts.timeoutMs} ms`, 'LLM_TIMEOUT', true, undefined, undefined, { cause: err });
    if (signal?.aborted) throw aborted(provider, signal.reason);
    throw fromNetworkError(provider, url, err, status || undefined);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  if (status < 200 || status > 299) throw fromStatus(provider, url, status, headers, text);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new LlmError(`${provider}: answer from ${url} is not JSON: ${snippet(text)}`, 'LLM_SERVER_ERROR', true, undefined, status, { cause: err });
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    // A 2xx that is not the vendor's protocol: a proxy page, a wrong base URL, a server bug.
    const issue = parsed.error.issues[0];
    const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unexpected shape';
    throw new LlmError(`${provider}: unexpected answer from ${url} (${where}): ${snippet(text)}`, 'LLM_SERVER_ERROR', true, undefined, status);
  }
  return parsed.data;
}

function aborted(provider: string, reason: unknown): LlmError {
  return new LlmError(`${provider}: request aborted by the caller`, 'LLM_ABORTED', false, undefined, undefined, { cause: reason });
}

/** fetch rejects with a bare TypeError("fetch failed"); the reason is in `cause.code` (ECONNREFUSED ...). */
function fromNetworkError(provider: string, url: string, err: unknown, status?: number): LlmError {
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  const code = cause?.code ?? (err as { code?: string } | undefined)?.code;
  if (code === 'ERR_INVALID_URL') {
    return new LlmError(`${provider}: invalid URL ${url}`, 'LLM_BAD_REQUEST', false, undefined, undefined, { cause: err });
  }
  // undici's own header/body timeouts (300 s by default) are timeouts too, just not ours.
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new LlmError(`${provider}: ${url} stopped answering (${code})`, 'LLM_TIMEOUT', true, undefined, status, { cause: err });
  }
  const detail = [code, cause?.message ?? (err instanceof Error ? err.message : String(err))].filter(Boolean).join(' ');
  return new LlmError(`${provider}: cannot reach ${url}: ${detail}`, 'LLM_UNREACHABLE', true, undefined, status, { cause: err });
}

/** Maps a non-2xx status to a code; the vendor's own error message goes into the text for humans. */
export function fromStatus(provider: string, url: string, status: number, headers: Headers, text: string): LlmError {
  const message = `${provider}: HTTP ${status} from ${url}: ${errorDetail(text)}`;
  const retryAfterMs = parseRetryAfter(headers);
  if (status === 429) return new LlmError(message, 'LLM_RATE_LIMITED', true, retryAfterMs, status);
  if (status === 408) return new LlmError(message, 'LLM_TIMEOUT', true, retryAfterMs, status);
  // 529 is Anthropic's "overloaded": a 5xx like the others.
  if (status >= 500) return new LlmError(message, 'LLM_SERVER_ERROR', true, retryAfterMs, status);
  if (status === 401 || status === 403) return new LlmError(message, 'LLM_AUTH', false, undefined, status);
  if (status === 404) return new LlmError(message, 'LLM_MODEL_NOT_FOUND', false, undefined, status);
  if (status >= 400) return new LlmError(message, 'LLM_BAD_REQUEST', false, undefined, status);
  // 1xx/3xx reaching us means a redirect fetch would not follow or a broken proxy.
  return new LlmError(message, 'LLM_SERVER_ERROR', false, undefined, status);
}

/**
 * Retry-After as milliseconds: delta-seconds (`"2"`, `"1.5"`) or an HTTP date. OpenAI also sends the
 * more precise `retry-after-ms`, preferred when present. Unparseable or absent: undefined.
 */
export function parseRetryAfter(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms')?.trim();
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.round(Number(ms));
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The vendor's error text: OpenAI/Anthropic `{error:{message}}`, Ollama `{error:"..."}`, else the body. */
function errorDetail(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown };
    const error = body?.error;
    if (typeof error === 'string') return snippet(error);
    if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
      return snippet((error as { message: string }).message);
    }
    if (typeof body?.message === 'string') return snippet(body.message);
  } catch {
    // not JSON: fall through to the raw text
  }
  return snippet(text) || '(empty body)';
}

function snippet(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
