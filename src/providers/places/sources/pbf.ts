import { open } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import { PbfReader } from 'pbf';
import { validLatLng } from '../geo.ts';
import { closedWayIsArea } from '../feature-keys.ts';
import { Grow, type PlaceInput } from '../index-file.ts';
import { PlacesImportError, type ImportStats } from './source.ts';

/**
 * OpenStreetMap PBF (the format of Geofabrik and planet extracts), decoded on the `pbf` package:
 * the npm OSM PBF parsers are unmaintained or browser-first, and the format is small (fileformat
 * and osmformat .proto: blobs of zlib-compressed primitive blocks of dense nodes, ways and relations).
 *
 * Kept: nodes, ways and relations with one of the selection keys (see feature-keys.ts), each with
 * its geometry: a node as its point, a way as its polyline (an area when closed and not a line
 * feature), a relation as its member ways and member nodes (Overpass's `around` looks at those
 * too; sub-relations are not followed, as it does not), a multipolygon or boundary being an area
 * when its member ways close into rings. Ways and relations only name their members, so further passes over
 * the file collect the member ways' node lists and then the coordinates of just the nodes used:
 * memory grows with the kept features, not with the extract.
 */

const SUPPORTED_FEATURES = new Set(['OsmSchema-V0.6', 'DenseNodes']);
const MAX_HEADER = 64 * 1024;
const MAX_BLOB = 32 * 1024 * 1024;

type Tags = [string, string][];
type Block = { strings: string[]; groups: Uint8Array[]; granularity: number; latOffset: number; lonOffset: number };
type NodeVisitor = (id: number, lat: number, lng: number, tags: Tags | undefined) => void;
type WayVisitor = (id: number, refs: number[], tags: Tags) => void;
type RelationVisitor = (id: number, tags: Tags, members: { ways: number[]; nodes: number[] }) => void;
/** What a pass wants; groups it has no visitor for are skipped undecoded. `untaggedWays`: ways without tags too. */
type Visitors = { node?: NodeVisitor; way?: WayVisitor; relation?: RelationVisitor; untaggedWays?: boolean };

const float64 = (n: number) => new Float64Array(n);
const uint32 = (n: number) => new Uint32Array(n);

/**
 * Ways' node lists in typed arrays (a country has millions of kept ways): way i's node ids are
 * refs[from[i] .. from[i + 1]), found by way id through a sorted copy of the ids.
 */
class WayStore {
  readonly ids = new Grow(float64(1024), float64);
  readonly from = new Grow(uint32(1024), uint32);
  readonly refs = new Grow(float64(1 << 16), float64);
  private sorted?: { ids: Float64Array; at: Uint32Array };
  constructor() {
    this.from.push(0);
  }
  add(id: number, refs: number[]): void {
    this.sorted = undefined;
    this.ids.push(id);
    for (const r of refs) this.refs.push(r);
    this.from.push(this.refs.length);
  }
  get size(): number {
    return this.ids.length;
  }
  /** The way's index, or -1. */
  find(id: number): number {
    if (!this.sorted) {
      const ids = this.ids.view();
      const at = Uint32Array.from({ length: ids.length }, (_, i) => i);
      // Extracts are sorted by id already; sort an index only when this one is not.
      let ordered = true;
      for (let i = 1; i < ids.length && ordered; i++) ordered = ids[i - 1]! <= ids[i]!;
      if (!ordered) at.sort((a, b) => ids[a]! - ids[b]!);
      this.sorted = { ids: Float64Array.from(at, (i) => ids[i]!), at };
    }
    const k = search(this.sorted.ids, id);
    return k < 0 ? -1 : this.sorted.at[k]!;
  }
}

/** Tags kept as ids into one dictionary of distinct pairs: a million ways' tags as numbers, not arrays of arrays. */
class TagStore {
  private readonly pairIds = new Map<string, number>();
  private readonly pairs: [string, string][] = [];
  private readonly ids = new Grow(uint32(4096), uint32);
  private readonly from = new Grow(uint32(1024), uint32);
  constructor() {
    this.from.push(0);
  }
  add(tags: Tags): number {
    for (const [k, v] of tags) {
      const key = `${k}\u0000${v}`;
      let id = this.pairIds.get(key);
      if (id === undefined) {
        id = this.pairs.push([k, v]) - 1;
        this.pairIds.set(key, id);
      }
      this.ids.push(id);
    }
    this.from.push(this.ids.length);
    return this.from.length - 2;
  }
  get(i: number): Tags {
    const ids = this.ids.view();
    const from = this.from.view();
    const out: Tags = [];
    for (let k = from[i]!; k < from[i + 1]!; k++) out.push(this.pairs[ids[k]!]!);
    return out;
  }
}

/**
 * Reads `file` (up to three times: features, the member ways of relations, then the nodes that
 * kept ways use) and hands every feature with a key in `keys` to `sink`.
 */
export async function readOsmPbf(file: string, sink: (place: PlaceInput) => void, keys: ReadonlySet<string>): Promise<ImportStats> {
  const stats: ImportStats = { points: 0, fromNodes: 0, fromWays: 0, fromRelations: 0, skipped: 0 };
  const selected = (tags: Tags) => tags.some(([k]) => keys.has(k));
  const ways = new WayStore();
  const wayTags = new TagStore();
  const relations: { tags: number; area: boolean; ways: number[]; nodes: number[] }[] = [];
  const relationTags = new TagStore();
  await eachBlock(file, {
    node(_id, lat, lng, tags) {
      if (!tags || !selected(tags)) return;
      sink({ lat, lng, tags, name: nameOf(tags) });
      stats.fromNodes++;
    },
    way(id, refs, tags) {
      if (!selected(tags)) return;
      ways.add(id, refs);
      wayTags.add(tags);
    },
    relation(_id, tags, members) {
      if (!selected(tags)) return;
      const type = tags.find(([k]) => k === 'type')?.[1];
      relations.push({ tags: relationTags.add(tags), area: type === 'multipolygon' || type === 'boundary', ...members });
    },
  });
  const keptWays = ways.size;
  if (relations.length) {
    // Member ways that are no feature themselves (untagged rings) are read in a second pass.
    const wanted = new Set<number>();
    for (const r of relations) for (const w of r.ways) if (ways.find(w) < 0) wanted.add(w);
    if (wanted.size) {
      await eachBlock(file, {
        way(id, refs) {
          if (wanted.delete(id)) ways.add(id, refs);
        },
        untaggedWays: true,
      });
    }
  }
  if (ways.size || relations.length) {
    const refs = ways.refs.view();
    const nodeRefs = new Grow(float64(1024), float64);
    for (const r of relations) for (const n of r.nodes) nodeRefs.push(n);
    const needed = uniqueSorted(refs, nodeRefs.view());
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
    const from = ways.from.view();
    /** A way's polyline as parts split where a node is missing (extracts cut at a border keep ways whose nodes lie partly outside). */
    const wayParts = (w: number): { parts: number[][]; complete: boolean; first: number; last: number } => {
      const parts: number[][] = [];
      let part: number[] = [];
      let complete = true;
      for (let i = from[w]!; i < from[w + 1]!; i++) {
        const at = search(needed, refs[i]!);
        if (at >= 0 && !Number.isNaN(lats[at]!)) part.push(lngs[at]!, lats[at]!);
        else {
          complete = false;
          if (part.length) parts.push(part);
          part = [];
        }
      }
      if (part.length) parts.push(part);
      return { parts, complete, first: refs[from[w]!]!, last: refs[from[w + 1]! - 1]! };
    };
    for (let w = 0; w < keptWays; w++) {
      const { parts, complete, first, last } = wayParts(w);
      if (!parts.length) {
        stats.skipped++;
        continue;
      }
      const tags = wayTags.get(w);
      const closed = complete && first === last && from[w + 1]! - from[w]! >= 4;
      sink({ parts, area: closed && closedWayIsArea(tags), tags, name: nameOf(tags) });
      stats.fromWays++;
    }
    for (const r of relations) {
      const parts: number[][] = [];
      // Rings close when every end node of the member ways is shared by an even number of ends.
      const ends = new Map<number, number>();
      let complete = r.ways.length > 0;
      for (const id of r.ways) {
        const w = ways.find(id);
        if (w < 0) {
          complete = false;
          continue;
        }
        const way = wayParts(w);
        parts.push(...way.parts);
        complete &&= way.complete;
        if (way.first !== way.last) {
          ends.set(way.first, (ends.get(way.first) ?? 0) + 1);
          ends.set(way.last, (ends.get(way.last) ?? 0) + 1);
        }
      }
      for (const n of r.nodes) {
        const at = search(needed, n);
        if (at >= 0 && !Number.isNaN(lats[at]!)) parts.push([lngs[at]!, lats[at]!]);
      }
      if (!parts.length) {
        stats.skipped++;
        continue;
      }
      const tags = relationTags.get(r.tags);
      sink({ parts, area: r.area && complete && [...ends.values()].every((n) => n % 2 === 0), tags, name: nameOf(tags) });
      stats.fromRelations++;
    }
  }
  stats.points = stats.fromNodes + stats.fromWays + stats.fromRelations;
  return stats;
}

function nameOf(tags: Tags): string | undefined {
  return tags.find(([k]) => k === 'name')?.[1];
}

function uniqueSorted(a: Float64Array, b: Float64Array): Float64Array {
  const sorted = new Float64Array(a.length + b.length);
  sorted.set(a);
  sorted.set(b, a.length);
  sorted.sort();
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
async function eachBlock(file: string, visit: Visitors): Promise<void> {
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

function visitBlock(block: Block, visit: Visitors): void {
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
    visit.node!(id, la, lo, tags);
  };
  const pairs = (keys: number[], vals: number[]): Tags => keys.map((k, i) => [str(k), str(vals[i] ?? -1)]);
  for (const group of block.groups) {
    new PbfReader(group).readFields((tag, _: null, pbf) => {
      if (tag === 1 && visit.node) {
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
      } else if (tag === 2 && visit.node) {
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
        if (w.keys.length || visit.untaggedWays) visit.way(w.id, refs, pairs(w.keys, w.vals));
      } else if (tag === 4 && visit.relation) {
        const r = pbf.readMessage(
          (t, m: { id: number; keys: number[]; vals: number[]; memids: number[]; types: number[] }, p) => {
            if (t === 1) m.id = p.readVarint();
            else if (t === 2) p.readPackedVarint(m.keys);
            else if (t === 3) p.readPackedVarint(m.vals);
            else if (t === 9) p.readPackedSVarint(m.memids);
            else if (t === 10) p.readPackedVarint(m.types);
          },
          { id: 0, keys: [], vals: [], memids: [], types: [] },
        );
        if (!r.keys.length) return;
        // Member ids are delta-coded across all members; types: 0 node, 1 way, 2 relation (sub-relations are not followed, as Overpass's around does not).
        const members = { ways: [] as number[], nodes: [] as number[] };
        let ref = 0;
        r.memids.forEach((delta, i) => {
          ref += delta;
          if (r.types[i] === 1) members.ways.push(ref);
          else if (r.types[i] === 0) members.nodes.push(ref);
        });
        visit.relation(r.id, pairs(r.keys, r.vals), members);
      }
    }, null);
  }
}
