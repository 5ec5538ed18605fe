import http from 'node:http';
import https from 'node:https';

/**
 * The `fetch` the LLM adapters use by default: node:http with keep-alive agents, answering the
 * subset postJson reads (status, headers.get, text()). Profiling the engine at 600 calls a second
 * put fetch's web streams and undici machinery at a fifth of a worker's CPU; this path is the same
 * HTTP with a fraction of the allocations. Adapters still accept any fetch (tests inject their own).
 */
// Idle sockets close after 4 s (undici's default), before servers' own idle timeouts can race a reuse.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'lifo', timeout: 4000 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'lifo', timeout: 4000 }),
};

type Answer = { status: number; headers: { get(name: string): string | null }; text(): Promise<string> };

export const keepAliveFetch = ((input: string | URL, init: RequestInit = {}): Promise<Answer> => {
  const url = new URL(String(input));
  const transport = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
  if (!transport) return Promise.reject(Object.assign(new TypeError(`unsupported protocol ${url.protocol}`), { cause: { code: 'ERR_INVALID_URL' } }));
  const body = typeof init.body === 'string' ? Buffer.from(init.body) : undefined;
  const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
  if (body) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = transport.request(url, { method: init.method ?? 'GET', headers, agent: agents[url.protocol as 'http:' | 'https:'], ...(init.signal ? { signal: init.signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => reject(Object.assign(new TypeError('fetch failed'), { cause: err })));
      // The connection closed before the body's end (a promise settles once: after 'end' this is a no-op).
      res.on('close', () => res.complete || reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'UND_ERR_SOCKET', message: 'other side closed' } })));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: { get: (name) => [res.headers[name.toLowerCase()] ?? null].flat()[0] ?? null },
          text: () => Promise.resolve(text),
        });
      });
    });
    // Like fetch: network failures reject with a TypeError whose cause carries the code.
    req.on('error', (err) => reject(Object.assign(new TypeError('fetch failed'), { cause: err })));
    req.end(body);
  });
}) as unknown as typeof fetch;
