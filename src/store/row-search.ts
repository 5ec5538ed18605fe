import { sql } from 'kysely';
import { type Db, isPostgres } from './store.ts';

/**
 * Search across a row's text (`q` on GET /data, export and views; issue 19).
 *
 * What is searched: the row's cell values as text (strings as they are, numbers and booleans
 * written out, objects and arrays as JSON, null as nothing), one line per cell, kept in
 * `row_text.body`. Ids, statuses and metadata are not searched. A query is split on whitespace
 * into terms; a row matches when every term occurs in its text, case-insensitively, anywhere
 * (inside a word too): `lyo` finds "Lyon". A term cannot span two cells.
 *
 * How it is fast (migration 0018_row_search): a trigram index on both backends, in front of the
 * plain case-insensitive substring test that decides, so both give the same rows:
 * - SQLite: an FTS5 table with the trigram tokenizer over row_text (external content, kept in step
 *   by triggers on row_text);
 * - PostgreSQL: a GIN pg_trgm index on row_text.body, which serves `body LIKE '%term%'`. When the
 *   extension cannot be created (no privilege), the same LIKE runs without the index.
 * Terms of 1 or 2 characters have no trigram: only the LIKE over the dataset's text tests them.
 *
 * When: a dataset's row_text is built the first time it is searched (search_datasets records it),
 * so imports and writes of datasets nobody searches pay nothing but one lookup per write batch.
 * From then on every row write keeps it in step: writeRowCells (row-cells.ts) calls
 * syncRowText and insertRows (rows.ts) calls addRowText; deletes cascade from dataset_rows.
 */


function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A row's searchable text from its stored cells text (row-cells.ts): one line per non-empty value, lowercased. */
export function rowSearchText(cellsText: string): string {
  const cells = JSON.parse(cellsText) as { value: unknown }[];
  let out = '';
  for (const c of cells) {
    const v = c.value;
    if (v === null || v === undefined) continue;
    const text = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
    if (text) out += out ? `\n${text}` : text;
  }
  return out.toLowerCase();
}

/** The terms of a query: whitespace-separated, empty ones dropped, at most 10 (the rest ignored). */
export function searchTerms(q: string): string[] {
  return q.split(/\s+/u).filter(Boolean).slice(0, 10);
}

/** A LIKE pattern matching `term` anywhere, with `\` as the escape character. */
const likeAnywhere = (term: string) => `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Rows of `ids` that have row_text (their dataset was searched): only those need their text kept in step. */
async function indexedRows(db: Db, ids: readonly string[]): Promise<Set<string>> {
  const rows = isPostgres(db)
    ? await sql<{ row_id: string }>`SELECT row_id FROM row_text WHERE row_id = ANY(${ids}::text[])`.execute(db)
    : await sql<{ row_id: string }>`SELECT row_id FROM row_text WHERE row_id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`.execute(db);
  return new Set(rows.rows.map((r) => r.row_id));
}

/**
 * After rows' cells were rewritten (writeRowCells): their text, for the rows whose dataset has a
 * search index. Only text that changed is written (a status change leaves the index alone).
 */
export async function syncRowText(db: Db, rows: readonly { id: string; cells: string }[]): Promise<void> {
  if (!rows.length) return;
  const indexed = await indexedRows(db, rows.map((r) => r.id));
  if (!indexed.size) return;
  await updateBodies(db, rows.filter((r) => indexed.has(r.id)).map((r) => [r.id, rowSearchText(r.cells)] as const));
}

async function updateBodies(db: Db, bodies: readonly (readonly [string, string])[]): Promise<void> {
  for (const part of chunk(bodies, 2000)) {
    const list = JSON.stringify(part);
    if (isPostgres(db)) {
      await sql`UPDATE row_text SET body = v.body FROM (SELECT x->>0 AS id, x->>1 AS body FROM jsonb_array_elements(CAST(${list} AS jsonb)) AS x) AS v
                WHERE row_text.row_id = v.id AND row_text.body <> v.body`.execute(db);
    } else {
      await sql`UPDATE row_text SET body = v.body FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS body FROM json_each(${list})) AS v
                WHERE row_text.row_id = v.id AND row_text.body <> v.body`.execute(db);
    }
  }
}

/** Inserts or replaces rows' text (a build, or new rows of a searched dataset). */
async function upsertBodies(db: Db, datasetId: string, bodies: readonly (readonly [string, string])[]): Promise<void> {
  for (const part of chunk(bodies, 2000)) {
    const list = JSON.stringify(part);
    const rows = isPostgres(db)
      ? sql`SELECT x->>0 AS id, x->>1 AS body FROM jsonb_array_elements(CAST(${list} AS jsonb)) AS x`
      : sql`SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS body FROM json_each(${list}) WHERE true`;
    await sql`INSERT INTO row_text (row_id, dataset_id, body) SELECT id, ${datasetId}, body FROM (${rows}) AS v WHERE true
              ON CONFLICT (row_id) DO UPDATE SET body = excluded.body`.execute(db);
  }
}

/** New rows (insertRows): their text, when their dataset has a search index. */
export async function addRowText(db: Db, rows: readonly { id: string; datasetId: string; cells: string }[]): Promise<void> {
  if (!rows.length) return;
  const datasets = [...new Set(rows.map((r) => r.datasetId))];
  const searched = await db.selectFrom('search_datasets').select('dataset_id').where('dataset_id', 'in', datasets).execute();
  for (const { dataset_id } of searched) {
    await upsertBodies(db, dataset_id, rows.filter((r) => r.datasetId === dataset_id).map((r) => [r.id, rowSearchText(r.cells)] as const));
  }
}

/** How long a row write may run from its timestamp to its commit and still be caught by a build's last pass. */
const WRITE_MARGIN_MS = 60_000;

/**
 * Builds a dataset's search text once (the first search), 2,000 rows per transaction so writers
 * are not held up for the whole build. Safe against writes running meanwhile:
 * - the dataset is marked first, under its lock, so rows inserted from then on add their own text
 *   (inserts take the same lock);
 * - a write of cells that commits after the build read its row finds the row's text and updates
 *   it, unless it looked just before the build wrote that text. SQLite: impossible (its one
 *   connection runs one transaction at a time). PostgreSQL: a last pass reads again, FOR SHARE
 *   (waiting for writers still open), the rows changed since shortly before the mark. Locking
 *   every row as it is read instead would write to each of them (a row lock is a write on
 *   PostgreSQL): seconds for 100,000 rows.
 * Idempotent: a build interrupted (or run by two processes at once) is completed by the next.
 */
export async function ensureSearchIndex(db: Db, datasetId: string): Promise<void> {
  const state = await db.selectFrom('search_datasets').select('state').where('dataset_id', '=', datasetId).executeTakeFirst();
  if (state?.state === 'ready') return;
  const pg = isPostgres(db);
  const tx = (fn: (trx: Db) => Promise<void>) => (db as import('kysely').Kysely<import('./schema.ts').Database>).transaction().execute(fn);
  const marked = new Date();
  await tx(async (trx) => {
    if (pg) await sql`SELECT 1 FROM datasets WHERE id = ${datasetId} FOR UPDATE`.execute(trx);
    await sql`INSERT INTO search_datasets (dataset_id, state, updated_at) VALUES (${datasetId}, 'building', ${marked.toISOString()}) ON CONFLICT (dataset_id) DO NOTHING`.execute(trx);
  });
  let after = -1;
  for (;;) {
    let done = false;
    await tx(async (trx) => {
      const rows = await sql<{ id: string; cells: string; position: number }>`SELECT id, cells, position FROM dataset_rows WHERE dataset_id = ${datasetId} AND position > ${after} ORDER BY position LIMIT 2000`.execute(trx);
      if (!rows.rows.length) {
        done = true;
        return;
      }
      after = Number(rows.rows[rows.rows.length - 1]!.position);
      await upsertBodies(trx, datasetId, rows.rows.map((r) => [r.id, rowSearchText(r.cells)] as const));
    });
    if (done) break;
  }
  if (pg) {
    const since = new Date(marked.getTime() - WRITE_MARGIN_MS).toISOString();
    await tx(async (trx) => {
      const rows = await sql<{ id: string; cells: string }>`SELECT id, cells FROM dataset_rows WHERE dataset_id = ${datasetId} AND updated_at >= ${since} FOR SHARE`.execute(trx);
      await upsertBodies(trx, datasetId, rows.rows.map((r) => [r.id, rowSearchText(r.cells)] as const));
    });
  }
  await db.updateTable('search_datasets').set({ state: 'ready', updated_at: new Date().toISOString() }).where('dataset_id', '=', datasetId).execute();
  // Fresh statistics: the planner's choice between the trigram index and a scan rests on them.
  if (pg) await sql`ANALYZE row_text`.execute(db);
}

/**
 * `selective`: beyond this many index candidates (over all datasets) a scan of the dataset's text
 * is cheaper than the index. A setting so tests can send every search down either path.
 */
export const searchTuning = { selective: 5000 };

/** The trigrams of a term (Unicode characters), as FTS5's trigram tokenizer cuts them. */
function trigrams(term: string): string[] {
  const chars = [...term];
  const out: string[] = [];
  for (let i = 0; i + 3 <= chars.length; i++) out.push(chars.slice(i, i + 3).join(''));
  return out;
}

/**
 * The search as a boolean SQL expression over `r`, the `dataset_rows` row of the caller's query
 * (store/row-query.ts): true when every term of `q` occurs in the row's text. The contract:
 * `sql` has `?` placeholders, one per element of `params`, in order, on both backends. Builds the
 * dataset's index first if it has none. An empty query matches every row.
 *
 * The text is stored lowercased and terms are lowercased here, so a LIKE (which folds ASCII only)
 * matches case-insensitively in every script; each term is one LIKE `%term%` on the row's text,
 * which decides. The trigram index finds the rows the LIKEs look at, and the form of the
 * expression depends on how many rows that is (a probe, bounded by `searchTuning.selective`):
 * - few (a rare word): a list of row ids the outer query checks each row against without reading
 *   it (SQLite: its rowid, read from the index the outer query walks; PostgreSQL: `= ANY(ARRAY())`);
 *   a page and its count then cost about the matches, not the dataset.
 * - many (a word in most rows): the set of matching rows, read once from the dataset's text (a
 *   scan of about 20-40 ms for 100,000 rows), which each row of the outer query is looked up in.
 *   A test per row (EXISTS on row_text) would let a bare search's first page stop early, but with
 *   a broad filter too it reads row_text at random for every row the filter passes: 2.4 s against
 *   0.5 s for 100,000 rows, measured.
 * The index: SQLite FTS5 trigram (detail=none: rows only, no positions, half the build and a third
 * of the size of a full index), probed by every trigram of the terms; PostgreSQL pg_trgm, which
 * serves the LIKEs themselves (the planner chooses).
 */
export type SearchCondition = {
  sql: string;
  params: unknown[];
  /**
   * The same rows as a query of their ids (`SELECT t.row_id AS row_id ...`, same placeholder
   * contract), read from row_text alone: the dataset's row_text holds one entry per row of the
   * dataset once its index is built, so counting these is counting the matching rows, without
   * reading a row (row-query.ts counts a search this way).
   */
  rows: { sql: string; params: unknown[] };
  /**
   * SQLite, a word in most rows: the same test row by row (`EXISTS` on the row's text, by its id),
   * for a walk that stops after a page when nothing else filters: the first page of a bare search
   * then reads about a page of texts instead of the dataset's (it pays for it when the matches
   * are rare in the dataset, up to one look-up per row). Undefined where the set is better.
   */
  each?: { sql: string; params: unknown[] } | undefined;
};

export async function searchCondition(db: Db, datasetId: string, q: string): Promise<SearchCondition> {
  const terms = searchTerms(q).map((t) => t.toLowerCase());
  if (!terms.length) return { sql: '1 = 1', params: [], rows: { sql: 'SELECT r.id AS row_id FROM dataset_rows r WHERE r.dataset_id = ?', params: [datasetId] } };
  await ensureSearchIndex(db, datasetId);
  const likes = terms.map(() => "t.body LIKE ? ESCAPE '\\'").join(' AND ');
  const patterns = terms.map(likeAnywhere);
  const scan = { sql: `SELECT t.row_id AS row_id FROM row_text t WHERE t.dataset_id = ? AND ${likes}`, params: [datasetId, ...patterns] };
  if (isPostgres(db)) {
    // Few matches: the trigram index must find them. `dataset_id || ''` keeps the planner off the
    // dataset's index, which it otherwise prefers when one term is common ("city" of "city 123"),
    // reading every row of the dataset (188 ms against 25 ms for 100,000 rows, measured).
    const inDataset = sql`(t.dataset_id || '') = ${datasetId}`;
    const probe = await sql<{ n: string }>`SELECT count(*) AS n FROM (SELECT 1 FROM row_text t WHERE ${inDataset} AND ${sql.join(
      patterns.map((p) => sql`t.body LIKE ${p} ESCAPE '\\'`),
      sql` AND `,
    )} LIMIT ${searchTuning.selective + 1}) AS x`.execute(db);
    if (Number(probe.rows[0]!.n) <= searchTuning.selective) {
      const few = `SELECT t.row_id FROM row_text t WHERE (t.dataset_id || '') = ? AND ${likes}`;
      return { sql: `r.id = ANY (ARRAY(${few}))`, params: [datasetId, ...patterns], rows: { sql: few.replace('SELECT t.row_id', 'SELECT t.row_id AS row_id'), params: [datasetId, ...patterns] } };
    }
    return { sql: `r.id IN (${scan.sql})`, params: scan.params, rows: scan };
  }
  const many = { sql: `r.id IN (${scan.sql})`, params: scan.params, rows: scan, each: { sql: `EXISTS (SELECT 1 FROM row_text t WHERE t.row_id = r.id AND ${likes})`, params: patterns } };
  const grams = [...new Set(terms.flatMap(trigrams))].slice(0, 32);
  if (!grams.length) return many;
  const match = grams.map((g) => `"${g.replace(/"/g, '""')}"`).join(' AND ');
  const probe = await sql<{ n: number }>`SELECT count(*) AS n FROM (SELECT rowid FROM row_text_fts WHERE row_text_fts MATCH ${match} LIMIT ${searchTuning.selective + 1})`.execute(db);
  if (Number(probe.rows[0]!.n) > searchTuning.selective) return many;
  const few = `SELECT t.row_id AS row_id FROM row_text t WHERE t.id IN (SELECT rowid FROM row_text_fts WHERE row_text_fts MATCH ?) AND t.dataset_id = ? AND ${likes}`;
  return {
    sql: `r.rowid IN (SELECT d.rowid FROM dataset_rows d WHERE d.id IN (${few}))`,
    params: [match, datasetId, ...patterns],
    rows: { sql: few, params: [match, datasetId, ...patterns] },
  };
}
