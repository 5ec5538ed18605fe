import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrations } from '../../src/store/migrations.ts';

/**
 * A database as a release before migration `before` left it: made by the migrations that shipped
 * before it, on the test's backend (a schema of its own on PostgreSQL). Migration tests fill it the
 * way the old store wrote, then start today's server on it.
 */
export async function databaseBefore(before: string, db: { dataDir: string; databaseUrl?: string; databaseSchema?: string }): Promise<Kysely<any>> {
  let kysely: Kysely<any>;
  if (db.databaseUrl) {
    const admin = new pg.Client({ connectionString: db.databaseUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA IF NOT EXISTS "${db.databaseSchema}"`);
    await admin.end();
    kysely = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: db.databaseUrl, max: 2, options: `-c search_path="${db.databaseSchema}"` }) }) });
  } else {
    mkdirSync(db.dataDir, { recursive: true });
    kysely = new Kysely({ dialect: new SqliteDialect({ database: new SqliteDatabase(path.join(db.dataDir, 'cellwise.db')) }) });
  }
  const earlier = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < before));
  const migrator = new Migrator({ db: kysely, provider: { getMigrations: async () => earlier }, allowUnorderedMigrations: true, ...(db.databaseSchema ? { migrationTableSchema: db.databaseSchema } : {}) });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
  return kysely;
}
