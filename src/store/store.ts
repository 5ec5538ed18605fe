import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Kysely, Migrator, PostgresAdapter, PostgresDialect, SqliteDialect, sql, type PostgresPool, type PostgresPoolClient, type Transaction } from 'kysely';
import type { Database } from './schema.ts';
import { migrations } from './migrations.ts';

export type Db = Kysely<Database> | Transaction<Database>;
export type Dialect = 'sqlite' | 'postgres';

/** Whether a connection or transaction speaks PostgreSQL, for the few statements that differ. */
export const isPostgres = (db: Db): boolean => db.getExecutor().adapter instanceof PostgresAdapter;

/**
 * The one store every feature uses. Both backends run the same Kysely queries; the few places
 * where SQLite and PostgreSQL differ are the methods below, each with its reason.
 */
export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** Runs fn in one transaction: every multi-row change goes through here. */
  transaction<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  /**
   * Serialises writers of one dataset inside a transaction. PostgreSQL: a row lock on the dataset.
   * SQLite: nothing to do, because this process holds the only connection and a transaction owns
   * it until commit.
   */
  lockDataset(trx: Db, datasetId: string): Promise<void>;
  close(): Promise<void>;
}

export type StoreOptions = { dataDir: string; databaseUrl?: string | undefined; databaseSchema?: string | undefined };

export async function openStore(options: StoreOptions): Promise<Store> {
  const store = options.databaseUrl ? await openPostgres(options.databaseUrl, options.databaseSchema) : openSqlite(options.dataDir);
  let schema: string | undefined;
  if (store.dialect === 'postgres') schema = options.databaseSchema ?? (await sql<{ s: string }>`SELECT current_schema() AS s`.execute(store.db)).rows[0]?.s;
  await migrate(store.db, schema);
  return store;
}

function openSqlite(dataDir: string): Store {
  mkdirSync(dataDir, { recursive: true });
  const database = new SqliteDatabase(path.join(dataDir, 'cellwise.db'));
  database.pragma('journal_mode = WAL');
  // NORMAL is durable across application crashes in WAL mode; only a power loss can drop the last commits.
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  // 16 MB of page cache: large imports stay within the memory budget; reads are index ranges.
  database.pragma('cache_size = -16384');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
  return {
    db,
    dialect: 'sqlite',
    transaction: (fn) => db.transaction().execute(fn),
    lockDataset: async () => {},
    close: () => db.destroy(),
  };
}

/**
 * Kysely's SQLite driver prepares every query it runs; preparing is a third of the engine's SQLite
 * time (profiled: 2.0 s of prepare against 4.4 s of execution for 5,000 cells). Statements are
 * reusable, so keep the most recent ones by SQL text. One connection runs one query at a time,
 * and a statement still busy (an unfinished iteration) is never handed out again.
 */
function withStatementCache(database: SqliteDatabase.Database, size = 500) {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    prepare(text: string) {
      const hit = cache.get(text);
      if (hit && !hit.busy) {
        cache.delete(text);
        cache.set(text, hit);
        return hit;
      }
      const fresh = database.prepare(text);
      if (!hit) {
        if (cache.size >= size) cache.delete(cache.keys().next().value!);
        cache.set(text, fresh);
      }
      return fresh;
    },
    close: () => database.close(),
  };
}

async function openPostgres(url: string, schema: string | undefined): Promise<Store> {
  // Loaded on demand: the embedded SQLite setup should not pay pg's memory.
  const { default: pg } = await import('pg');
  if (schema) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      // IF NOT EXISTS still fails with a unique violation (23505) when another process creates
      // the schema at the same moment (processes of a deployment starting together): it exists then.
      await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`).catch((err: { code?: string }) => {
        if (err.code !== '23505') throw err;
      });
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({ connectionString: url, max: 10, ...(schema ? { options: `-c search_path="${schema}"` } : {}) });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: await withCopyFrom(pool) }) });
  return {
    db,
    dialect: 'postgres',
    transaction: (fn) => db.transaction().execute(fn),
    lockDataset: async (trx, datasetId) => {
      await sql`SELECT 1 FROM datasets WHERE id = ${datasetId} FOR UPDATE`.execute(trx);
    },
    close: () => db.destroy(),
  };
}

/** `COPY <table> (<columns>) FROM STDIN`, run with its data as the one parameter (see withCopyFrom). */
export const COPY_FROM_STDIN = /^COPY [a-z_]+ \([a-z_, ]+\) FROM STDIN$/;

/**
 * The pool Kysely draws PostgreSQL connections from, with one addition: a query whose text is
 * `COPY <table> (<columns>) FROM STDIN` and whose one parameter is text in COPY's text format is
 * run as a COPY on that same connection, so inside the caller's transaction (pg-copy-streams).
 * COPY loads rows several times faster than an INSERT of the same rows (store/rows.ts).
 */
async function withCopyFrom(pool: import('pg').Pool): Promise<PostgresPool> {
  const { from: copyFrom } = await import('pg-copy-streams');
  const wrapped = new WeakMap<import('pg').PoolClient, PostgresPoolClient>();
  const wrap = (client: import('pg').PoolClient): PostgresPoolClient => ({
    query: ((text: unknown, parameters: readonly unknown[]) => {
      if (typeof text === 'string' && parameters?.length === 1 && typeof parameters[0] === 'string' && COPY_FROM_STDIN.test(text)) {
        const copy = client.query(copyFrom(text));
        return pipeline(Readable.from([parameters[0]]), copy).then(() => ({ command: 'COPY', rowCount: copy.rowCount, rows: [] }));
      }
      return client.query(text as string, parameters as unknown[]);
    }) as PostgresPoolClient['query'],
    release: (destroy) => client.release(destroy),
  });
  return {
    connect: async () => {
      const client = await pool.connect();
      let w = wrapped.get(client);
      if (!w) wrapped.set(client, (w = wrap(client)));
      return w;
    },
    end: () => pool.end(),
  };
}

async function migrate(db: Kysely<Database>, schema: string | undefined): Promise<void> {
  // Kysely looks its bookkeeping tables up across all schemas; naming ours keeps several cellwise
  // schemas in one database (tests, tenants) from seeing each other's.
  // Unordered: features developed side by side add migrations with neighbouring numbers; each is
  // self-contained, so a database that already ran a later-numbered one still gets an earlier one.
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, allowUnorderedMigrations: true, ...(schema ? { migrationTableSchema: schema } : {}) });
  // That look-up reads every schema's catalog: a schema dropped at the same moment by another
  // process (parallel test runs share a database) fails it with "schema ... does not exist".
  // The race is transient, so try again a few times before giving up.
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    const failed = results?.find((r) => r.status === 'Error');
    if (!error && !failed) return;
    const transient = !failed && /does not exist/.test(String((error as Error)?.message ?? error));
    if (!transient || attempt >= 5) {
      throw new Error(`Database migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
  }
}

/** PostgreSQL returns count(*) as a bigint string; SQLite as a number. */
export function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value ?? 0);
}

export function now(): string {
  return new Date().toISOString();
}
