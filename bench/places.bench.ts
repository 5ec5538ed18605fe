/**
 * places_count figures:
 * 1. index build for N (default 1,000,000) places from a synthetic OSM PBF (dense nodes, as real
 *    extracts), in a child process: seconds, peak RSS, on-disk size; then reopen time (child too);
 * 2. places_count over 10,000 rows through the task API against that index, end to end;
 * 3. per-query time of the index against a brute-force haversine count over all points, on a
 *    100-row sample (the counts must agree).
 * Usage: node --import tsx bench/places.bench.ts [points=1000000] [rows=10000]
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
import { denseNodesBlock, headerBlock, type OsmNode } from '../test/fixtures/osm-pbf-writer.ts';
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
} finally {
  await rm(dir, { recursive: true, force: true });
}
