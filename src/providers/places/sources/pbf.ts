import { open } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import { PbfReader } from 'pbf';
import { centroid, validLatLng } from '../geo.ts';
import { Grow, type PlaceInput } from '../index-file.ts';
import { PlacesImportError, type ImportStats } from './source.ts';

/**
 * OpenStreetMap PBF (the format of Geofabrik and planet extracts), decoded on the `pbf` package:
 * the npm OSM PBF parsers are unmaintained or browser-first, and the format is small (fileformat
 * and osmformat .proto: blobs of zlib-compressed primitive blocks of dense nodes and ways).
 *
 * Nodes with a feature tag become points; ways with one become their centroid. Ways only name
 * their nodes, so a second pass over the file collects the coordinates of just the nodes those
 * ways use: memory grows with the kept ways, not with the extract. Relations (multipolygons) are
 * not indexed.
 */

/** A node or way is a place when it has one of these keys (roads, buildings and land use are not). */
const FEATURE_KEYS = new Set(['amenity', 'shop', 'tourism', 'leisure', 'office', 'craft', 'healthcare', 'historic', 'emergency', 'sport', 'public_transport', 'railway', 'aeroway', 'man_made', 'club', 'education', 'place', 'attraction']);
/** highway=bus_stop, traffic signals and the like are places as nodes; highway ways are roads. */
const NODE_ONLY_FEATURE_KEYS = new Set(['highway', 'barrier', 'entrance']);
const SUPPORTED_FEATURES = new Set(['OsmSchema-V0.6', 'DenseNodes']);
const MAX_HEADER = 64 * 1024;
const MAX_BLOB = 32 * 1024 * 1024;

type Tags = [string, string][];
type Block = { strings: string[]; groups: Uint8Array[]; granularity: number; latOffset: number; lonOffset: number };
type NodeVisitor = (id: number, lat: number, lng: number, tags: Tags | undefined) => void;
type WayVisitor = (id: number, refs: number[], tags: Tags) => void;

/** Reads `file` (twice when ways need their nodes) and hands every place to `sink`. */
export async function readOsmPbf(file: string, sink: (place: PlaceInput) => void): Promise<ImportStats> {
  const stats: ImportStats = { points: 0, fromNodes: 0, fromWays: 0, skipped: 0 };
  // Way node references in one typed array (a country has millions of tagged ways), each way its slice.
  const refs = new Grow(new Float64Array(1 << 16), (n) => new Float64Array(n));
  const ways: { from: number; to: number; tags: Tags }[] = [];
  await eachBlock(file, {
    node(_id, lat, lng, tags) {
      if (!tags || !tags.some(([k]) => FEATURE_KEYS.has(k) || NODE_ONLY_FEATURE_KEYS.has(k))) return;
      sink(place(lat, lng, tags));
      stats.fromNodes++;
    },
    way(_id, wayRefs, tags) {
      if (!tags.some(([k]) => FEATURE_KEYS.has(k))) return;
      const from = refs.length;
      for (const r of wayRefs) refs.push(r);
      ways.push({ from, to: refs.length, tags });
    },
  });
  if (ways.length) {
    const all = refs.view();
    const needed = uniqueSorted(all);
    const lats = new Float64Array(needed.length).fill(NaN);
    const lngs = new Float64Array(needed.length).fill(NaN);
    await eachBlock(file, {
      node(id, lat, lng) {
        const at = search(needed, id);
        if (at >= 0) {
          lats[at] = lat;
          lngs[at] = lng;
        }
      },
    });
    for (const way of ways) {
      const wl: number[] = [];
      const wg: number[] = [];
      for (let i = way.from; i < way.to; i++) {
        const at = search(needed, all[i]!);
        // Extracts cut at a border keep ways whose nodes lie partly outside: use the nodes present.
        if (at >= 0 && !Number.isNaN(lats[at]!)) {
          wl.push(lats[at]!);
          wg.push(lngs[at]!);
        }
      }
      const c = centroid(wl, wg);
      if (!c) {
        stats.skipped++;
        continue;
      }
      sink(place(c.lat, c.lng, way.tags));
      stats.fromWays++;
    }
  }
  stats.points = stats.fromNodes + stats.fromWays;
  return stats;
}

function place(lat: number, lng: number, tags: Tags): PlaceInput {
  return { lat, lng, tags, name: tags.find(([k]) => k === 'name')?.[1] };
}

function uniqueSorted(ids: Float64Array): Float64Array {
  const sorted = Float64Array.from(ids).sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i]!;
  return sorted.subarray(0, n);
}

function search(sorted: Float64Array, id: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid]!;
    if (v === id) return mid;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Walks the file blob by blob (never more than one blob in memory) and decodes each data block. */
async function eachBlock(file: string, visit: { node: NodeVisitor; way?: WayVisitor }): Promise<void> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    let pos = 0;
    let sawHeader = false;
    const lenBuf = Buffer.alloc(4);
    while (pos < size) {
      const fail = (why: string): never => {
        throw new PlacesImportError(`corrupt OSM PBF at byte ${pos}: ${why}`);
      };
      if (size - pos < 4) fail('truncated blob header length');
      await fh.read(lenBuf, 0, 4, pos);
      const headerLen = lenBuf.readUInt32BE(0);
      if (headerLen === 0 || headerLen > MAX_HEADER) fail(`blob header length ${headerLen} is out of range`);
      if (pos + 4 + headerLen > size) fail('truncated blob header');
      const headerBuf = Buffer.alloc(headerLen);
      await fh.read(headerBuf, 0, headerLen, pos + 4);
      const header = decode(() => readBlobHeader(headerBuf), fail);
      if (header.dataSize <= 0 || header.dataSize > MAX_BLOB) fail(`blob size ${header.dataSize} is out of range`);
      if (pos + 4 + headerLen + header.dataSize > size) fail('truncated blob');
      const blobBuf = Buffer.alloc(header.dataSize);
      await fh.read(blobBuf, 0, header.dataSize, pos + 4 + headerLen);
      const data = decode(() => unpackBlob(blobBuf), fail);
      if (header.type === 'OSMHeader') {
        const required = decode(() => readRequiredFeatures(data), fail);
        const unknown = required.filter((f) => !SUPPORTED_FEATURES.has(f));
        if (unknown.length) throw new PlacesImportError(`the OSM PBF needs features this reader lacks: ${unknown.join(', ')}`);
        sawHeader = true;
      } else if (header.type === 'OSMData') {
        if (!sawHeader) fail('data before the OSMHeader block: not an OSM PBF file');
        decode(() => visitBlock(readBlock(data), visit), fail);
      } else if (!sawHeader) {
        fail(`unknown first blob type "${header.type}": not an OSM PBF file`);
      }
      pos += 4 + headerLen + header.dataSize;
    }
    if (!sawHeader) throw new PlacesImportError('empty file: not an OSM PBF file');
  } finally {
    await fh.close();
  }
}

function decode<T>(fn: () => T, fail: (why: string) => never): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof PlacesImportError) throw err;
    return fail(err instanceof Error ? err.message : String(err));
  }
}

function readBlobHeader(buf: Uint8Array): { type: string; dataSize: number } {
  return new PbfReader(buf).readFields(
    (tag, h, pbf) => {
      if (tag === 1) h.type = pbf.readString();
      else if (tag === 3) h.dataSize = pbf.readVarint();
    },
    { type: '', dataSize: 0 },
  );
}

function unpackBlob(buf: Uint8Array): Uint8Array {
  const blob = new PbfReader(buf).readFields(
    (tag, b: { raw?: Uint8Array; zlib?: Uint8Array; other?: number }, pbf) => {
      if (tag === 1) b.raw = pbf.readBytes();
      else if (tag === 3) b.zlib = pbf.readBytes();
      else if (tag === 4 || tag === 5 || tag === 6 || tag === 7) b.other = tag;
    },
    {},
  );
  if (blob.raw) return blob.raw;
  if (blob.zlib) return inflateSync(blob.zlib);
  throw new PlacesImportError(blob.other ? 'blob compression other than zlib (lzma, lz4, zstd) is not supported; convert with osmium cat' : 'blob has no data');
}

function readRequiredFeatures(buf: Uint8Array): string[] {
  return new PbfReader(buf).readFields((tag, out: string[], pbf) => {
    if (tag === 4) out.push(pbf.readString());
  }, []);
}

const utf8 = new TextDecoder();

function readBlock(buf: Uint8Array): Block {
  // Granularity and offsets (fields 17-20) follow the groups in the message, so groups are kept as slices and decoded after.
  return new PbfReader(buf).readFields(
    (tag, b: Block, pbf) => {
      if (tag === 1) {
        pbf.readMessage((t, strings: string[], p) => {
          if (t === 1) strings.push(utf8.decode(p.readBytes()));
        }, b.strings);
      } else if (tag === 2) b.groups.push(pbf.readBytes());
      else if (tag === 17) b.granularity = pbf.readVarint();
      else if (tag === 19) b.latOffset = pbf.readVarint(true);
      else if (tag === 20) b.lonOffset = pbf.readVarint(true);
    },
    { strings: [], groups: [], granularity: 100, latOffset: 0, lonOffset: 0 },
  );
}

function visitBlock(block: Block, visit: { node: NodeVisitor; way?: WayVisitor }): void {
  const s = block.strings;
  const str = (i: number) => {
    const v = s[i];
    if (v === undefined) throw new Error(`string index ${i} outside the block's string table`);
    return v;
  };
  const lat = (raw: number) => 1e-9 * (block.latOffset + block.granularity * raw);
  const lng = (raw: number) => 1e-9 * (block.lonOffset + block.granularity * raw);
  const emit = (id: number, la: number, lo: number, tags: Tags | undefined) => {
    if (!validLatLng(la, lo)) throw new Error(`node ${id} has coordinates outside the globe (${la}, ${lo})`);
    visit.node(id, la, lo, tags);
  };
  const pairs = (keys: number[], vals: number[]): Tags => keys.map((k, i) => [str(k), str(vals[i] ?? -1)]);
  for (const group of block.groups) {
    new PbfReader(group).readFields((tag, _: null, pbf) => {
      if (tag === 1) {
        const n = pbf.readMessage(
          (t, m: { id: number; keys: number[]; vals: number[]; lat: number; lon: number }, p) => {
            if (t === 1) m.id = p.readSVarint();
            else if (t === 2) p.readPackedVarint(m.keys);
            else if (t === 3) p.readPackedVarint(m.vals);
            else if (t === 8) m.lat = p.readSVarint();
            else if (t === 9) m.lon = p.readSVarint();
          },
          { id: 0, keys: [], vals: [], lat: 0, lon: 0 },
        );
        emit(n.id, lat(n.lat), lng(n.lon), n.keys.length ? pairs(n.keys, n.vals) : undefined);
      } else if (tag === 2) {
        const d = pbf.readMessage(
          (t, m: { ids: number[]; lats: number[]; lons: number[]; kv: number[] }, p) => {
            if (t === 1) p.readPackedSVarint(m.ids);
            else if (t === 8) p.readPackedSVarint(m.lats);
            else if (t === 9) p.readPackedSVarint(m.lons);
            else if (t === 10) p.readPackedVarint(m.kv);
          },
          { ids: [], lats: [], lons: [], kv: [] },
        );
        if (d.lats.length !== d.ids.length || d.lons.length !== d.ids.length) throw new Error('dense nodes with mismatched id/lat/lon arrays');
        let id = 0;
        let la = 0;
        let lo = 0;
        let k = 0;
        for (let i = 0; i < d.ids.length; i++) {
          id += d.ids[i]!;
          la += d.lats[i]!;
          lo += d.lons[i]!;
          let tags: Tags | undefined;
          // keys_vals: key, value, key, value, ..., 0 per node; absent entirely when no node has tags.
          while (k < d.kv.length && d.kv[k] !== 0) {
            (tags ??= []).push([str(d.kv[k]!), str(d.kv[k + 1] ?? -1)]);
            k += 2;
          }
          k++;
          emit(id, lat(la), lng(lo), tags);
        }
      } else if (tag === 3 && visit.way) {
        const w = pbf.readMessage(
          (t, m: { id: number; keys: number[]; vals: number[]; refs: number[] }, p) => {
            if (t === 1) m.id = p.readVarint();
            else if (t === 2) p.readPackedVarint(m.keys);
            else if (t === 3) p.readPackedVarint(m.vals);
            else if (t === 8) p.readPackedSVarint(m.refs);
          },
          { id: 0, keys: [], vals: [], refs: [] },
        );
        let ref = 0;
        const refs = w.refs.map((delta) => (ref += delta));
        if (w.keys.length) visit.way(w.id, refs, pairs(w.keys, w.vals));
      }
    }, null);
  }
}
