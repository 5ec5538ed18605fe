import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closedWayIsArea } from '../../src/providers/places/feature-keys.ts';
import { distanceMeters, segmentDistanceMeters } from '../../src/providers/places/geo.ts';
import type { OsmNode, OsmRelation, OsmWay } from '../fixtures/osm-pbf-writer.ts';

/** A fixture feature: a node, or a way/relation represented by one point. */
export type FakeFeature = { type?: 'node' | 'way' | 'relation'; id: number; lat: number; lng: number; tags: Record<string, string> };
/** OSM data as an extract holds it (the same nodes, ways and relations a test writes to its PBF). */
export type FakeOsmData = { nodes: OsmNode[]; ways?: OsmWay[]; relations?: OsmRelation[] };

type LatLng = [number, number];
/** An element as the fake evaluates it: tagged, with its vertices, polylines and (for areas) rings. */
type Element = { type: 'node' | 'way' | 'relation'; id: number; tags: Record<string, string>; points: LatLng[]; lines: LatLng[][]; area: boolean };

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
type Pivot = { type: 'way' | 'relation'; filters: Filter[] };

const unescape = (s: string) => s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
const STATEMENT = /nwr((?:\["(?:[^"\\]|\\.)*"(?:[=~]"(?:[^"\\]|\\.)*")?\])+)\(around:([\d.]+),(-?[\d.]+),(-?[\d.]+)\);/g;
const PIVOT = /(way|rel)\(pivot\.in\)((?:\["(?:[^"\\]|\\.)*"(?:[=~]"(?:[^"\\]|\\.)*")?\])+);/g;
const IS_IN = /is_in\((-?[\d.]+),(-?[\d.]+)\)->\.in;/;
const FILTER = /\["((?:[^"\\]|\\.)*)"(?:([=~])"((?:[^"\\]|\\.)*)")?\]/g;

/**
 * An Overpass-like interpreter over fixture data, speaking the real protocol: `data=` as a
 * urlencoded POST body or a GET parameter, Overpass QL in, `[out:json]` out. It understands what
 * the adapter sends: `is_in(lat,lng)->.in;`, a union of `nwr[...](around:r,lat,lng);` and
 * `way|rel(pivot.in)[...];` statements into a named set, `out count;` (a `count` element with
 * `tags.total`) and `nwr.set["name"]; out tags N;`. Anything else is a 400 with an HTML error page,
 * as the real server does. Latency makes concurrency visible.
 *
 * `around` follows Overpass's own definition (around.cc): a node within the radius; a way with a
 * node or a segment within it (great-circle distance); a relation with a member node or member way
 * within it. `is_in` + `pivot` give the areas holding the point: closed ways that are areas and
 * multipolygon relations, by ray casting over their rings, element by element with no index.
 */
export async function startFakeOverpass(data: FakeFeature[] | FakeOsmData, options: { latencyMs?: number } = {}): Promise<FakeOverpass> {
  const features = Array.isArray(data) ? data.map(pointElement) : osmElements(data);
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
          filters: filtersOf(m[1]!),
          radius: Number(m[2]),
          lat: Number(m[3]),
          lng: Number(m[4]),
        }),
      );
      const isIn = IS_IN.exec(data);
      const pivots = [...data.matchAll(PIVOT)].map((m): Pivot => ({ type: m[1] === 'rel' ? 'relation' : 'way', filters: filtersOf(m[2]!) }));
      const sample = /out tags (\d+);/.exec(data);
      if (!statements.length || !/out count;/.test(data) || !/^\[out:json\]/.test(data) || (pivots.length && !isIn)) return send(res, 400, 'text/html', '<html><body><p><strong>Error</strong>: line 1: parse error: unexpected query</p></body></html>');
      const tagged = (filters: Filter[], f: Element) => filters.every((flt) => matches(flt, f.tags[flt.key]));
      const hits = features.filter(
        (f) =>
          statements.some((s) => tagged(s.filters, f) && around(f, s)) ||
          (isIn && f.area && pivots.some((p) => p.type === f.type && tagged(p.filters, f)) && contains(f, Number(isIn[1]), Number(isIn[2]))),
      );
      const by = (t: string) => hits.filter((h) => h.type === t).length;
      const elements: unknown[] = [{ type: 'count', id: 0, tags: { nodes: String(by('node')), ways: String(by('way')), relations: String(by('relation')), areas: '0', total: String(hits.length) } }];
      if (sample) for (const h of hits.filter((x) => x.tags.name).slice(0, Number(sample[1]))) elements.push({ type: h.type, id: h.id, tags: h.tags });
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

const filtersOf = (text: string): Filter[] => [...text.matchAll(FILTER)].map((f) => ({ key: unescape(f[1]!), ...(f[2] ? { op: f[2] as '=' | '~', value: unescape(f[3]!) } : {}) }));

function pointElement(f: FakeFeature): Element {
  return { type: f.type ?? 'node', id: f.id, tags: f.tags, points: [[f.lat, f.lng]], lines: [], area: false };
}

/** Nodes, ways and relations with their geometry from the node coordinates (members outside the data are left out, as an extract leaves them). */
function osmElements(data: FakeOsmData): Element[] {
  const nodes = new Map(data.nodes.map((n) => [n.id, [n.lat, n.lng] as LatLng]));
  const line = (w: OsmWay) => w.refs.map((r) => nodes.get(r)).filter((p): p is LatLng => !!p);
  const ways = new Map((data.ways ?? []).map((w) => [w.id, w]));
  const out: Element[] = [];
  for (const n of data.nodes) if (n.tags && Object.keys(n.tags).length) out.push({ type: 'node', id: n.id, tags: n.tags, points: [[n.lat, n.lng]], lines: [], area: false });
  for (const w of data.ways ?? []) {
    if (!w.tags || !Object.keys(w.tags).length) continue;
    const l = line(w);
    const closed = w.refs.length >= 4 && w.refs[0] === w.refs.at(-1) && l.length === w.refs.length;
    out.push({ type: 'way', id: w.id, tags: w.tags, points: l, lines: [l], area: closed && closedWayIsArea(Object.entries(w.tags)) });
  }
  for (const r of data.relations ?? []) {
    if (!r.tags || !Object.keys(r.tags).length) continue;
    const members = r.members.filter((m) => m.type === 'way').map((m) => ways.get(m.ref)).filter((w): w is OsmWay => !!w);
    const lines = members.map(line);
    const points = [...lines.flat(), ...r.members.filter((m) => m.type === 'node').map((m) => nodes.get(m.ref)).filter((p): p is LatLng => !!p)];
    out.push({ type: 'relation', id: r.id, tags: r.tags, points, lines, area: r.tags.type === 'multipolygon' || r.tags.type === 'boundary' });
  }
  return out;
}

function around(f: Element, s: Statement): boolean {
  const r = s.radius + 0.001;
  if (f.points.some(([lat, lng]) => distanceMeters(s.lat, s.lng, lat, lng) <= r)) return true;
  return f.lines.some((l) => l.some((p, i) => i > 0 && segmentDistanceMeters(s.lat, s.lng, l[i - 1]![0], l[i - 1]![1], p[0], p[1]) <= r));
}

/** Even-odd ray casting over every edge of the element's rings, in plain degrees (the fixtures are small and far from the antimeridian). */
function contains(f: Element, lat: number, lng: number): boolean {
  let inside = false;
  for (const l of f.lines) {
    for (let i = 1; i < l.length; i++) {
      const [y1, x1] = l[i - 1]!;
      const [y2, x2] = l[i]!;
      if (y1 > lat !== y2 > lat && lng < ((x2 - x1) * (lat - y1)) / (y2 - y1) + x1) inside = !inside;
    }
  }
  return inside;
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
