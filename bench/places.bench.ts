/**
 * places_count figures:
 * 1. index build for N (default 1,000,000) places from a synthetic OSM PBF (dense nodes, as real
 *    extracts), in a child process: seconds, peak RSS, on-disk size; then reopen time (child too);
 * 2. places_count over 10,000 rows through the task API against that index, end to end;
 * 3. per-query time of the index against a brute-force haversine count over all points, on a
 *    100-row sample (the counts must agree);
 * 4. index build for a synthetic city extract with ways and relations (EXTRACT_SCALE, default 1:
 *    12.6M nodes, 1.27M ways of buildings, roads and land use, 2,500 multipolygons; 44 MB), in a child process.
 * Usage: node --import tsx bench/places.bench.ts [points=1000000] [rows=10000]
 *        node --import tsx bench/places.bench.ts --write-extract FILE [scale]   (the extract alone, to
 *        build it with another version: ... --build FILE INDEX)
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildPlacesIndex } from '../src/providers/places/import.ts';
import { readIndexFile } from '../src/providers/places/index-file.ts';
import { createLocalPlacesProvider } from '../src/providers/places/local.ts';
import { distanceMeters } from '../src/providers/places/geo.ts';
import { placesIndexPath } from '../src/providers/places/providers.ts';
import { denseNodesBlock, headerBlock, relationsBlock, waysBlock, type OsmNode, type OsmRelation, type OsmWay } from '../test/fixtures/osm-pbf-writer.ts';
import { startTestApp } from '../test/helpers/app.ts';

const self = fileURLToPath(import.meta.url);
const mode = process.argv[2];

// Child modes: one job per process, so peak RSS is the job's own.
if (mode === '--build') {
  const started = performance.now();
  const { stats } = await buildPlacesIndex(process.argv[3]!, process.argv[4]!);
  console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024, points: stats.points }));
  process.exit(0);
}
if (mode === '--reopen') {
  const started = performance.now();
  const provider = createLocalPlacesProvider(await readIndexFile(process.argv[3]!));
  const opened = performance.now() - started;
  await provider.count({ lat: 52.5, lng: 13.4, radiusMeters: 1000, tags: [{ amenity: 'cafe' }], sampleSize: 5 });
  console.log(JSON.stringify({ openMs: opened, firstQueryMs: performance.now() - started - opened, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

/**
 * A city-like extract, 1 degree square: per cell of a 0.002-degree grid (about 220 x 140 m), 4
 * buildings (closed 5-node ways), a road of 8 nodes, 6 tagged POI nodes and 20 untagged nodes
 * (vertices of unmapped things); every 25th cell a land-use polygon, every 100th a multipolygon
 * (wood or water) of two untagged member ways with an inner ring. Written block by block, as a
 * sorted extract is: nodes, then ways, then relations.
 */
async function writeExtract(file: string, scale: number): Promise<{ nodes: number; ways: number; relations: number }> {
  const side = Math.round(500 * Math.sqrt(scale));
  const step = BOX.size / side;
  const fh = await open(file, 'w');
  await fh.write(headerBlock());
  // Nodes, ways and relations have id spaces of their own, as in OSM.
  let nodeId = 1;
  let wayId = 1;
  let nodes: OsmNode[] = [];
  const ways: OsmWay[] = [];
  const relations: OsmRelation[] = [];
  let nodeCount = 0;
  const node = (lat: number, lng: number, tags?: Record<string, string>) => {
    nodes.push({ id: nodeId, lat: Math.round(lat * 1e7) / 1e7, lng: Math.round(lng * 1e7) / 1e7, ...(tags ? { tags } : {}) });
    return nodeId++;
  };
  const way = (refs: number[], tags?: Record<string, string>) => {
    ways.push({ id: wayId, refs, ...(tags ? { tags } : {}) });
    return wayId++;
  };
  const ring = (lat: number, lng: number, h: number) => {
    const r = [node(lat - h, lng - h), node(lat - h, lng + h), node(lat + h, lng + h), node(lat + h, lng - h)];
    return [...r, r[0]!];
  };
  for (let row = 0; row < side; row++) {
    for (let col = 0; col < side; col++) {
      const lat = BOX.lat + row * step;
      const lng = BOX.lng + col * step;
      const cell = row * side + col;
      for (let b = 0; b < 4; b++) way(ring(lat + step * (0.2 + 0.2 * b), lng + step * 0.3, step * 0.05), { building: b === 0 ? 'house' : 'yes' });
      way(
        Array.from({ length: 8 }, (_, k) => node(lat + step * 0.9, lng + (step * k) / 7)),
        { highway: 'residential', name: `Street ${cell}` },
      );
      for (let k = 0; k < 6; k++) node(lat + random() * step, lng + random() * step, { ...KINDS[kindOf()]![1], ...(random() < 0.6 ? { name: `Place ${cell}.${k}` } : {}) });
      for (let k = 0; k < 20; k++) node(lat + random() * step, lng + random() * step);
      if (cell % 25 === 0) way(ring(lat + step / 2, lng + step / 2, step * 0.45), { landuse: cell % 50 ? 'grass' : 'residential' });
      if (cell % 100 === 0) {
        const outer = ring(lat + step / 2, lng + step / 2, step * 0.4);
        const members = [way(outer.slice(0, 3)), way(outer.slice(2)), way(ring(lat + step / 2, lng + step / 2, step * 0.1))];
        relations.push({ id: relations.length + 1, members: members.map((ref, k) => ({ type: 'way', ref, role: k < 2 ? 'outer' : 'inner' })), tags: { type: 'multipolygon', natural: cell % 200 ? 'wood' : 'water' } });
      }
      if (nodes.length >= 64_000) {
        for (let i = 0; i < nodes.length; i += 8000) await fh.write(denseNodesBlock(nodes.slice(i, i + 8000)));
        nodeCount += nodes.length;
        nodes = [];
      }
    }
  }
  for (let i = 0; i < nodes.length; i += 8000) await fh.write(denseNodesBlock(nodes.slice(i, i + 8000)));
  nodeCount += nodes.length;
  for (let i = 0; i < ways.length; i += 8000) await fh.write(waysBlock(ways.slice(i, i + 8000)));
  for (let i = 0; i < relations.length; i += 8000) await fh.write(relationsBlock(relations.slice(i, i + 8000)));
  await fh.close();
  return { nodes: nodeCount, ways: ways.length, relations: relations.length };
}

const points = Number(process.argv[2] ?? 1_000_000);
const rows = Number(process.argv[3] ?? 10_000);
// A metropolitan extract: one degree square around Berlin, about 130 places per square kilometre.
const BOX = { lat: 52, lng: 13, size: 1 };
const KINDS: [number, Record<string, string>][] = [
  [0.05, { amenity: 'cafe' }],
  [0.1, { amenity: 'restaurant' }],
  [0.2, { amenity: 'bench' }],
  [0.02, { amenity: 'pharmacy' }],
  [0.01, { amenity: 'school' }],
  [0.03, { shop: 'supermarket' }],
  [0.04, { shop: 'bakery' }],
  [0.15, { highway: 'bus_stop' }],
  [0.02, { tourism: 'hotel' }],
  [0.03, { leisure: 'playground' }],
  [0.35, { amenity: 'parking' }],
];
let seed = 42;
const random = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
const kindOf = () => {
  let r = random();
  for (let k = 0; k < KINDS.length; k++) if ((r -= KINDS[k]![0]) < 0) return k;
  return KINDS.length - 1;
};

if (mode === '--write-extract') {
  console.log(JSON.stringify(await writeExtract(process.argv[3]!, Number(process.argv[4] ?? 1))));
  process.exit(0);
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'cw-places-bench-'));
try {
  // The extract, written block by block; the coordinates and kinds stay for the brute-force check.
  const lats = new Float64Array(points);
  const lngs = new Float64Array(points);
  const kinds = new Uint8Array(points);
  const pbfFile = path.join(dir, 'extract.osm.pbf');
  const fh = await open(pbfFile, 'w');
  await fh.write(headerBlock());
  for (let start = 0; start < points; start += 8000) {
    const block: OsmNode[] = [];
    for (let i = start; i < Math.min(points, start + 8000); i++) {
      // Rounded to the PBF's 1e-7 degrees so the brute force sees what the index sees.
      lats[i] = Math.round((BOX.lat + random() * BOX.size) * 1e7) / 1e7;
      lngs[i] = Math.round((BOX.lng + random() * BOX.size) * 1e7) / 1e7;
      kinds[i] = kindOf();
      block.push({ id: i + 1, lat: lats[i]!, lng: lngs[i]!, tags: { ...KINDS[kinds[i]!]![1], ...(random() < 0.6 ? { name: `Place ${i}` } : {}) } });
    }
    await fh.write(denseNodesBlock(block));
  }
  await fh.close();
  const pbfMb = (await stat(pbfFile)).size / 1024 / 1024;

  const indexFile = path.join(dir, 'places.cwp');
  const child = (args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  };
  const build = child(['--build', pbfFile, indexFile]);
  const indexMb = (await stat(indexFile)).size / 1024 / 1024;
  console.log(`index build: ${build.points} places from a ${pbfMb.toFixed(1)} MB PBF in ${build.seconds.toFixed(2)} s, peak RSS ${build.maxRssMb.toFixed(0)} MB, index ${indexMb.toFixed(1)} MB on disk`);
  const reopen = child(['--reopen', indexFile]);
  console.log(`reopen: ${reopen.openMs.toFixed(0)} ms (first query ${reopen.firstQueryMs.toFixed(1)} ms, process RSS ${reopen.maxRssMb.toFixed(0)} MB)`);

  // End to end: rows -> bulk task -> done, the index copied into the server's data dir.
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
  const app = await startTestApp({ logLevel: 'error', llmConcurrency: concurrency });
  try {
    await mkdir(path.dirname(placesIndexPath(app.config.dataDir)), { recursive: true });
    await copyFile(indexFile, placesIndexPath(app.config.dataDir));
    const data = Array.from({ length: rows }, (_, i) => ({ Store: `store ${i}`, lat: BOX.lat + 0.02 + random() * (BOX.size - 0.04), lng: BOX.lng + 0.02 + random() * (BOX.size - 0.04) }));
    const ds = await app.post('/api/v2/datasets', { name: 'stores', type: 'analysis', rows: data });
    const id = ds.body.datasetId as string;
    const col = await app.post(`/api/v2/datasets/${id}/columns`, { name: 'Cafes', taskType: 'places_count', metadata: { prompt: 'cafes', radiusMeters: 1000 } });
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const started = performance.now();
    const task = await app.post(`/api/v2/datasets/${id}/tasks/bulk`, { columnIds: [col.body.columnId] });
    let final: any;
    let failedPolls = 0;
    for (;;) {
      // A poll can be reset when the server's event loop stalls past the keep-alive timeout (see the note printed below); poll again.
      const res = await app.get(`/api/v2/datasets/${id}/tasks/${task.body.taskId}`).catch(() => undefined);
      if (!res) failedPolls++;
      else final = res.body;
      if (final && ['completed', 'failed', 'cancelled'].includes(final.status)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const wall = (performance.now() - started) / 1000;
    lag.disable();
    console.log(`places_count: ${rows} rows through the task API (engine concurrency ${concurrency}) in ${wall.toFixed(2)} s (${((wall * 1e6) / rows).toFixed(0)} us per cell; ${final.status}, ${final.progress.completed} done, ${final.progress.failed} failed; max event-loop delay ${(lag.max / 1e6).toFixed(0)} ms, ${failedPolls} polls reset)`);
  } finally {
    await app.close();
  }

  // Per query: the index against a brute-force haversine scan of every place.
  const provider = createLocalPlacesProvider(await readIndexFile(indexFile));
  const sample = Array.from({ length: 100 }, () => ({ lat: BOX.lat + 0.02 + random() * 0.96, lng: BOX.lng + 0.02 + random() * 0.96 }));
  const cafe = 0;
  // Warm the JIT on other centres first: the first hundred queries of a process are several times slower.
  for (let i = 0; i < 300; i++) await provider.count({ lat: BOX.lat + 0.1 + random() * 0.8, lng: BOX.lng + 0.1 + random() * 0.8, radiusMeters: 1000, tags: [{ amenity: 'cafe' }], sampleSize: 5 });
  const query = (c: { lat: number; lng: number }) => ({ ...c, radiusMeters: 1000, tags: [{ amenity: 'cafe' }], sampleSize: 5 });
  let t = performance.now();
  const indexed: number[] = [];
  for (const s of sample) indexed.push((await provider.count(query(s))).count);
  const providerUs = ((performance.now() - t) * 1000) / sample.length;
  t = performance.now();
  for (const s of sample) provider.countNow(query(s));
  const indexUs = ((performance.now() - t) * 1000) / sample.length;
  // The brute force the index replaces: a haversine distance to every place, then the tag check.
  t = performance.now();
  const brute: number[] = [];
  for (const s of sample) {
    let n = 0;
    for (let i = 0; i < points; i++) if (distanceMeters(s.lat, s.lng, lats[i]!, lngs[i]!) <= 1000.001 && kinds[i] === cafe) n++;
    brute.push(n);
  }
  const bruteUs = ((performance.now() - t) * 1000) / sample.length;
  // A smarter scan that checks the tag first and computes distances for matching places only.
  t = performance.now();
  for (const s of sample) {
    let n = 0;
    for (let i = 0; i < points; i++) if (kinds[i] === cafe && distanceMeters(s.lat, s.lng, lats[i]!, lngs[i]!) <= 1000.001) n++;
    void n;
  }
  const tagFirstUs = ((performance.now() - t) * 1000) / sample.length;
  const agree = indexed.every((n, i) => n === brute[i]);
  console.log(
    `per query (1 km, cafes, 100-row sample, mean count ${(indexed.reduce((a, b) => a + b, 0) / indexed.length).toFixed(1)}; counts agree: ${agree}): ` +
      `index ${indexUs.toFixed(0)} us (${providerUs.toFixed(0)} us through the provider, with its event-loop turn); ` +
      `brute-force haversine ${bruteUs.toFixed(0)} us -> ${(bruteUs / indexUs).toFixed(0)}x (${(bruteUs / providerUs).toFixed(0)}x via the provider); ` +
      `tag-first scan ${tagFirstUs.toFixed(0)} us -> ${(tagFirstUs / indexUs).toFixed(0)}x`,
  );
  if (!agree) process.exitCode = 1;

  // A city extract with ways and relations: what real extracts are made of.
  const extractFile = path.join(dir, 'city.osm.pbf');
  const counts = await writeExtract(extractFile, Number(process.env.EXTRACT_SCALE ?? 1));
  const cityIndex = path.join(dir, 'city.cwp');
  const city = child(['--build', extractFile, cityIndex]);
  console.log(
    `city extract: ${counts.nodes} nodes, ${counts.ways} ways, ${counts.relations} relations (${((await stat(extractFile)).size / 1024 / 1024).toFixed(1)} MB PBF) -> ` +
      `${city.points} features in ${city.seconds.toFixed(2)} s, peak RSS ${city.maxRssMb.toFixed(0)} MB, index ${((await stat(cityIndex)).size / 1024 / 1024).toFixed(1)} MB on disk`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
