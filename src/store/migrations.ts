import { SqliteAdapter, sql, type Kysely, type Migration } from 'kysely';

const isSqlite = (db: Kysely<unknown>) => db.getExecutor().adapter instanceof SqliteAdapter;

/**
 * Versioned migrations, run at start by Kysely's Migrator. User columns are rows of
 * dataset_columns, never DDL. Names sort in order of application; never edit one that shipped.
 */
export const migrations: Record<string, Migration> = {
  '0001_core': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('workspaces')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('key_hash', 'text', (c) => c.notNull().unique())
        .addColumn('key_prefix', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .execute();
      await db.schema.createIndex('api_keys_workspace').on('api_keys').column('workspace_id').execute();

      await db.schema
        .createTable('datasources')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('file_name', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('file_size', 'bigint', (c) => c.notNull())
        .addColumn('blob_key', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('info', 'text', (c) => c.notNull())
        .addColumn('uploaded_at', 'text', (c) => c.notNull())
        .addColumn('processed_at', 'text')
        .execute();
      await db.schema.createIndex('datasources_workspace').on('datasources').columns(['workspace_id', 'uploaded_at']).execute();

      await db.schema
        .createTable('datasets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('source_datasource_id', 'text')
        // status and active_task_id are written by task transitions: the list filters on status,
        // and active_task_id is the lock every mutating route checks.
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('active_task_id', 'text')
        .addColumn('row_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('datasets_workspace').on('datasets').columns(['workspace_id', 'created_at']).execute();

      await db.schema
        .createTable('dataset_columns')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('task_type', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('depends_on', 'text', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('dataset_columns_name', ['dataset_id', 'name'])
        .execute();

      // Positions are kept dense (0..n-1) so a page of rows is an index range, not an OFFSET scan.
      // Not unique: renumbering after a delete would trip a per-row unique check in PostgreSQL.
      await db.schema
        .createTable('dataset_rows')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id').onDelete('cascade'))
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('dataset_rows_position').on('dataset_rows').columns(['dataset_id', 'position']).execute();

      // Cells are clustered by (row_id, column_id); row ids sort by creation, so a page of rows is
      // one contiguous range. SQLite needs WITHOUT ROWID for that; PostgreSQL appends in id order.
      await db.schema
        .createTable('cells')
        .addColumn('row_id', 'text', (c) => c.notNull().references('dataset_rows.id').onDelete('cascade'))
        .addColumn('column_id', 'text', (c) => c.notNull().references('dataset_columns.id').onDelete('cascade'))
        .addColumn('value', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('datasource_id', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('cells_pk', ['row_id', 'column_id'])
        .$call((b) => (isSqlite(db) ? b.modifyEnd(sql`WITHOUT ROWID`) : b))
        .execute();
      await db.schema.createIndex('cells_column_status').on('cells').columns(['column_id', 'status']).execute();
      await db.schema.createIndex('cells_datasource').on('cells').column('datasource_id').where(sql.ref('datasource_id'), 'is not', null).execute();

      await db.schema
        .createTable('tasks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id').onDelete('cascade'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('progress', 'text', (c) => c.notNull())
        .addColumn('usage', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('completed_at', 'text')
        .execute();
      await db.schema.createIndex('tasks_dataset').on('tasks').columns(['dataset_id', 'created_at']).execute();
      await db.schema.createIndex('tasks_status').on('tasks').columns(['status']).execute();

      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('idempotency_keys')
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('idem_key', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('status_code', 'integer', (c) => c.notNull())
        .addColumn('response_body', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['key_id', 'idem_key'])
        .execute();
      await db.schema.createIndex('idempotency_keys_created').on('idempotency_keys').column('created_at').execute();
    },
  },
  '0002_exports': {
    async up(db: Kysely<unknown>) {
      // An export's row dies with its dataset (ON DELETE CASCADE); see features/exports for its file.
      await db.schema
        .createTable('exports')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id').onDelete('cascade'))
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('row_count', 'integer', (c) => c.notNull())
        .addColumn('file_name', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('size_bytes', 'bigint', (c) => c.notNull())
        .addColumn('blob_key', 'text', (c) => c.notNull())
        .addColumn('include_metadata', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      // expires_at drives the cleanup sweep; dataset_id keeps the cascade from scanning the table.
      await db.schema.createIndex('exports_expires').on('exports').column('expires_at').execute();
      await db.schema.createIndex('exports_dataset').on('exports').column('dataset_id').execute();
    },
  },
  '0005_engine': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('task_items')
        .addColumn('task_id', 'text', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
        .addColumn('row_id', 'text', (c) => c.notNull())
        .addColumn('column_id', 'text', (c) => c.notNull())
        .addColumn('stage', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('available_at', 'text', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'text')
        .addColumn('prev_status', 'text', (c) => c.notNull())
        // Usage lives on the item, written with its result: no hot task row under concurrent workers.
        .addColumn('llm_calls', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('cached_calls', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('input_tokens', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('output_tokens', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('cost_usd', 'double precision', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('task_items_pk', ['task_id', 'row_id', 'column_id'])
        .execute();
      // The claim scans due work by (status, available_at); progress and "anything left?" by (task_id, status).
      await db.schema.createIndex('task_items_due').on('task_items').columns(['status', 'available_at']).execute();
      await db.schema.createIndex('task_items_task_status').on('task_items').columns(['task_id', 'status']).execute();
      await db.schema
        .createTable('llm_cache')
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('cache_key', 'text', (c) => c.notNull())
        .addColumn('response', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('llm_cache_pk', ['workspace_id', 'cache_key'])
        .execute();
    },
  },
  '0004_webhooks': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('webhooks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('headers', 'text', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhooks_workspace').on('webhooks').column('workspace_id').execute();
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'text')
        .addColumn('last_status_code', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('delivered_at', 'text')
        .execute();
      await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
      await db.schema.createIndex('webhook_deliveries_webhook').on('webhook_deliveries').columns(['webhook_id', 'created_at']).execute();
    },
  },
  '0006_documents': {
    async up(db: Kysely<unknown>) {
      // A document's extracted text, one row per page (per section for DOCX, HTML and TXT): the
      // data endpoint pages through it and doc_extraction reads only the pages it sends.
      // `method` says where `text` came from (text layer, OCR, or nothing usable); `ocr_text` holds
      // an OCR pass over a page that had a text layer, made on demand for `ocr: always`.
      await db.schema
        .createTable('document_pages')
        .addColumn('datasource_id', 'text', (c) => c.notNull().references('datasources.id').onDelete('cascade'))
        .addColumn('page', 'integer', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('ocr_text', 'text')
        .addPrimaryKeyConstraint('document_pages_pk', ['datasource_id', 'page'])
        .execute();
      // Every datasource ever linked into an extraction dataset (upload files[], link-datasource,
      // upload-datasource), so new-rows can add a row for one that no row links any more.
      await db.schema
        .createTable('dataset_datasources')
        .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id').onDelete('cascade'))
        .addColumn('datasource_id', 'text', (c) => c.notNull().references('datasources.id').onDelete('cascade'))
        .addColumn('linked_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('dataset_datasources_pk', ['dataset_id', 'datasource_id'])
        .execute();
      await db.schema.createIndex('dataset_datasources_datasource').on('dataset_datasources').column('datasource_id').execute();
      // Restart finds documents left mid-extraction by status.
      await db.schema.createIndex('datasources_status').on('datasources').columns(['status', 'kind']).execute();
    },
  },
  '0007_web': {
    async up(db: Kysely<unknown>) {
      // Readable pages fetched by web_enrich, per workspace, so re-runs read them again without a
      // fetch while they are younger than CELLWISE_FETCH_CACHE_MAX_AGE_S. Only successes are kept.
      await db.schema
        .createTable('web_pages')
        .addColumn('workspace_id', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('page', 'text', (c) => c.notNull())
        .addColumn('fetched_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('web_pages_pk', ['workspace_id', 'url'])
        .execute();
    },
  },
  // Engine processes alive now: each takes an equal share of the per-provider LLM limits.
  '0009_workers': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('engine_workers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  // Issue 12: one data type per column (null: not recorded, see features/columns/data-type.ts), the
  // rows a new-rows task added, and the datasource each row came from. Rows imported with their dataset share its created_at (one
  // transaction), which is how the rows of databases made before this migration are attributed.
  '0010_issue12_column_types': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('dataset_columns').addColumn('data_type', 'text').execute();
      await db.schema.alterTable('dataset_rows').addColumn('datasource_id', 'text').execute();
      // Rows a new-rows task really added, against the rowCount it was asked for.
      await db.schema.alterTable('tasks').addColumn('rows_added', 'integer').execute();
      await sql`UPDATE dataset_rows SET datasource_id = (SELECT d.source_datasource_id FROM datasets d WHERE d.id = dataset_rows.dataset_id AND d.created_at = dataset_rows.created_at)
                WHERE datasource_id IS NULL`.execute(db);
    },
  },
  '0014_blobs': {
    // PostgreSQL only: the blob store every node of a deployment shares (providers/blob). SQLite
    // deployments are one machine and keep files on its disk.
    async up(db: Kysely<unknown>) {
      if (isSqlite(db)) return;
      await db.schema
        .createTable('blobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('complete', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('blobs_key').on('blobs').columns(['key', 'complete']).execute();
      await db.schema
        .createTable('blob_chunks')
        .addColumn('blob_id', 'text', (c) => c.notNull().references('blobs.id').onDelete('cascade'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('data', 'bytea', (c) => c.notNull())
        .addPrimaryKeyConstraint('blob_chunks_pk', ['blob_id', 'seq'])
        .execute();
    },
  },
  '0014_rate_limits': {
    // PostgreSQL only: API rate-limit windows shared by every API process (store/rate-limits.ts).
    // UNLOGGED: counters need no crash safety, and skipping the WAL halves what each request costs.
    async up(db: Kysely<unknown>) {
      if (isSqlite(db)) return;
      await sql`CREATE UNLOGGED TABLE rate_limit_windows (bucket text NOT NULL, window_start bigint NOT NULL, count integer NOT NULL, PRIMARY KEY (bucket, window_start))`.execute(db);
    },
  },
  '0015_llm_inflight': {
    // PostgreSQL only: claims on LLM requests in flight, so that engine processes asking the same
    // question at once make one call (store/llm-inflight.ts). UNLOGGED: a claim outliving a crash
    // is taken over anyway once its process is gone.
    async up(db: Kysely<unknown>) {
      if (isSqlite(db)) return;
      await sql`CREATE UNLOGGED TABLE llm_inflight (workspace_id text NOT NULL, cache_key text NOT NULL, owner text NOT NULL, expires_at text NOT NULL, PRIMARY KEY (workspace_id, cache_key))`.execute(db);
    },
  },
  '0016_row_documents': {
    // Issue 13: one store row per dataset row instead of one per cell. Each row's cells move into
    // dataset_rows.cells as the JSON text the API answers with, lined up with the columns by
    // position (store/row-cells.ts); metadata and datasource links move to cell_meta, only for the
    // cells that have any. Values keep their stored JSON text exactly. Rows move 2,000 at a time.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('dataset_rows').addColumn('cells', 'text', (c) => c.notNull().defaultTo('[]')).execute();
      await db.schema.alterTable('dataset_rows').addColumn('updated_at', 'text').execute();
      await db.schema
        .createTable('cell_meta')
        .addColumn('row_id', 'text', (c) => c.notNull().references('dataset_rows.id').onDelete('cascade'))
        .addColumn('column_id', 'text', (c) => c.notNull().references('dataset_columns.id').onDelete('cascade'))
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('datasource_id', 'text')
        .addPrimaryKeyConstraint('cell_meta_pk', ['row_id', 'column_id'])
        .$call((b) => (isSqlite(db) ? b.modifyEnd(sql`WITHOUT ROWID`) : b))
        .execute();
      // Deleting a column deletes its metadata rows through the foreign key: index the column.
      await db.schema.createIndex('cell_meta_column').on('cell_meta').column('column_id').execute();
      await db.schema.createIndex('cell_meta_datasource').on('cell_meta').column('datasource_id').where(sql.ref('datasource_id'), 'is not', null).execute();
      await sql`INSERT INTO cell_meta (row_id, column_id, metadata, datasource_id)
                SELECT row_id, column_id, metadata, datasource_id FROM cells WHERE metadata <> '{}' OR datasource_id IS NOT NULL`.execute(db);

      const datasets = await sql<{ id: string }>`SELECT id FROM datasets`.execute(db);
      for (const { id: datasetId } of datasets.rows) {
        const columns = (await sql<{ id: string }>`SELECT id FROM dataset_columns WHERE dataset_id = ${datasetId} ORDER BY position`.execute(db)).rows.map((c) => c.id);
        let after = -1;
        for (;;) {
          const rows = (await sql<{ id: string; position: number }>`SELECT id, position FROM dataset_rows WHERE dataset_id = ${datasetId} AND position > ${after} ORDER BY position LIMIT 2000`.execute(db)).rows;
          if (!rows.length) break;
          after = Number(rows[rows.length - 1]!.position);
          const cells = await sql<{ row_id: string; column_id: string; value: string | null; status: string; updated_at: string }>`
            SELECT row_id, column_id, value, status, updated_at FROM cells WHERE row_id IN (${sql.join(rows.map((r) => r.id))})`.execute(db);
          const byRow = new Map<string, Map<string, { value: string | null; status: string; updated_at: string }>>();
          for (const c of cells.rows) (byRow.get(c.row_id) ?? byRow.set(c.row_id, new Map()).get(c.row_id)!).set(c.column_id, c);
          const ids: string[] = [];
          const texts: string[] = [];
          const updated: (string | null)[] = [];
          for (const r of rows) {
            const mine = byRow.get(r.id);
            let last: string | null = null;
            const parts = columns.map((columnId) => {
              const c = mine?.get(columnId);
              if (c && (last === null || c.updated_at > last)) last = c.updated_at;
              // Same shape as row-cells.ts encodeRow; the value is already JSON text.
              return `{"cellId":"cell_${r.id.slice(4)}${columnId.slice(4)}","value":${c?.value ?? 'null'},"status":"${c?.status ?? 'empty'}"}`;
            });
            ids.push(r.id);
            texts.push(`[${parts.join(',')}]`);
            updated.push(last);
          }
          if (isSqlite(db)) {
            await sql`UPDATE dataset_rows SET cells = v.cells, updated_at = v.updated_at
                      FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS cells, json_extract(value, '$[2]') AS updated_at FROM json_each(${JSON.stringify(ids.map((id, i) => [id, texts[i], updated[i]]))})) AS v
                      WHERE dataset_rows.id = v.id`.execute(db);
          } else {
            // The rows' texts spliced into one JSON parameter as JSON: the json type keeps their text exactly.
            // PostgreSQL's JSON parser refuses \u0000 and lone surrogates even in json: such rows go as escaped strings.
            const param = `[${ids.map((id, i) => `{"id":"${id}","updated_at":${updated[i] === null ? 'null' : JSON.stringify(updated[i])},${texts[i]!.includes('\\u') ? `"cells_text":${JSON.stringify(texts[i])}` : `"cells":${texts[i]}`}}`).join(',')}]`;
            await sql`UPDATE dataset_rows SET cells = COALESCE(v.cells_text, v.cells::text), updated_at = v.updated_at
                      FROM json_to_recordset(CAST(${param} AS json)) AS v(id text, cells json, cells_text text, updated_at text)
                      WHERE dataset_rows.id = v.id`.execute(db);
          }
        }
      }
      await db.schema.dropTable('cells').execute();
    },
  },
  '0017_row_views': {
    // Issue 19: what filters and sorts of a view read, kept where an index can serve them.
    // - cell_meta gets needs_review, confidence and review_decision, derived from the metadata by
    //   the functions that write cell_meta (row-cells.ts cellMetaColumns), so every writer keeps
    //   them in step; the partial indexes hold only the cells that need review or were reviewed.
    // - row_values: one row per (row, column) of the columns a view filtered or sorted on, built
    //   on demand (store/row-index.ts) and kept in step by every row write; row_index_columns lists
    //   those columns. txt is COLLATE "C" on PostgreSQL so text sorts by code point as on SQLite.
    async up(db: Kysely<unknown>) {
      const lite = isSqlite(db);
      await db.schema.alterTable('cell_meta').addColumn('needs_review', 'integer').execute();
      await db.schema.alterTable('cell_meta').addColumn('confidence', lite ? 'real' : 'double precision').execute();
      await db.schema.alterTable('cell_meta').addColumn('review_decision', 'text').execute();
      if (lite) {
        await sql`UPDATE cell_meta SET confidence = CASE WHEN json_type(metadata, '$.confidence') IN ('real', 'integer') THEN json_extract(metadata, '$.confidence') END,
                    review_decision = CASE WHEN json_type(metadata, '$.review.decision') = 'text' THEN json_extract(metadata, '$.review.decision') END
                  WHERE metadata <> '{}'`.execute(db);
        await sql`UPDATE cell_meta SET needs_review = 1 WHERE metadata <> '{}' AND json_type(metadata, '$.needsReview') = 'true' AND review_decision IS NOT 'approved'`.execute(db);
      } else {
        await sql`UPDATE cell_meta SET confidence = CASE WHEN jsonb_typeof(metadata::jsonb -> 'confidence') = 'number' THEN (metadata::jsonb ->> 'confidence')::double precision END,
                    review_decision = CASE WHEN jsonb_typeof(metadata::jsonb #> '{review,decision}') = 'string' THEN metadata::jsonb #>> '{review,decision}' END
                  WHERE metadata <> '{}'`.execute(db);
        await sql`UPDATE cell_meta SET needs_review = 1 WHERE metadata <> '{}' AND metadata::jsonb -> 'needsReview' = 'true'::jsonb AND review_decision IS DISTINCT FROM 'approved'`.execute(db);
      }
      // Column first: "needs review in this column" is a range; "in any cell" reads the whole (small) index.
      await sql`CREATE INDEX cell_meta_needs_review ON cell_meta (column_id, row_id) WHERE needs_review = 1`.execute(db);
      await sql`CREATE INDEX cell_meta_reviewed ON cell_meta (review_decision, column_id, row_id) WHERE review_decision IS NOT NULL`.execute(db);

      await db.schema
        .createTable('row_index_columns')
        .addColumn('column_id', 'text', (c) => c.primaryKey().references('dataset_columns.id').onDelete('cascade'))
        .addColumn('dataset_id', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('row_index_columns_dataset').on('row_index_columns').columns(['dataset_id', 'state']).execute();
      await sql`CREATE TABLE row_values (
                  row_id text NOT NULL REFERENCES dataset_rows(id) ON DELETE CASCADE,
                  column_id text NOT NULL REFERENCES row_index_columns(column_id) ON DELETE CASCADE,
                  position integer NOT NULL,
                  num ${lite ? sql`real` : sql`double precision`},
                  txt text ${lite ? sql`` : sql`COLLATE "C"`},
                  status text NOT NULL,
                  PRIMARY KEY (row_id, column_id)
                ) ${lite ? sql`WITHOUT ROWID` : sql``}`.execute(db);
      await sql`CREATE INDEX row_values_num ON row_values (column_id, num, position)`.execute(db);
      await sql`CREATE INDEX row_values_txt ON row_values (column_id, txt, position)`.execute(db);
    },
  },
  '0018_views': {
    // Issue 19: saved views of a dataset (features/views). `query` is the view's JSON
    // {filter, sort, q, columns}, checked against the dataset's columns when saved and when used.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('views')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('query', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('views_dataset').on('views').columns(['dataset_id', 'created_at']).execute();
    },
  },
  '0019_row_search': {
    // Issue 19: search across a row's text (store/row-search.ts). row_text holds each row's values
    // as text, only for datasets that were searched (search_datasets), and a trigram index on it:
    // SQLite FTS5 (trigram tokenizer, external content kept in step by triggers), PostgreSQL pg_trgm
    // (GIN). Without the right to create pg_trgm the search still works, by scanning.
    async up(db: Kysely<unknown>) {
      const lite = isSqlite(db);
      await db.schema
        .createTable('search_datasets')
        .addColumn('dataset_id', 'text', (c) => c.primaryKey().references('datasets.id').onDelete('cascade'))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      if (lite) {
        // An INTEGER PRIMARY KEY: FTS5 finds its documents by it, and VACUUM keeps it (a bare rowid may change).
        await sql`CREATE TABLE row_text (id INTEGER PRIMARY KEY, row_id TEXT NOT NULL UNIQUE REFERENCES dataset_rows(id) ON DELETE CASCADE, dataset_id TEXT NOT NULL, body TEXT NOT NULL)`.execute(db);
        await sql`CREATE VIRTUAL TABLE row_text_fts USING fts5(body, content='row_text', content_rowid='id', tokenize='trigram', detail='none')`.execute(db);
        await sql`CREATE TRIGGER row_text_ai AFTER INSERT ON row_text BEGIN INSERT INTO row_text_fts(rowid, body) VALUES (new.id, new.body); END`.execute(db);
        await sql`CREATE TRIGGER row_text_ad AFTER DELETE ON row_text BEGIN INSERT INTO row_text_fts(row_text_fts, rowid, body) VALUES ('delete', old.id, old.body); END`.execute(db);
        await sql`CREATE TRIGGER row_text_au AFTER UPDATE OF body ON row_text BEGIN
                    INSERT INTO row_text_fts(row_text_fts, rowid, body) VALUES ('delete', old.id, old.body);
                    INSERT INTO row_text_fts(rowid, body) VALUES (new.id, new.body);
                  END`.execute(db);
      } else {
        await sql`CREATE TABLE row_text (row_id text PRIMARY KEY REFERENCES dataset_rows(id) ON DELETE CASCADE, dataset_id text NOT NULL, body text NOT NULL)`.execute(db);
      }
      await sql`CREATE INDEX row_text_dataset ON row_text (dataset_id)`.execute(db);
      // The rows' position index also holds their id: a query that walks a dataset's rows and
      // tests each id (a search term in most rows, a filter's id list) reads the index only,
      // instead of every row's cells (about 1 KB each). Same name and leading columns: every query
      // that used it still does.
      await sql`DROP INDEX dataset_rows_position`.execute(db);
      await sql`CREATE INDEX dataset_rows_position ON dataset_rows (dataset_id, position, id)`.execute(db);
      if (lite) return;
      // pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it. It goes to
      // public when that schema exists, so every cellwise schema of the database shares one copy
      // (a copy inside one schema would vanish with it, taking the others' indexes along).
      // Savepoints: a refusal must not abort the migration's transaction.
      const attempt = async (statement: ReturnType<typeof sql>) => {
        await sql`SAVEPOINT trgm`.execute(db);
        try {
          await statement.execute(db);
          await sql`RELEASE SAVEPOINT trgm`.execute(db);
          return true;
        } catch {
          await sql`ROLLBACK TO SAVEPOINT trgm`.execute(db);
          return false;
        }
      };
      const installed = async () => (await sql<{ schema: string }>`SELECT extnamespace::regnamespace::text AS schema FROM pg_extension WHERE extname = 'pg_trgm'`.execute(db)).rows[0]?.schema;
      let schema = await installed();
      if (!schema) {
        if (!(await attempt(sql`CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public`))) await attempt(sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
        schema = await installed();
      }
      if (schema) await attempt(sql`CREATE INDEX row_text_trgm ON row_text USING gin (body ${sql.id(schema)}.gin_trgm_ops)`);
    },
  },
  '0020_blob_lz4': {
    // PostgreSQL only: new blob chunks are compressed with lz4 instead of pglz. Storing the 22 MB
    // CSV of a 100,000-row upload took 0.6-1.4 s with pglz and 0.2 s with lz4, for 12 MB stored
    // against 10 MB. Chunks already stored keep their compression. A server without lz4 (built
    // without it, or older than PostgreSQL 14) keeps pglz: the refusal is caught in a savepoint.
    async up(db: Kysely<unknown>) {
      if (isSqlite(db)) return;
      await sql`SAVEPOINT lz4`.execute(db);
      try {
        await sql`ALTER TABLE blob_chunks ALTER COLUMN data SET COMPRESSION lz4`.execute(db);
        await sql`RELEASE SAVEPOINT lz4`.execute(db);
      } catch {
        await sql`ROLLBACK TO SAVEPOINT lz4`.execute(db);
      }
    },
  },
};
