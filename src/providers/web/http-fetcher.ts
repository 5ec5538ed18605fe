import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { pinnedLookup, resolveHost, resolvePublic, systemResolver, urlHost, type ResolvedAddress, type Resolver } from './address-policy.ts';
import { FetchError, parseFetchUrl, type FetchedResponse, type Fetcher, type FetchOptions } from './fetcher.ts';

export type HttpFetcherOptions = {
  /** CELLWISE_FETCH_ALLOW_PRIVATE: loopback and private addresses may be reached (tests, intranets). */
  allowPrivate: boolean;
  userAgent: string;
  connectTimeoutMs: number;
  /** The whole exchange, redirects and body included. */
  timeoutMs: number;
  /** Cap on the decoded body; larger answers fail with FETCH_TOO_LARGE. */
  maxBytes: number;
  maxRedirects?: number;
  resolver?: Resolver;
  /**
   * Tests only, never set from configuration: these host names (lower case) resolve to the given
   * loopback address, which the address policy takes as public for that name on the given port
   * only. Everything else, including the same address by IP, another name or another port, stays
   * refused: the SSRF suite uses it to play "a public site that redirects to a private address".
   */
  pretendPublic?: Readonly<Record<string, { address: string; port: number }>>;
};

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * The fetcher over node:http(s). Each hop resolves the host once, checks every address, and hands
 * the checked addresses to the socket through `lookup`, so the connection goes to what was checked
 * (no DNS-rebinding gap); IP literals are checked as they are (Node does not look them up).
 * Redirects are followed by hand so every target gets the same checks.
 */
export function createHttpFetcher(options: HttpFetcherOptions): Fetcher {
  const resolver = options.resolver ?? systemResolver;
  const maxRedirects = options.maxRedirects ?? 5;
  // Own agents: pooled sockets were opened under this fetcher's policy only.
  const agents = { 'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }), 'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }) };

  async function addressesFor(url: URL, port: number): Promise<ResolvedAddress[]> {
    const host = urlHost(url);
    // Tests only: a pretendPublic name resolves to its loopback address, which the policy below takes
    // as public on the name's own port only.
    const pretend = options.pretendPublic?.[host];
    const resolve: Resolver = pretend ? () => resolveHost(pretend.address) : resolver;
    if (options.allowPrivate) {
      try {
        return await resolveHost(host, resolve);
      } catch {
        throw new FetchError('FETCH_DNS', `Host ${host} does not resolve`, true);
      }
    }
    const checked = await resolvePublic(host, resolve, pretend?.port === port ? pretend.address : undefined);
    if (!checked.ok) throw checked.resolved ? new FetchError('FETCH_BLOCKED', `Refused ${url.origin}: ${checked.reason}`) : new FetchError('FETCH_DNS', checked.reason, true);
    return checked.addresses;
  }

  function hop(url: URL, signal: AbortSignal, accept: string, addresses: ResolvedAddress[]): Promise<{ status: number; headers: http.IncomingHttpHeaders; body?: Buffer }> {
    const lookup = pinnedLookup(addresses);
    const host = urlHost(url);
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(
        {
          protocol: url.protocol,
          hostname: host,
          port: url.port || undefined,
          path: `${url.pathname}${url.search}`,
          method: 'GET',
          agent: agents[url.protocol as 'http:' | 'https:'],
          lookup,
          ...(isIP(host) ? {} : { servername: host }),
          headers: { 'user-agent': options.userAgent, accept, 'accept-encoding': 'gzip, deflate, br', 'accept-language': 'en;q=1, *;q=0.5' },
          signal,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (REDIRECTS.has(status) && res.headers.location) {
            res.resume();
            return resolve({ status, headers: res.headers });
          }
          const declared = Number(res.headers['content-length']);
          const encoding = String(res.headers['content-encoding'] ?? 'identity').toLowerCase();
          if (encoding === 'identity' && declared > options.maxBytes) {
            res.destroy();
            return reject(tooLarge(url));
          }
          let stream: Readable = res;
          if (encoding === 'gzip' || encoding === 'x-gzip') stream = res.pipe(zlib.createGunzip());
          else if (encoding === 'deflate') stream = res.pipe(zlib.createInflate());
          else if (encoding === 'br') stream = res.pipe(zlib.createBrotliDecompress());
          const chunks: Buffer[] = [];
          let size = 0;
          stream.on('data', (chunk: Buffer) => {
            size += chunk.length;
            // Counted after decompression: a small compressed bomb is refused like a huge page.
            if (size > options.maxBytes) {
              res.destroy();
              stream.destroy();
              return reject(tooLarge(url));
            }
            chunks.push(chunk);
          });
          stream.on('end', () => resolve({ status, headers: res.headers, body: Buffer.concat(chunks) }));
          stream.on('error', (err) => reject(transferError(url, err, signal)));
          res.on('error', (err) => reject(transferError(url, err, signal)));
        },
      );
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(() => req.destroy(new FetchError('FETCH_TIMEOUT', `Connecting to ${url.host} took longer than ${options.connectTimeoutMs} ms`, true)), options.connectTimeoutMs);
        socket.once('connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      req.on('error', (err) => reject(transferError(url, err, signal)));
      req.end();
    });
  }

  /** The error of a fetch stopped by its signal: the timeout's own, or a cancel by the caller. */
  const cancelled = (url: URL, signal: AbortSignal): FetchError => (signal.reason instanceof FetchError ? signal.reason : new FetchError('FETCH_FAILED', `Fetching ${url.href} was cancelled`, true));

  function transferError(url: URL, err: Error, signal: AbortSignal): FetchError {
    if (err instanceof FetchError) return err;
    if (signal.aborted) return cancelled(url, signal);
    const code = (err as NodeJS.ErrnoException).code ?? '';
    return new FetchError('FETCH_FAILED', `Fetching ${url.href} failed: ${code || err.message}`, true);
  }

  const tooLarge = (url: URL) => new FetchError('FETCH_TOO_LARGE', `${url.href} is larger than ${options.maxBytes} bytes`);

  return {
    async fetch(raw: string, opts: FetchOptions = {}): Promise<FetchedResponse> {
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(new FetchError('FETCH_TIMEOUT', `${raw.slice(0, 200)} did not answer within ${options.timeoutMs} ms`, true)), options.timeoutMs);
      const signal = opts.signal ? AbortSignal.any([opts.signal, timeout.signal]) : timeout.signal;
      try {
        let url = parseFetchUrl(raw);
        for (let redirects = 0; ; redirects++) {
          const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
          const addresses = await addressesFor(url, port);
          // Cancelled while the host was resolved: no connection is opened.
          if (signal.aborted) throw cancelled(url, signal);
          const res = await hop(url, signal, opts.accept ?? 'text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5', addresses);
          if (!res.body) {
            if (redirects >= maxRedirects) throw new FetchError('FETCH_TOO_MANY_REDIRECTS', `More than ${maxRedirects} redirects from ${raw.slice(0, 200)}`);
            let next: URL;
            try {
              next = new URL(String(res.headers.location), url);
            } catch {
              throw new FetchError('FETCH_INVALID_URL', `${url.href} redirects to an invalid URL`);
            }
            url = parseFetchUrl(next.href);
            continue;
          }
          const [type = '', ...params] = String(res.headers['content-type'] ?? '').split(';');
          const charset = params.map((p) => p.trim().match(/^charset="?([^";]+)"?$/i)?.[1]).find(Boolean);
          return { url: url.href, status: res.status, contentType: type.trim().toLowerCase(), ...(charset ? { charset } : {}), body: res.body };
        }
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
