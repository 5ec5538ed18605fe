import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { distanceMeters } from '../../src/providers/places/geo.ts';

/** A fixture feature: a node, or a way/relation represented by one point. */
export type FakeFeature = { type?: 'node' | 'way' | 'relation'; id: number; lat: number; lng: number; tags: Record<string, string> };

export type FakeOverpass = {
  /** The interpreter URL: `http://127.0.0.1:<port>/api/interpreter`. */
  url: string;
  /** The QL text of every request, in arrival order. */
  readonly queries: string[];
  /** Most requests seen in flight at once. */
  readonly maxInFlight: number;
  /** Answers for the next requests, before normal service: e.g. `{status: 429, retryAfter: '1'}`. */
  fail(...replies: { status: number; retryAfter?: string }[]): void;
  close(): Promise<void>;
};

type Filter = { key: string; op?: '=' | '~'; value?: string };
type Statement = { filters: Filter[]; radius: number; lat: number; lng: number };

const unescape = (s: string) => s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
const STATEMENT = /nwr((?:\["(?:[^"\\]|\\.)*"(?:[=~]"(?:[^"\\]|\\.)*")?\])+)\(around:([\d.]+),(-?[\d.]+),(-?[\d.]+)\);/g;
const FILTER = /\["((?:[^"\\]|\\.)*)"(?:([=~])"((?:[^"\\]|\\.)*)")?\]/g;

/**
 * An Overpass-like interpreter over a fixture point set, speaking the real protocol: `data=` as a
 * urlencoded POST body or a GET parameter, Overpass QL in, `[out:json]` out. It understands what
 * the adapter sends: a union of `nwr[...](around:r,lat,lng);` statements into a named set, `out
 * count;` (a `count` element with `tags.total`) and `nwr.set["name"]; out tags N;`. Anything else is a
 * 400 with an HTML error page, as the real server does. Latency makes concurrency visible.
 */
export async function startFakeOverpass(features: FakeFeature[], options: { latencyMs?: number } = {}): Promise<FakeOverpass> {
  const queries: string[] = [];
  const failures: { status: number; retryAfter?: string }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== '/api/interpreter') return send(res, 404, 'text/plain', 'not found');
      let body = '';
      for await (const chunk of req) body += chunk;
      const data = req.method === 'POST' ? new URLSearchParams(body).get('data') : url.searchParams.get('data');
      if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
      if (!data) return send(res, 400, 'text/html', '<html><body><p><strong>Error</strong>: no data parameter</p></body></html>');
      queries.push(data);
      const failure = failures.shift();
      if (failure) {
        if (failure.retryAfter !== undefined) res.setHeader('retry-after', failure.retryAfter);
        return send(res, failure.status, 'text/html', '<html><body>rate limited</body></html>');
      }
      const statements = [...data.matchAll(STATEMENT)].map(
        (m): Statement => ({
          filters: [...m[1]!.matchAll(FILTER)].map((f) => ({ key: unescape(f[1]!), ...(f[2] ? { op: f[2] as '=' | '~', value: unescape(f[3]!) } : {}) })),
          radius: Number(m[2]),
          lat: Number(m[3]),
          lng: Number(m[4]),
        }),
      );
      const sample = /out tags (\d+);/.exec(data);
      if (!statements.length || !/out count;/.test(data) || !/^\[out:json\]/.test(data)) return send(res, 400, 'text/html', '<html><body><p><strong>Error</strong>: line 1: parse error: unexpected query</p></body></html>');
      const hits = features.filter((f) => statements.some((s) => s.filters.every((flt) => matches(flt, f.tags[flt.key])) && distanceMeters(s.lat, s.lng, f.lat, f.lng) <= s.radius + 0.001));
      const by = (t: string) => hits.filter((h) => (h.type ?? 'node') === t).length;
      const elements: unknown[] = [{ type: 'count', id: 0, tags: { nodes: String(by('node')), ways: String(by('way')), relations: String(by('relation')), areas: '0', total: String(hits.length) } }];
      if (sample) for (const h of hits.filter((x) => x.tags.name).slice(0, Number(sample[1]))) elements.push({ type: h.type ?? 'node', id: h.id, tags: h.tags });
      send(res, 200, 'application/json', JSON.stringify({ version: 0.6, generator: 'Overpass API (fake)', osm3s: { timestamp_osm_base: '2026-01-01T00:00:00Z', copyright: 'The data included in this document is from www.openstreetmap.org. The data is made available under ODbL.' }, elements }));
    } finally {
      inFlight--;
    }
  };

  const server = createServer((req, res) => void handle(req, res).catch(() => send(res, 500, 'text/plain', 'fake failed')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/api/interpreter`,
    queries,
    get maxInFlight() {
      return maxInFlight;
    },
    fail: (...replies) => void failures.push(...replies),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function matches(f: Filter, have: string | undefined): boolean {
  if (have === undefined) return false;
  if (!f.op) return true;
  if (f.op === '=') return have === f.value;
  return new RegExp(f.value!).test(have);
}

function send(res: ServerResponse, status: number, type: string, body: string) {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}
