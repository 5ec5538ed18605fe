import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { destination } from '../src/providers/places/geo.ts';
import { buildPlacesIndex } from '../src/providers/places/import.ts';
import { readIndexFile } from '../src/providers/places/index-file.ts';
import { createLocalPlacesProvider } from '../src/providers/places/local.ts';
import { createOverpassProvider } from '../src/providers/places/overpass.ts';
import type { PlacesProvider, TagClause } from '../src/providers/places/places.ts';
import { startFakeOverpass, type FakeOverpass } from './fakes/overpass-server.ts';
import { osmPbf, type OsmNode, type OsmRelation, type OsmWay } from './fixtures/osm-pbf-writer.ts';

/**
 * The local index and the Overpass adapter count the same features: one extract, written as a PBF
 * for the index and served by the fake Overpass, which evaluates each posted query over the raw
 * nodes, ways and relations element by element (Overpass's `around`: a node, a way's node or
 * segment, a relation's member within the radius; `is_in` + `pivot`: the areas holding the centre).
 * The extract has what centroids and point-only indexes get wrong: ways whose nodes are all far but
 * whose segment crosses the circle, areas around the centre, a closed road that is no area,
 * multipolygons built from untagged member ways with a hole around the centre, a route relation.
 */
const C = { lat: 47.0, lng: 8.0 };
const nodes: OsmNode[] = [];
const ways: OsmWay[] = [];
const relations: OsmRelation[] = [];
let nextId = 1;

// At the file's 1e-7 degree granularity, so the fake sees the coordinates the index sees.
const grid = (p: { lat: number; lng: number }) => ({ lat: Math.round(p.lat * 1e7) / 1e7, lng: Math.round(p.lng * 1e7) / 1e7 });
const from = (p: { lat: number; lng: number }, bearing: number, m: number) => grid(destination(p.lat, p.lng, bearing, m));
function node(p: { lat: number; lng: number }, tags?: Record<string, string>): number {
  const id = nextId++;
  nodes.push({ id, ...grid(p), ...(tags ? { tags } : {}) });
  return id;
}
/** A way over new nodes at `points`, or over existing node ids (rings of a multipolygon share their end nodes). */
function way(points: ({ lat: number; lng: number } | number)[], tags?: Record<string, string>, closed = false): number {
  const refs = points.map((p) => (typeof p === 'number' ? p : node(p)));
  const id = nextId++;
  ways.push({ id, refs: closed ? [...refs, refs[0]!] : refs, ...(tags ? { tags } : {}) });
  return id;
}
/** A square ring of half-side `half` metres around `centre` (corners on the diagonals): its edges pass about `half` metres from it. */
const square = (centre: { lat: number; lng: number }, half: number) => [45, 135, 225, 315].map((b) => from(centre, b, half * Math.SQRT2));

// A footway whose two nodes are 300 m and 3 km away, north and south of a point 450 m east: its segment passes 450 m from C.
const east450 = from(C, 90, 450);
way([from(east450, 0, 300), from(east450, 180, 3000)], { highway: 'footway', name: 'Edge Path' });
// A road 2 km either side of a point 400 m north; and a track whose closest approach is 520 m.
const north400 = from(C, 0, 400);
way([from(north400, 90, 2000), from(north400, 270, 2000)], { highway: 'residential', name: 'Cross Road' });
const west520 = from(C, 270, 520);
way([from(west520, 0, 1500), from(west520, 180, 1500)], { highway: 'track' });
// A closed road around C, 3 km out: a ring, not an area (C is not "in" it).
way(square(C, 3000), { highway: 'residential', name: 'Ring Road' }, true);
// A park around C, edges 2.5 km out: an area, so it counts at any radius.
way(square(C, 2500), { leisure: 'park', name: 'Big Park' }, true);
// A small building 200 m south-west.
way(square(from(C, 225, 200), 10), { building: 'yes', name: 'Shed' }, true);
// Peaks.
node(from(C, 10, 300), { natural: 'peak', name: 'Near Peak' });
node(from(C, 200, 2000), { natural: 'peak', name: 'Far Peak' });
// A lake with an island: an outer ring (2 km) of two untagged ways, an inner ring (1 km) holding C.
const outer = square(C, 2000).map((p) => node(p));
const lakeWest = way([outer[2]!, outer[3]!, outer[0]!]);
const lakeEast = way([outer[0]!, outer[1]!, outer[2]!]);
const island = way(square(C, 1000), undefined, true);
relations.push({ id: nextId++, members: [{ type: 'way', ref: lakeWest, role: 'outer' }, { type: 'way', ref: lakeEast, role: 'outer' }, { type: 'way', ref: island, role: 'inner' }], tags: { type: 'multipolygon', natural: 'water', water: 'lake', name: 'Ring Lake' } });
// A wood holding C (one untagged closed member, 1.5 km), and a wood 5 km north (500 m half-side).
relations.push({ id: nextId++, members: [{ type: 'way', ref: way(square(C, 1500), undefined, true), role: 'outer' }], tags: { type: 'multipolygon', natural: 'wood', name: 'Home Wood' } });
relations.push({ id: nextId++, members: [{ type: 'way', ref: way(square(from(C, 0, 5000), 500), undefined, true), role: 'outer' }], tags: { type: 'multipolygon', natural: 'wood', name: 'North Wood' } });
// A hiking route over the Edge Path: a relation counts where its member ways are.
relations.push({ id: nextId++, members: [{ type: 'way', ref: ways[0]!.id, role: '' }], tags: { type: 'route', route: 'hiking', name: 'Edge Trail' } });

const TAGS: TagClause[][] = [
  [{ highway: true }],
  [{ highway: 'footway' }],
  [{ highway: 'residential' }],
  [{ leisure: 'park' }],
  [{ natural: 'water' }],
  [{ natural: 'wood' }],
  [{ natural: true }],
  [{ building: true }],
  [{ route: 'hiking' }],
  [{ landuse: 'forest' }, { natural: 'wood' }],
  [{ highway: 'footway' }, { natural: 'peak' }],
];
const RADII = [100, 300, 450, 500, 1000, 1100, 2500, 3500, 4400, 4600];
const CENTRES = [C, from(C, 45, 800), from(C, 180, 1500), from(C, 0, 4000), from(C, 90, 2600)];

let dir: string;
let overpass: FakeOverpass;
let local: PlacesProvider;
let remote: PlacesProvider;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cw-places-agree-'));
  await writeFile(path.join(dir, 'extract.osm.pbf'), osmPbf(nodes, ways, 8000, relations));
  const { stats } = await buildPlacesIndex(path.join(dir, 'extract.osm.pbf'), path.join(dir, 'index.cwp'));
  assert.deepEqual(stats, { points: 12, fromNodes: 2, fromWays: 6, fromRelations: 4, skipped: 0 });
  local = createLocalPlacesProvider(await readIndexFile(path.join(dir, 'index.cwp')));
  overpass = await startFakeOverpass({ nodes, ways, relations });
  remote = createOverpassProvider({ url: overpass.url, concurrency: 4 });
});
after(async () => {
  await overpass?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('local index and Overpass agree', () => {
  it('on every query: tags x radii x centres, counts equal, and the same names when all fit the sample', async () => {
    let compared = 0;
    let nonZero = 0;
    for (const centre of CENTRES) {
      for (const radiusMeters of RADII) {
        await Promise.all(
          TAGS.map(async (tags) => {
            const q = { ...centre, radiusMeters, tags, sampleSize: 20 };
            const [a, b] = await Promise.all([local.count(q), remote.count(q)]);
            const label = `${JSON.stringify(tags)} within ${radiusMeters} m of ${centre.lat},${centre.lng}`;
            assert.equal(a.count, b.count, `${label}: local ${a.count}, Overpass ${b.count}`);
            assert.deepEqual([...a.sample].sort(), [...b.sample].sort(), label);
            compared++;
            if (a.count) nonZero++;
          }),
        );
      }
    }
    assert.equal(compared, CENTRES.length * RADII.length * TAGS.length);
    assert.ok(nonZero > compared / 3, `most queries find something (${nonZero} of ${compared})`);
  });

  it('counts what centroids miss and areas around the centre, with known answers', async () => {
    const count = async (tags: TagClause[], radiusMeters: number, centre = C) => (await local.count({ ...centre, radiusMeters, tags, sampleSize: 5 })).count;
    assert.equal(await count([{ highway: 'footway' }], 460), 1, 'the path passes 450 m away; its nodes are 540 m and 3 km away');
    assert.equal(await count([{ highway: 'footway' }], 440), 0);
    assert.equal(await count([{ highway: 'track' }], 510), 0, 'closest approach 520 m');
    assert.equal(await count([{ highway: 'track' }], 530), 1);
    assert.equal(await count([{ highway: 'residential' }], 500), 1, 'the cross road; the ring road is a line around C, not an area');
    assert.equal(await count([{ highway: 'residential' }], 3100), 2);
    assert.equal(await count([{ leisure: 'park' }], 100), 1, 'C is inside the park');
    assert.equal(await count([{ natural: 'water' }], 500), 0, 'C is on the island: in the hole of the lake');
    assert.equal(await count([{ natural: 'water' }], 1100), 1, "the island's shore is 1 km away");
    assert.equal(await count([{ natural: 'water' }], 100, from(C, 0, 1500)), 1, 'between the shores: on the lake');
    assert.equal(await count([{ natural: 'wood' }], 100), 1, 'inside Home Wood');
    assert.equal(await count([{ natural: 'wood' }], 4600), 2, "North Wood's south edge is 4.5 km away");
    assert.equal(await count([{ route: 'hiking' }], 460), 1, 'the route relation counts where its member way is');
    assert.equal(await count([{ route: 'hiking' }], 440), 0);
  });
});
