import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The machinery shared by the fake LLM servers (OpenAI-compatible, Anthropic, Ollama): a real HTTP
 * server on 127.0.0.1, a record of every request, scripted replies, latency. Each fake only says how
 * a reply looks in its protocol. Cheap per request (no schema compilation, a sha1 of one message) so
 * throughput benchmarks measure the engine, not the fake.
 */

/** A request body as the fakes see it: the protocol's JSON, with the fields all three share typed. */
export type FakeBody = Record<string, unknown> & { model?: string; messages?: { role: string; content: unknown }[] };

export type RecordedRequest = {
  /** 0-based arrival order. */
  index: number;
  /** Date.now() when the request arrived (before latency), for request-rate assertions. */
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: FakeBody;
  /** True from arrival until the answer is sent or the client abandons the request (closes its connection). */
  open: boolean;
};

export type FakeUsage = { input: number; output: number };
export type FakeLogprob = { token: string; logprob: number; top?: { token: string; logprob: number }[] };

/** What the fake answers. Successful kinds are rendered in the fake's own protocol. */
export type FakeReply = (
  | { kind: 'text'; text: string; logprobs?: FakeLogprob[]; finishReason?: string }
  /** Content is JSON.stringify(value): a structured answer (valid or not: the fake does not check). */
  | { kind: 'json'; value: unknown }
  /** A tool call (Anthropic: tool_use block); arguments as a value or an already-serialised string. */
  | { kind: 'tool-call'; name?: string; arguments: unknown }
  /** An HTTP error in the protocol's error shape; retryAfter becomes the Retry-After header. */
  | { kind: 'error'; status: number; message?: string; retryAfter?: number | string; headers?: Record<string, string> }
  /** 200 with a body that is not JSON. */
  | { kind: 'malformed' }
  /** Never answers; the connection stays open until the client gives up or the fake closes. */
  | { kind: 'hang' }
  /** Destroys the socket without answering (ECONNRESET / "other side closed" at the client). */
  | { kind: 'reset' }
) & { usage?: FakeUsage; delayMs?: number };

export type FakeServerOptions = {
  /** Time from a request's arrival to its answer (default 0). A reply's own `delayMs` wins. */
  latencyMs?: number;
  /**
   * Play a server that ignores `logprobs: true` (LM Studio, older Ollama, many proxies): answers
   * carry no log-probabilities, scripted ones included. `server.omitLogprobs` switches it later.
   */
  omitLogprobs?: boolean;
  /** Decides the answer; return undefined for the default. Consulted after the `enqueue`d replies. */
  respond?: (req: RecordedRequest) => FakeReply | undefined;
};

export type FakeLlmServer = {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** What to give the adapter as its base URL (the OpenAI fake adds `/v1`). */
  baseUrl: string;
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[];
  /** requests.length. */
  readonly count: number;
  /** TCP connections accepted so far: far fewer than `count` when clients keep connections alive. */
  readonly connections: number;
  /** The most completion requests that were open at once (arrived, not yet answered or abandoned). */
  readonly peakInFlight: number;
  /** Whether answers leave out log-probabilities (see FakeServerOptions.omitLogprobs); settable. */
  omitLogprobs: boolean;
  /** Replies used, one per request, before `respond` and the default: scripted failures. */
  enqueue(...replies: FakeReply[]): void;
  /** Forgets recorded requests and queued replies. */
  reset(): void;
  /** Stops listening and drops open connections (hanging requests included). */
  close(): Promise<void>;
};

/** How one protocol renders replies; implemented by each fake. */
export type FakeProtocol = {
  /** The one POST path served; others get 404. */
  path: string;
  /** Suffix of baseUrl after the origin (`/v1` for OpenAI). */
  basePath: string;
  defaultReply(req: RecordedRequest): FakeReply;
  /** The 200 body of a text/json/tool-call reply; no log-probabilities when `omitLogprobs`. */
  render(reply: Extract<FakeReply, { kind: 'text' | 'json' | 'tool-call' }>, req: RecordedRequest, usage: FakeUsage, omitLogprobs: boolean): unknown;
  /** The error body for a status (the vendor's error JSON shape). */
  renderError(status: number, message: string): unknown;
};

export async function startFakeServer(protocol: FakeProtocol, options: FakeServerOptions = {}): Promise<FakeLlmServer> {
  const requests: RecordedRequest[] = [];
  const queue: FakeReply[] = [];
  let inFlight = 0;
  let peakInFlight = 0;
  let omitLogprobs = options.omitLogprobs === true;

  const server = createServer((req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: FakeBody;
      try {
        body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as FakeBody) : {};
      } catch {
        return send(res, 400, protocol.renderError(400, 'request body is not JSON'));
      }
      const record: RecordedRequest = { index: requests.length, at, method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0]!, headers: req.headers, body, open: true };
      res.once('close', () => (record.open = false));
      requests.push(record);
      if (record.method !== 'POST' || record.path !== protocol.path) {
        return send(res, 404, protocol.renderError(404, `no route ${record.method} ${record.path}`));
      }
      peakInFlight = Math.max(peakInFlight, ++inFlight);
      res.once('close', () => inFlight--);
      const reply = queue.shift() ?? options.respond?.(record) ?? protocol.defaultReply(record);
      // Latency counts from arrival, like a server that takes that long to answer, body read included.
      const delay = (reply.delayMs ?? options.latencyMs ?? 0) - (Date.now() - at);
      if (delay > 0) setTimeout(() => answer(req, res, record, reply), delay);
      else answer(req, res, record, reply);
    });
  });

  function answer(req: IncomingMessage, res: ServerResponse, record: RecordedRequest, reply: FakeReply): void {
    if (!res.socket || res.socket.destroyed) return; // the client gave up during the latency
    switch (reply.kind) {
      case 'hang':
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"id": "broken", "choices": [');
        return;
      case 'error': {
        const headers: Record<string, string> = { ...reply.headers };
        if (reply.retryAfter !== undefined) headers['retry-after'] = String(reply.retryAfter);
        send(res, reply.status, protocol.renderError(reply.status, reply.message ?? `fake error ${reply.status}`), headers);
        return;
      }
      default: {
        const text = replyText(reply);
        const usage = reply.usage ?? { input: estimateTokens(record.body.messages), output: Math.max(1, Math.ceil(text.length / 4)) };
        send(res, 200, protocol.render(reply, record, usage, omitLogprobs));
      }
    }
  }

  // Clients keep connections alive for a few seconds; a server closing them first races the client's
  // next request on that socket (a spurious ECONNRESET). So the fake outlives the client's idle timer.
  let connections = 0;
  server.on('connection', () => connections++);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    baseUrl: url + protocol.basePath,
    requests,
    get count() {
      return requests.length;
    },
    get connections() {
      return connections;
    },
    get peakInFlight() {
      return peakInFlight;
    },
    get omitLogprobs() {
      return omitLogprobs;
    },
    set omitLogprobs(on: boolean) {
      omitLogprobs = on;
    },
    enqueue: (...replies) => void queue.push(...replies),
    reset() {
      requests.length = 0;
      queue.length = 0;
      connections = 0;
      peakInFlight = inFlight;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

/** The text a successful reply carries (what usage and logprobs are computed from). */
export function replyText(reply: Extract<FakeReply, { kind: 'text' | 'json' | 'tool-call' }>): string {
  if (reply.kind === 'text') return reply.text;
  if (reply.kind === 'json') return JSON.stringify(reply.value);
  return typeof reply.arguments === 'string' ? reply.arguments : JSON.stringify(reply.arguments);
}

/** The text of a message whose content is a string or (Anthropic) an array of text blocks. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((b) => (b && typeof b === 'object' && 'text' in b ? String(b.text) : '')).join('');
  return '';
}

/** Deterministic default answer: the same last user message always gets the same text. */
export function echoText(body: FakeBody): string {
  const lastUser = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user');
  const hash = createHash('sha1').update(contentText(lastUser?.content)).digest('hex').slice(0, 12);
  return `fake answer ${hash}`;
}

/** ~4 characters per token, like the vendors' rule of thumb: deterministic, so tests can predict it. */
export function estimateTokens(messages: FakeBody['messages']): number {
  let chars = 0;
  for (const m of messages ?? []) chars += contentText(m.content).length;
  return Math.max(1, Math.ceil(chars / 4));
}

/** Synthetic log-probabilities: one entry per word, the word itself most likely. */
export function fakeLogprobs(text: string, top: number): FakeLogprob[] {
  return (text.match(/\S+\s*/g) ?? []).map((token) => ({
    token,
    logprob: -0.01,
    top: [
      { token, logprob: -0.01 },
      { token: ' other', logprob: -4.6 },
      { token: ' else', logprob: -5.3 },
      { token: ' maybe', logprob: -6.1 },
      { token: ' no', logprob: -7.2 },
    ].slice(0, Math.max(0, top)),
  }));
}

/**
 * The default structured answer: for the engine's self-rating wrapper (`{value, confidence}`, see
 * ai_enrich) a value like an unstructured answer's (the echo text for a string) rated 0.9; for any
 * other schema a minimal valid value (exampleFor).
 */
export function schemaAnswer(schema: unknown, body: FakeBody): unknown {
  const props = (schema as { properties?: Record<string, { type?: unknown }> } | undefined)?.properties;
  if (props && Object.keys(props).sort().join() === 'confidence,value' && props.confidence?.type === 'number') {
    return { value: props.value?.type === 'string' ? echoText(body) : exampleFor(props.value ?? {}), confidence: 0.9 };
  }
  return exampleFor(schema);
}

/**
 * A minimal value valid against `schema`: strings "x", numbers 1 (clamped to min/max), booleans
 * true, enums their first value, arrays one item (or minItems), objects every declared property.
 */
export function exampleFor(schema: unknown, root: unknown = schema, depth = 0): unknown {
  if (!schema || typeof schema !== 'object' || depth > 20) return null;
  const s = schema as Record<string, unknown>;
  if (typeof s.$ref === 'string') return exampleFor(resolveRef(root, s.$ref), root, depth + 1);
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  for (const key of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(s[key])) return exampleFor((s[key] as unknown[]).find((o) => (o as { type?: unknown })?.type !== 'null') ?? (s[key] as unknown[])[0], root, depth + 1);
  }
  if (Array.isArray(s.allOf)) return Object.assign({}, ...s.allOf.map((part) => exampleFor(part, root, depth + 1)));
  const type = Array.isArray(s.type) ? (s.type.find((t) => t !== 'null') ?? s.type[0]) : (s.type ?? (s.properties ? 'object' : undefined));
  switch (type) {
    case 'string':
      return 'x'.repeat(Math.max(1, Number(s.minLength ?? 1)));
    case 'number':
    case 'integer': {
      let n = 1;
      if (typeof s.minimum === 'number' && n < s.minimum) n = s.minimum;
      if (typeof s.exclusiveMinimum === 'number' && n <= s.exclusiveMinimum) n = s.exclusiveMinimum + 1;
      if (typeof s.maximum === 'number' && n > s.maximum) n = s.maximum;
      return type === 'integer' ? Math.ceil(n) : n;
    }
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'array': {
      const n = Math.max(1, Number(s.minItems ?? 1));
      return Array.from({ length: s.maxItems === 0 ? 0 : n }, () => exampleFor(s.items ?? {}, root, depth + 1));
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, sub] of Object.entries((s.properties ?? {}) as Record<string, unknown>)) out[key] = exampleFor(sub, root, depth + 1);
      return out;
    }
    default:
      return 'x';
  }
}

function resolveRef(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return {};
  let node = root as Record<string, unknown> | undefined;
  for (const part of ref.slice(2).split('/')) node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')] as Record<string, unknown> | undefined;
  return node ?? {};
}
