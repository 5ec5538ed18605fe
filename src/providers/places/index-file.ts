import { open, rename, rm } from 'node:fs/promises';
import KDBush from 'kdbush';

/**
 * The local places index on disk, one file:
 *
 *   "CWPLACE1" | u32 header length | header JSON | sections, each padded to 8 bytes
 *
 * Sections: kdbush's own serialised ArrayBuffer (coordinates as Float64: Float32 would move points
 * by up to ~2 m and break "exactly on the radius"), then per point its tag pairs (offsets + pair
 * ids into a dictionary of distinct key=value pairs) and its name (offsets + UTF-8 bytes), then the
 * pair dictionary. Reopening reads the file and wraps typed arrays around it: no parsing, no rebuild.
 */
const MAGIC = 'CWPLACE1';
export const INDEX_FORMAT_VERSION = 1;

export type IndexHeader = {
  version: number;
  points: number;
  pairs: number;
  builtAt: string;
  /** What it was built from, so a changed CELLWISE_PLACES_FILE is noticed. */
  source: { path: string; size: number; mtimeMs: number; format: string };
  /** Section byte lengths, in file order. */
  sections: { kdbush: number; tagOffsets: number; tagIds: number; nameOffsets: number; names: number; pairs: number };
};

/** Keys that describe a feature but are never useful to count by; dropping them keeps the pair dictionary small. */
const DROPPED_KEY = /^(name|alt_name|old_name|official_name|short_name|loc_name|int_name|reg_name|addr|contact|source|note|fixme|description|opening_hours|phone|fax|email|website|url|wikidata|wikipedia|wikimedia_commons|image|mapillary|check_date|survey|created_by|ref|start_date)(:|$)/i;

export function keepTag(key: string, value: string): boolean {
  return key.length > 0 && key.length <= 64 && value.length > 0 && value.length <= 100 && !DROPPED_KEY.test(key);
}

/** Doubling typed-array storage: a million points cost tens of megabytes, not a million objects. */
export class Grow<T extends Float64Array | Uint32Array> {
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

export type PlaceInput = { lat: number; lng: number; tags: Iterable<readonly [string, string]>; name?: string | undefined };

/** Collects points in compact arrays, then writes the index file (via a temp file and a rename). */
export class PlaceIndexBuilder {
  private readonly lats = new Grow(new Float64Array(1024), (n) => new Float64Array(n));
  private readonly lngs = new Grow(new Float64Array(1024), (n) => new Float64Array(n));
  private readonly tagOffsets = new Grow(new Uint32Array(1024), (n) => new Uint32Array(n));
  private readonly tagIds = new Grow(new Uint32Array(4096), (n) => new Uint32Array(n));
  private readonly nameOffsets = new Grow(new Uint32Array(1024), (n) => new Uint32Array(n));
  // Names go straight into one growing byte buffer: a Buffer per name would cost ~100 bytes of object each.
  private names = Buffer.allocUnsafe(64 * 1024);
  private nameBytes = 0;
  private readonly pairIds = new Map<string, number>();

  constructor() {
    this.tagOffsets.push(0);
    this.nameOffsets.push(0);
  }

  get size(): number {
    return this.lats.length;
  }

  add(place: PlaceInput): void {
    this.lats.push(place.lat);
    this.lngs.push(place.lng);
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
    const kdb = new KDBush(Math.max(n, 1));
    const lats = this.lats.view();
    const lngs = this.lngs.view();
    for (let i = 0; i < n; i++) kdb.add(lngs[i]!, lats[i]!);
    // kdbush cannot index zero items; an empty extract gets one unreachable dummy point that no query returns (it has no tags).
    if (n === 0) kdb.add(0, 0);
    kdb.finish();
    const pairs = Buffer.from(JSON.stringify([...this.pairIds.keys()].map((p) => p.split('\u0000'))), 'utf8');
    const names = this.names.subarray(0, this.nameBytes);
    const parts: Uint8Array[] = [new Uint8Array(kdb.data as ArrayBuffer), u8(this.tagOffsets.view()), u8(this.tagIds.view()), u8(this.nameOffsets.view()), names, pairs];
    const header: IndexHeader = {
      version: INDEX_FORMAT_VERSION,
      points: n,
      pairs: this.pairIds.size,
      builtAt: new Date().toISOString(),
      source,
      sections: { kdbush: parts[0]!.length, tagOffsets: parts[1]!.length, tagIds: parts[2]!.length, nameOffsets: parts[3]!.length, names: parts[4]!.length, pairs: parts[5]!.length },
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
      for (const part of parts) {
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

const pad8 = (n: number) => Math.ceil(n / 8) * 8;
const u8 = (a: Uint32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** An opened index: the kd-tree and the per-point tag and name tables. */
export type IndexData = {
  header: IndexHeader;
  kdbush: KDBush;
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

export async function readIndexFile(file: string): Promise<IndexData> {
  const fh = await open(file, 'r');
  try {
    const { header, end } = await readHead(fh, file);
    if (header.version !== INDEX_FORMAT_VERSION) throw new IndexFileError(`${file} has index format ${header.version}; this cellwise reads ${INDEX_FORMAT_VERSION}: import the extract again`);
    const s = header.sections;
    const size = (await fh.stat()).size;
    let at = end;
    const read = async (into: Uint8Array, len: number) => {
      if (at + len > size) throw new IndexFileError(`${file} is truncated`);
      await fh.read(into, 0, len, at);
      at += pad8(len);
    };
    // The kd-tree gets its own ArrayBuffer (kdbush reads its header at offset 0); the tables share
    // one more, each section 8-aligned within it so typed arrays can view it without copies.
    const kdData = new ArrayBuffer(s.kdbush);
    await read(new Uint8Array(kdData), s.kdbush);
    const lens = [s.tagOffsets, s.tagIds, s.nameOffsets, s.names, s.pairs];
    const rest = new ArrayBuffer(lens.reduce((a, b) => a + pad8(b), 0));
    const offsets: number[] = [];
    let off = 0;
    for (const len of lens) {
      offsets.push(off);
      await read(new Uint8Array(rest, off, len), len);
      off += pad8(len);
    }
    const u32 = (i: number) => new Uint32Array(rest, offsets[i]!, lens[i]! / 4);
    const pairs = JSON.parse(Buffer.from(rest, offsets[4]!, s.pairs).toString('utf8')) as [string, string][];
    return { header, kdbush: KDBush.from(kdData), tagOffsets: u32(0), tagIds: u32(1), nameOffsets: u32(2), names: Buffer.from(rest, offsets[3]!, s.names), pairs };
  } catch (err) {
    if (err instanceof IndexFileError) throw err;
    throw new IndexFileError(`${file} is not a readable places index: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await fh.close();
  }
}
