/**
 * Table shapes as Kysely sees them. JSON lives in TEXT columns in both backends so that values
 * read back identically from SQLite and PostgreSQL; timestamps are ISO 8601 UTC strings, which
 * sort correctly as text.
 */
export interface Database {
  /** PostgreSQL blob storage (store/blobs.ts): one row per stored version of a key, complete once every chunk is in. */
  blobs: { id: string; key: string; size: number | string; complete: boolean; created_at: string };
  blob_chunks: { blob_id: string; seq: number; data: Uint8Array };
  workspaces: { id: string; name: string; created_at: string };
  api_keys: {
    id: string;
    workspace_id: string;
    name: string;
    key_hash: string;
    key_prefix: string;
    scopes: string;
    created_at: string;
    last_used_at: string | null;
  };
  datasets: {
    id: string;
    workspace_id: string;
    name: string;
    description: string | null;
    type: string;
    source_datasource_id: string | null;
    status: string;
    active_task_id: string | null;
    row_count: number;
    created_at: string;
    updated_at: string;
  };
  dataset_columns: {
    id: string;
    dataset_id: string;
    name: string;
    task_type: string;
    metadata: string;
    depends_on: string;
    position: number;
    created_at: string;
    updated_at: string;
    data_type: string | null;
  };
  /** `cells`: the row's cells as JSON text, lined up with the columns (see store/row-cells.ts). */
  dataset_rows: { id: string; dataset_id: string; position: number; created_at: string; datasource_id: string | null; cells: string; updated_at: string | null };
  engine_workers: { id: string; started_at: string; expires_at: string };
  /** A cell's metadata and datasource link, for the cells that have any (store/row-cells.ts). */
  cell_meta: { row_id: string; column_id: string; metadata: string; datasource_id: string | null; needs_review: number | null; confidence: number | null; review_decision: string | null };
  /** Columns whose values are kept in row_values (store/row-index.ts); state `building` or `ready`. */
  row_index_columns: { column_id: string; dataset_id: string; state: string; created_at: string };
  /** A cell's value typed for filters and sorts (store/row-index.ts): one row per (row, indexed column). */
  row_values: { row_id: string; column_id: string; position: number; num: number | null; txt: string | null; status: string };
  datasources: {
    id: string;
    workspace_id: string;
    file_name: string;
    content_type: string;
    format: string;
    kind: string;
    file_size: number;
    blob_key: string;
    status: string;
    error: string | null;
    info: string;
    uploaded_at: string;
    processed_at: string | null;
  };
  tasks: {
    id: string;
    workspace_id: string;
    dataset_id: string;
    type: string;
    status: string;
    params: string;
    progress: string;
    usage: string;
    error: string | null;
    created_at: string;
    started_at: string | null;
    completed_at: string | null;
    rows_added: number | null;
  };
  settings: { key: string; value: string };
  idempotency_keys: {
    key_id: string;
    idem_key: string;
    method: string;
    path: string;
    request_hash: string;
    status_code: number;
    response_body: string;
    content_type: string;
    created_at: string;
  };
  exports: {
    id: string;
    workspace_id: string;
    dataset_id: string;
    format: string;
    row_count: number;
    file_name: string;
    content_type: string;
    size_bytes: number;
    blob_key: string;
    include_metadata: number;
    created_at: string;
    expires_at: string;
  };
  webhooks: { id: string; workspace_id: string; name: string; url: string; events: string; headers: string; secret: string; created_at: string; updated_at: string };
  webhook_deliveries: {
    id: string;
    webhook_id: string;
    workspace_id: string;
    event: string;
    payload: string;
    status: string;
    attempts: number;
    next_attempt_at: string | null;
    last_status_code: number | null;
    last_error: string | null;
    created_at: string;
    delivered_at: string | null;
  };
  /** One cell of one task: the durable unit of work, claimed with a lease (see store/tasks.ts). */
  task_items: {
    task_id: string;
    row_id: string;
    column_id: string;
    /** Depth of the column in the dependency graph among the task's columns: lower stages run first in a row. */
    stage: number;
    /** pending | running | done | failed | skipped | cancelled */
    status: string;
    attempts: number;
    available_at: string;
    lease_owner: string | null;
    lease_until: string | null;
    /** The cell's status before the task queued it, restored when the item is cancelled or skipped. */
    prev_status: string;
    llm_calls: number;
    cached_calls: number;
    input_tokens: number;
    output_tokens: number;
    cost_usd: number;
  };
  llm_cache: { workspace_id: string; cache_key: string; response: string; created_at: string };
  /** `page` is the JSON of a providers/web WebPage. */
  web_pages: { workspace_id: string; url: string; page: string; fetched_at: string };
  /** method: text | ocr | none. */
  document_pages: { datasource_id: string; page: number; text: string; method: string; ocr_text: string | null };
  dataset_datasources: { dataset_id: string; datasource_id: string; linked_at: string };
  /** Saved views (features/views): `query` is the JSON {filter, sort, q, columns}. */
  views: { id: string; dataset_id: string; name: string; query: string; created_at: string; updated_at: string };
  /** Datasets whose rows have search text (store/row-search.ts); state `building` or `ready`. */
  search_datasets: { dataset_id: string; state: string; updated_at: string };
  /** A row's values as searchable text (store/row-search.ts); SQLite adds an integer `id` for FTS5. */
  row_text: { row_id: string; dataset_id: string; body: string };
}
