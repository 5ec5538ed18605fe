import { open, rename, rm } from 'node:fs/promises';
import Flatbush from 'flatbush';
import KDBush from 'kdbush';
import { LEGACY_FEATURE_KEYS } from './feature-keys.ts';

/**
 * The local places index on disk, one file:
 *
 *   "CWPLACE1" | u32 header length | header JSON (with `version`) | sections, each padded to 8 bytes
 *
 * Format 2 keeps each feature's geometry so "any part within the radius" is answered exactly, as
 * Overpass answers it: a flatbush R-tree over the features' bounding boxes (the first cut; Float64,
 * as Float32 would move points by up to ~2 m and break "exactly on the radius"); a point's box is
 * its coordinates, so points store nothing more; other features keep their parts (a way: its
 * polyline; a relation: its member ways and nodes) as Float64 [lng, lat] vertices. Then a flag
 * byte per feature (point, area), its tag pairs (offsets + pair ids into a dictionary of
 * distinct key=value pairs), its name, and the pair dictionary. The header lists the keys the
 * features were selected by, so a query on any other key is refused instead of answered with 0.
 * Reopening reads the file and wraps typed arrays around it: no parsing, no rebuild.
 *
 * Format 1 (points only, ways as centroids, a kdbush tree) is still read: its features become
 * one-vertex points and its selection keys the fixed list it was built with.
 */
const MAGIC = 'CWPLACE1';
export const INDEX_FORMAT_VERSION = 2;

/** Feature flag: a closed way or a multipolygon (or boundary) whose inside counts as "within" (the centre inside it). */
export const AREA_FLAG = 1;
/** Feature flag: a point, whose coordinates are its box in the tree (it has no parts). */
export const POINT_FLAG = 2;

export type IndexHeader = {
  version: number;
  /** Features indexed (nodes, ways and relations). */
  points: number;
  pairs: number;
  builtAt: string;
  /** What it was built from, so a changed CELLWISE_PLACES_FILE is noticed. */
  source: { path: string; size: number; mtimeMs: number; format: string };
  /**
   * The keys features were selected by; null when every feature of the source was kept (GeoJSON,
   * CSV). Format 1 files have none: see `selectionKeys`.
   */
  keys?: string[] | null;
  /** Section byte lengths, in file order (format 2). */
  sections: Record<string, number>;
};

/** Keys that describe a feature but are never useful to count by; dropping them keeps the pair dictionary small. */
const DROPPED_KEY = /^(name|alt_name|old_name|official_name|short_name|loc_name|int_name|reg_name|addr|contact|source|note|fixme|description|opening_hours|phone|fax|email|website|url|wikidata|wikipedia|wikimedia_commons|image|mapillary|check_date|survey|created_by|ref|start_date)(:|$)/i;

/** Whether the index stores this key on its features at all (names and addresses are not stored as tags). */
export function storedKey(key: string): boolean {
  return key.length > 0 && key.length <= 64 && !DROPPED_KEY.test(key);
}

export function keepTag(key: string, value: string): boolean {
  return storedKey(key) && value.length > 0 && value.length <= 100;
}

/** The keys an opened index selected its features by (null: all features of its source). */
export function selectionKeys(header: IndexHeader): string[] | null {
  if (header.version === 1) return header.source.format === 'pbf' ? [...LEGACY_FEATURE_KEYS] : null;
  return header.keys ?? null;
}

type Typed = Float64Array | Uint32Array | Uint8Array;

/** Doubling typed-array storage: a million points cost tens of megabytes, not a million objects. */
export class Grow<T extends Typed> {
  length = 0;
  constructor(
    private data: T,
    private readonly make: (n: number) => T,
  ) {}
  push(v: number) {
    if (this.length === this.data.length) {
      const next = this.make(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
}

type Tags = Iterable<readonly [string, string]>;
/**
 * A feature to index: a point, or parts (each a flat [lng, lat, lng, lat, ...] polyline; a closed
 * ring repeats its first vertex) with `area` telling whether the centre inside the rings counts.
 */
export type PlaceInput = ({ lat: number; lng: number } | { parts: ArrayLike<number>[]; area: boolean }) & { tags: Tags; name?: string | undefined };

/** Collects features in compact arrays, then writes the index file (via a temp file and a rename). */
export class PlaceIndexBuilder {
  private readonly coords = new Grow(new Float64Array(2048), (n) => new Float64Array(n));
  /** Build time only: each point's [lng, lat] (NaN for the others), for its box. */
  private readonly points = new Grow(new Float64Array(2048), (n) => new Float64Array(n));
  private readonly partOffsets = new Grow(new Uint32Array(1024), (n) => new Uint32Array(n));
  private readonly featureParts = new Grow(new Uint32Array(1024), (n) => new Uint32Array(n));
  private readonly flags = new Grow(new Uint8Array(1024), (n) => new Uint8Array(n));
  private readonly tagOffsets = new Grow(new Uint32Array(1024), (n) => new Uint32Array(n));
  private readonly tagIds = new Grow(new Uint32Array(4096), (n) => new Uint32Array(n));
  private readonly nameOffsets = new Grow(new Uint32Array(1024), (n) => new Uint32Array(n));
  // Names go straight into one growing byte buffer: a Buffer per name would cost ~100 bytes of object each.
  private names = Buffer.allocUnsafe(64 * 1024);
  private nameBytes = 0;
  private readonly pairIds = new Map<string, number>();

  /** `keys`: what features were selected by (null: every feature of the source). */
  constructor(private readonly keys: string[] | null) {
    this.tagOffsets.push(0);
    this.nameOffsets.push(0);
    this.partOffsets.push(0);
    this.featureParts.push(0);
  }

  get size(): number {
    return this.flags.length;
  }

  add(place: PlaceInput): void {
    if ('parts' in place) {
      for (const part of place.parts) {
        for (let i = 0; i < part.length; i++) this.coords.push(part[i]!);
        this.partOffsets.push(this.coords.length / 2);
      }
      this.flags.push(place.area ? AREA_FLAG : 0);
      this.points.push(NaN);
      this.points.push(NaN);
    } else {
      this.points.push(place.lng);
      this.points.push(place.lat);
      this.flags.push(POINT_FLAG);
    }
    this.featureParts.push(this.partOffsets.length - 1);
    for (const [k, v] of place.tags) {
      if (!keepTag(k, v)) continue;
      const pair = `${k}\u0000${v}`;
      let id = this.pairIds.get(pair);
      if (id === undefined) this.pairIds.set(pair, (id = this.pairIds.size));
      this.tagIds.push(id);
    }
    this.tagOffsets.push(this.tagIds.length);
    if (place.name) {
      const name = place.name.slice(0, 200);
      // 200 UTF-16 units are at most 600 UTF-8 bytes.
      if (this.nameBytes + 600 > this.names.length) {
        const next = Buffer.allocUnsafe(this.names.length * 2);
        this.names.copy(next, 0, 0, this.nameBytes);
        this.names = next;
      }
      this.nameBytes += this.names.write(name, this.nameBytes, 'utf8');
    }
    this.nameOffsets.push(this.nameBytes);
  }

  async write(file: string, source: IndexHeader['source']): Promise<IndexHeader> {
    const n = this.size;
    const coords = this.coords.view();
    const partOffsets = this.partOffsets.view();
    const featureParts = this.featureParts.view();
    const points = this.points.view();
    const flags = this.flags.view();
    const tree = boxTree(n, (i, box) => {
      if (flags[i]! & POINT_FLAG) {
        box[0] = box[2] = points[2 * i]!;
        box[1] = box[3] = points[2 * i + 1]!;
        return;
      }
      let across = false;
      for (let p = featureParts[i]!; p < featureParts[i + 1]!; p++) {
        for (let v = partOffsets[p]!; v < partOffsets[p + 1]!; v++) {
          const x = coords[2 * v]!;
          const y = coords[2 * v + 1]!;
          if (x < box[0]) box[0] = x;
          if (y < box[1]) box[1] = y;
          if (x > box[2]) box[2] = x;
          if (y > box[3]) box[3] = y;
          // A segment jumping more than 180 degrees of longitude takes the short way, across the antimeridian.
          if (v > partOffsets[p]! && Math.abs(x - coords[2 * v - 2]!) > 180) across = true;
        }
      }
      // Its box then spans every longitude: wider than needed, never missing it.
      if (across) {
        box[0] = -180;
        box[2] = 180;
      }
    });
    const pairs = Buffer.from(JSON.stringify([...this.pairIds.keys()].map((p) => p.split('\u0000'))), 'utf8');
    const names = this.names.subarray(0, this.nameBytes);
    const parts: [string, Uint8Array][] = [
      ['flatbush', new Uint8Array(tree.data as ArrayBuffer)],
      ['coords', u8(coords)],
      ['partOffsets', u8(partOffsets)],
      ['featureParts', u8(featureParts)],
      ['flags', this.flags.view()],
      ['tagOffsets', u8(this.tagOffsets.view())],
      ['tagIds', u8(this.tagIds.view())],
      ['nameOffsets', u8(this.nameOffsets.view())],
      ['names', names],
      ['pairs', pairs],
    ];
    const header: IndexHeader = {
      version: INDEX_FORMAT_VERSION,
      points: n,
      pairs: this.pairIds.size,
      builtAt: new Date().toISOString(),
      source,
      keys: this.keys,
      sections: Object.fromEntries(parts.map(([name, bytes]) => [name, bytes.length])),
    };
    const head = Buffer.from(JSON.stringify(header), 'utf8');
    const prefix = Buffer.alloc(pad8(12 + head.length));
    prefix.write(MAGIC, 0, 'latin1');
    prefix.writeUInt32LE(head.length, 8);
    head.copy(prefix, 12);
    const tmp = `${file}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.write(prefix);
      for (const [, part] of parts) {
        await fh.write(part);
        const gap = pad8(part.length) - part.length;
        if (gap) await fh.write(Buffer.alloc(gap));
      }
    } finally {
      await fh.close();
    }
    await rename(tmp, file).catch(async (err: unknown) => {
      await rm(tmp, { force: true });
      throw err;
    });
    return header;
  }
}

/** A flatbush over `n` boxes filled in by `boxOf`. Flatbush cannot index zero items: an empty index gets one dummy box no query returns (its id is past the features). */
function boxTree(n: number, boxOf: (i: number, box: [number, number, number, number]) => void): Flatbush {
  const tree = new Flatbush(Math.max(n, 1));
  const box: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    box[0] = Infinity;
    box[1] = Infinity;
    box[2] = -Infinity;
    box[3] = -Infinity;
    boxOf(i, box);
    tree.add(box[0], box[1], box[2], box[3]);
  }
  if (n === 0) tree.add(0, 0, 0, 0);
  tree.finish();
  return tree;
}

const pad8 = (n: number) => Math.ceil(n / 8) * 8;
const u8 = (a: Float64Array | Uint32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** An opened index: the R-tree, the geometry and the per-feature tag and name tables. */
export type IndexData = {
  header: IndexHeader;
  tree: Flatbush;
  /** [lng, lat] per vertex of the features that are not points. */
  coords: Float64Array;
  /** Part p's vertices are [partOffsets[p], partOffsets[p + 1]). */
  partOffsets: Uint32Array;
  /** Feature i's parts are [featureParts[i], featureParts[i + 1]). */
  featureParts: Uint32Array;
  /** AREA_FLAG, POINT_FLAG per feature. */
  flags: Uint8Array;
  tagOffsets: Uint32Array;
  tagIds: Uint32Array;
  nameOffsets: Uint32Array;
  names: Buffer;
  /** [key, value] by pair id. */
  pairs: [string, string][];
};

export class IndexFileError extends Error {}

type Handle = Awaited<ReturnType<typeof open>>;

async function readHead(fh: Handle, file: string): Promise<{ header: IndexHeader; end: number }> {
  const first = Buffer.alloc(12);
  const { bytesRead } = await fh.read(first, 0, 12, 0);
  if (bytesRead < 12 || first.toString('latin1', 0, 8) !== MAGIC) throw new IndexFileError(`${file} is not a cellwise places index`);
  const len = first.readUInt32LE(8);
  const head = Buffer.alloc(len);
  await fh.read(head, 0, len, 12);
  try {
    return { header: JSON.parse(head.toString('utf8')) as IndexHeader, end: pad8(12 + len) };
  } catch {
    throw new IndexFileError(`${file} has a damaged header`);
  }
}

/** Reads the header only (to decide whether an index is stale without loading it). */
export async function readIndexHeader(file: string): Promise<IndexHeader> {
  const fh = await open(file, 'r');
  try {
    return (await readHead(fh, file)).header;
  } finally {
    await fh.close();
  }
}

const V1_SECTIONS = ['kdbush', 'tagOffsets', 'tagIds', 'nameOffsets', 'names', 'pairs'];
const V2_SECTIONS = ['flatbush', 'coords', 'partOffsets', 'featureParts', 'flags', 'tagOffsets', 'tagIds', 'nameOffsets', 'names', 'pairs'];

export async function readIndexFile(file: string): Promise<IndexData> {
  const fh = await open(file, 'r');
  try {
    const { header, end } = await readHead(fh, file);
    if (header.version !== 1 && header.version !== INDEX_FORMAT_VERSION) throw new IndexFileError(`${file} has index format ${header.version}; this cellwise reads 1 and ${INDEX_FORMAT_VERSION}: import the extract again`);
    const names = header.version === 1 ? V1_SECTIONS : V2_SECTIONS;
    const lens = names.map((name) => {
      const len = header.sections[name];
      if (typeof len !== 'number' || len < 0) throw new IndexFileError(`${file} has a damaged header (no ${name} section)`);
      return len;
    });
    const size = (await fh.stat()).size;
    // Each tree gets its own ArrayBuffer (it reads its header at offset 0); the tables share one
    // more, each section 8-aligned within it so typed arrays can view it without copies.
    const treeData = new ArrayBuffer(lens[0]!);
    const rest = new ArrayBuffer(lens.slice(1).reduce((a, b) => a + pad8(b), 0));
    const sections: Record<string, Uint8Array> = {};
    let at = end;
    let off = 0;
    for (const [i, name] of names.entries()) {
      const len = lens[i]!;
      if (at + len > size) throw new IndexFileError(`${file} is truncated`);
      const into = i === 0 ? new Uint8Array(treeData) : new Uint8Array(rest, off, len);
      await fh.read(into, 0, len, at);
      sections[name] = into;
      at += pad8(len);
      if (i > 0) off += pad8(len);
    }
    const u32 = (name: string) => new Uint32Array(rest, sections[name]!.byteOffset, sections[name]!.length / 4);
    const table = {
      tagOffsets: u32('tagOffsets'),
      tagIds: u32('tagIds'),
      nameOffsets: u32('nameOffsets'),
      names: Buffer.from(rest, sections.names!.byteOffset, sections.names!.length),
      pairs: JSON.parse(Buffer.from(rest, sections.pairs!.byteOffset, sections.pairs!.length).toString('utf8')) as [string, string][],
    };
    if (header.version === 1) return { header, ...table, ...pointsFromKdbush(KDBush.from(treeData), header.points) };
    return {
      header,
      ...table,
      tree: Flatbush.from(treeData),
      coords: new Float64Array(rest, sections.coords!.byteOffset, sections.coords!.length / 8),
      partOffsets: u32('partOffsets'),
      featureParts: u32('featureParts'),
      flags: sections.flags!,
    };
  } catch (err) {
    if (err instanceof IndexFileError) throw err;
    throw new IndexFileError(`${file} is not a readable places index: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await fh.close();
  }
}

/** A format-1 index's points (kdbush keeps them in kd order, each with its id) as one-vertex features. */
function pointsFromKdbush(kdb: KDBush, n: number): Pick<IndexData, 'tree' | 'coords' | 'partOffsets' | 'featureParts' | 'flags'> {
  const coords = new Float64Array(2 * n);
  kdb.ids.forEach((id, pos) => {
    if (id >= n) return;
    coords[2 * id] = kdb.coords[2 * pos]!;
    coords[2 * id + 1] = kdb.coords[2 * pos + 1]!;
  });
  const tree = boxTree(n, (i, box) => {
    box[0] = box[2] = coords[2 * i]!;
    box[1] = box[3] = coords[2 * i + 1]!;
  });
  return { tree, coords: new Float64Array(0), partOffsets: new Uint32Array(1), featureParts: new Uint32Array(n + 1), flags: new Uint8Array(n).fill(POINT_FLAG) };
}
