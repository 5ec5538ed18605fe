import { ApiError, InvalidParametersError, NotFoundError } from '../../http/errors.ts';
import { newId } from '../../ids.ts';
import type { EventBus } from '../../events.ts';
import * as columnsDb from '../../store/columns.ts';
import type { ColumnRecord } from '../../store/columns.ts';
import * as datasetsDb from '../../store/datasets.ts';
import type { DatasetRecord } from '../../store/datasets.ts';
import type { DatasourceRecord } from '../../store/datasources.ts';
import { recordDatasetLinks } from '../../store/documents.ts';
import { cellsOfRows, rowCellsInRange, rowPageInRange, rowsMetadata } from '../../store/rows.ts';
import { reviewCounts } from '../../store/review.ts';
import { now, type Db, type Store } from '../../store/store.ts';
import { checkColumnName, checkColumns } from '../columns/column-rules.ts';
import { createTypeTally, guessHolds, retypeValue, type Retype } from '../columns/data-type.ts';
import { DatasetTypeInput, type DatasetType } from '../columns/task-types.ts';
import type { DatasourceService } from '../datasources/datasources.service.ts';
import type { Auth } from '../keys/keys.service.ts';
import type { DatasetAccess } from './dataset-access.ts';
import type { CreateDatasetInput } from './datasets.schema.ts';
import { appendRows, columnView, gridJson, type DatasourceLink } from './grid.ts';
import { pagination } from '../../http/common.schema.ts';
import { isViewRead, positionCursor, prepareViewQuery, readViewPage, type ViewParams } from '../views/view-rows.ts';
import { resolveView } from '../views/views.service.ts';
import { releaseMemory } from '../../memory.ts';

/** Formats whose values are text (typed per column after import); the others keep their own types. */
const TEXTUAL = new Set(['csv', 'tsv']);
const IMPORT_BATCH = 2000;

/** A CSV/TSV import's guess of its column types stopped holding: it rolls back and runs again, typed first. */
class GuessFailed extends Error {}

/** Runs inside the deletion transaction; the returned action runs after the commit (file cleanup). */
export type OnDatasetDelete = (db: Db, datasetId: string) => Promise<() => Promise<void>>;

export function createDatasetService({ store, access, datasources, events, cancelActiveTask, onDelete = [] }: { store: Store; access: DatasetAccess; datasources: DatasourceService; events: EventBus; cancelActiveTask: (db: Db, dataset: DatasetRecord) => Promise<void>; onDelete?: OnDatasetDelete[] }) {
  async function views(db: Db, records: readonly DatasetRecord[]) {
    const ids = records.map((d) => d.id);
    const [counts, links] = await Promise.all([datasetsDb.countColumns(db, ids), datasetsDb.linkedDatasources(db, ids)]);
    return records.map((d) => ({
      datasetId: d.id,
      name: d.name,
      description: d.description,
      type: d.type as DatasetType,
      status: d.status as 'processing' | 'completed' | 'failed',
      rowCount: d.rowCount,
      columnCount: counts.get(d.id) ?? 0,
      linkedDatasources: [...new Set([...(d.sourceDatasourceId ? [d.sourceDatasourceId] : []), ...(links.get(d.id) ?? [])])],
      createdAt: d.createdAt,
      updatedAt: d.updatedAt,
    }));
  }

  async function detail(auth: Auth, id: string) {
    const dataset = await access.get(auth, id);
    const [view] = await views(store.db, [dataset]);
    const [columns, review] = await Promise.all([columnsDb.listColumns(store.db, id), reviewCounts(store.db, [id])]);
    return { ...view!, columns: columns.map(columnView), activeTaskId: dataset.activeTaskId, review: review.get(id)! };
  }

  function newDataset(auth: Auth, input: { name: string; type: DatasetType; description?: string | null | undefined; sourceDatasourceId?: string | null }): DatasetRecord {
    const at = now();
    return { id: newId('dataset'), workspaceId: auth.workspaceId, name: input.name, description: input.description ?? null, type: input.type, status: 'completed', activeTaskId: null, sourceDatasourceId: input.sourceDatasourceId ?? null, rowCount: 0, createdAt: at, updatedAt: at };
  }

  /** Column records for a new dataset: raw columns named by the data, then the declared ones. */
  function planColumns(dataset: DatasetRecord, rawNames: readonly string[], declared: CreateDatasetInput['columns'] = []): ColumnRecord[] {
    const at = dataset.createdAt;
    const drafts = [
      ...declared.map((c, i) => ({ columnId: newId('column'), name: checkColumnName(c.name, `columns.${i}.name`), taskType: c.taskType, metadata: c.metadata ?? {}, path: `columns.${i}` })),
      ...rawNames.filter((n) => !declared.some((c) => c.name.trim() === n)).map((name) => ({ columnId: newId('column'), name, taskType: 'raw', metadata: {}, path: 'columns' })),
    ];
    const pathOf = new Map(drafts.map((d) => [d.columnId, d.path]));
    // Data columns keep the file's order and come first; declared computed columns follow.
    const ordered = [...drafts].sort((a, b) => rank(a) - rank(b));
    function rank(d: (typeof drafts)[number]) {
      const i = rawNames.indexOf(d.name);
      return i >= 0 ? i : rawNames.length + drafts.indexOf(d);
    }
    const checked = checkColumns(ordered, dataset.type as DatasetType, new Set(drafts.map((d) => d.columnId)), (id) => pathOf.get(id) ?? 'columns');
    return checked.map((c, position) => ({ id: c.columnId, datasetId: dataset.id, name: c.name, taskType: c.taskType, metadata: c.metadata, dependsOn: c.dependsOn, position, createdAt: at, updatedAt: at }));
  }

  /** Each raw input column's inferred type, recorded (its values were written in that type). */
  async function recordTypes(trx: Db, inputColumns: readonly ColumnRecord[], types: readonly ReturnType<typeof createTypeTally>[]) {
    for (const [i, column] of inputColumns.entries()) {
      if (column.taskType !== 'raw') continue;
      column.dataType = types[i]!.result().dataType;
      await columnsDb.updateColumn(trx, column.id, { dataType: column.dataType, updatedAt: column.updatedAt });
    }
  }

  async function insertNew(dataset: DatasetRecord, columns: ColumnRecord[], fill: (trx: Db, columns: ColumnRecord[]) => Promise<number>) {
    await store.transaction(async (trx) => {
      await datasetsDb.insertDataset(trx, dataset);
      await columnsDb.insertColumns(trx, columns);
      const rowCount = await fill(trx, columns);
      await datasetsDb.updateDataset(trx, dataset.id, { rowCountDelta: rowCount, updatedAt: dataset.updatedAt });
    });
    events.emit({ type: 'dataset.created', workspaceId: dataset.workspaceId, data: { datasetId: dataset.id, name: dataset.name, type: dataset.type } });
  }

  /**
   * A dataset whose rows stream from a tabular datasource, in one transaction: a parse error
   * anywhere rolls the whole import back.
   *
   * CSV and TSV hold text, and a column's type is known only once every value has been seen. The
   * file is read once: the first batch's values guess how each column's values are written (as
   * read, as text, as numbers or booleans; see the tally's `guess`), and the import goes on while
   * every guess still holds. A guess that stops holding (a column of numbers with text further
   * down) rolls the import back and it runs again knowing the types: one pass to type the columns,
   * one to write values of that type, as every import did before. Writing first and retyping
   * after rewrote every row again (seconds for 100,000 rows on PostgreSQL).
   */
  async function createFromTable(auth: Auth, input: { name: string; type: DatasetType; description?: string | null | undefined; columns?: CreateDatasetInput['columns'] }, datasource: DatasourceRecord) {
    const dataset = newDataset(auth, { ...input, sourceDatasourceId: datasource.id });
    const withTable = datasources.tableOf(datasource);
    await withTable(async (table) => {
      const rawNames = table.columns;
      const columns = planColumns(dataset, rawNames, input.columns);
      const inputColumns = rawNames.map((n) => columns.find((c) => c.name === n)!);
      const textual = TEXTUAL.has(datasource.format);
      const importRows = (retypes: 'guess' | readonly (Retype | undefined)[]) =>
        insertNew(dataset, columns, async (trx) => {
          const types = inputColumns.map(() => createTypeTally(textual));
          let written = retypes === 'guess' ? undefined : retypes;
          let position = 0;
          // The rows of one batch are written while the next batch is parsed (PostgreSQL works
          // on them meanwhile); one write is in flight at a time.
          let writing: Promise<unknown> = Promise.resolve();
          try {
            for await (const batch of table.batches(IMPORT_BATCH)) {
              for (const row of batch) for (let i = 0; i < types.length; i++) types[i]!.add(row[i]);
              written ??= types.map((t) => t.guess());
              if (retypes === 'guess' && !written.every((w, i) => guessHolds(w, types[i]!.result(), false))) throw new GuessFailed();
              if (textual) for (const row of batch) for (let i = 0; i < written.length; i++) if (written[i]) row[i] = retypeValue(row[i], written[i]!);
              await writing;
              // Each row records the datasource it came from as it is written (an UPDATE of every
              // row afterwards rewrote them all again, 2-3 s for 100,000 rows on PostgreSQL).
              writing = appendRows(trx, dataset.id, columns, inputColumns, batch, position, dataset.createdAt, datasource.id);
              position += batch.length;
            }
          } finally {
            // Settled before the transaction ends, whether it commits or rolls back.
            await writing.catch(() => {});
          }
          await writing;
          if (retypes === 'guess' && written && !written.every((w, i) => guessHolds(w, types[i]!.result(), true))) throw new GuessFailed();
          await recordTypes(trx, inputColumns, types);
          if (datasource.status !== 'completed') await datasources.tableImported(trx, datasource, { columns: rawNames, rowCount: position });
          return position;
        });
      if (!textual) return importRows([]);
      try {
        await importRows('guess');
      } catch (err) {
        if (!(err instanceof GuessFailed)) throw err;
        const types = inputColumns.map(() => createTypeTally(true));
        for await (const batch of table.batches(IMPORT_BATCH)) for (const row of batch) for (let i = 0; i < types.length; i++) types[i]!.add(row[i]);
        await importRows(types.map((t) => t.result().retype));
      }
    });
    // An import leaves its parsed rows' garbage behind: give the memory back.
    releaseMemory();
    return detail(auth, dataset.id);
  }

  /** An extraction dataset: one row per document, a raw `document` column linking each. */
  async function createFromDocuments(auth: Auth, input: { name: string; description?: string | null | undefined }, docs: readonly DatasourceRecord[]) {
    const dataset = newDataset(auth, { name: input.name, type: 'extraction', description: input.description });
    const columns = planColumns(dataset, ['document']);
    const links = docs.map((d): [DatasourceLink] => [{ datasourceId: d.id, fileName: d.fileName, contentType: d.contentType }]);
    await insertNew(dataset, columns, async (trx) => {
      await appendRows(trx, dataset.id, columns, columns, links, 0, dataset.createdAt);
      await recordDatasetLinks(trx, dataset.id, docs.map((d) => d.id), dataset.createdAt);
      return links.length;
    });
    return detail(auth, dataset.id);
  }

  return {
    views,
    detail,

    async list(auth: Auth, q: { page: number; limit: number; type?: string | undefined; status?: string | undefined }) {
      const { items, total } = await datasetsDb.listDatasets(store.db, auth.workspaceId, { type: q.type, status: q.status, offset: (q.page - 1) * q.limit, limit: q.limit });
      return { datasets: await views(store.db, items), total };
    },

    async data(auth: Auth, id: string, q: { page: number; limit: number; columns?: string | undefined; includeMetadata: boolean; viewId?: string | undefined } & Omit<ViewParams, 'filterText' | 'filter'> & { filter?: string | undefined }) {
      const dataset = await access.get(auth, id);
      // A saved view (features/views): its parts apply where no parameter is given explicitly.
      const saved = q.viewId !== undefined ? await resolveView(store.db, access, auth, id, q.viewId) : undefined;
      const columnsParam = q.columns ?? saved?.columns?.join(',');
      const allColumns = await columnsDb.listColumns(store.db, id);
      let columns = allColumns;
      let columnIds: string[] | undefined;
      if (columnsParam !== undefined) {
        columnIds = [...new Set(columnsParam.split(',').map((s) => s.trim()).filter(Boolean))];
        if (!columnIds.length) throw new InvalidParametersError([{ path: 'columns', message: 'must list at least one column id' }]);
        const missing = columnIds.filter((cid) => !columns.some((c) => c.id === cid));
        if (missing.length) throw new NotFoundError('column', missing);
        const order = new Map(columnIds.map((cid, i) => [cid, i]));
        columns = columns.filter((c) => order.has(c.id)).sort((a, b) => order.get(a.id)! - order.get(b.id)!);
      }
      const start = (q.page - 1) * q.limit;
      const view = { ...(q.filter !== undefined ? { filterText: q.filter } : { filter: saved?.filter }), sort: q.sort ?? saved?.sort, q: q.q ?? saved?.q, cursor: q.cursor };
      let rows: { id: string; cells: string }[];
      let page: ReturnType<typeof pagination> & { nextCursor: string | null };
      if (isViewRead(view)) {
        // A filter, sort, search or cursor: the view query (features/views). Otherwise the plain
        // position range below, untouched.
        const got = await readViewPage(store.db, await prepareViewQuery(store.db, id, allColumns, view), { limit: q.limit, offset: start }, dataset.rowCount);
        rows = got.rows;
        page = { ...pagination(q.page, q.limit, got.total), nextCursor: got.nextCursor };
      } else {
        // Positions are dense: the page's last row is at start + length - 1.
        const plainPage = (length: number) => ({ ...pagination(q.page, q.limit, dataset.rowCount), nextCursor: length === q.limit && start + q.limit < dataset.rowCount ? positionCursor(start + q.limit - 1) : null });
        if (!columnIds && !q.includeMetadata) {
          // The commonest read: every column, no metadata. The stored text, read as one, is the answer's data.
          const joined = await rowPageInRange(store.db, id, start, start + q.limit);
          if (joined) return gridJson(id, columns, joined.ids, { joined: joined.cells }, false, { pagination: plainPage(joined.ids.length) });
        }
        rows = await rowCellsInRange(store.db, id, start, start + q.limit);
        page = plainPage(rows.length);
      }
      const rowIds = rows.map((r) => r.id);
      // Every column, no metadata: the rows' stored text is the answer's data as is.
      if (!columnIds && !q.includeMetadata) return gridJson(id, columns, rowIds, { stored: rows.map((r) => r.cells) }, false, { pagination: page });
      const cells = await cellsOfRows(store.db, rows, { metadata: q.includeMetadata && 'text', ...(columnIds ? { columnIds } : {}) });
      const rowMeta = q.includeMetadata ? await rowsMetadata(store.db, rowIds) : undefined;
      return gridJson(id, columns, rowIds, { cells }, q.includeMetadata, { pagination: page }, rowMeta);
    },

    async create(auth: Auth, input: CreateDatasetInput) {
      if (input.datasourceId) {
        if (input.rows) throw new InvalidParametersError([{ path: 'rows', message: 'rows come from the datasource; do not send both' }]);
        const { datasource } = await datasources.openTable(auth, input.datasourceId, 'datasourceId');
        return createFromTable(auth, input, datasource);
      }
      const rows = input.rows ?? [];
      const rawNames: string[] = [];
      for (const row of rows) for (const key of Object.keys(row)) if (!rawNames.includes(key)) rawNames.push(key);
      const names = rawNames.map((n, i) => checkColumnName(n, `rows.*.${i}`));
      const dataset = newDataset(auth, input);
      const columns = planColumns(dataset, names, input.columns);
      const inputColumns = names.map((n) => columns.find((c) => c.name === n)!);
      await insertNew(dataset, columns, async (trx) => {
        const values = rows.map((r) => rawNames.map((n) => r[n] ?? null));
        await appendRows(trx, dataset.id, columns, inputColumns, values, 0, dataset.createdAt);
        const types = inputColumns.map(() => createTypeTally(false));
        for (const row of values) types.forEach((t, i) => t.add(row[i]));
        await recordTypes(trx, inputColumns, types);
        return rows.length;
      });
      return detail(auth, dataset.id);
    },

    /** POST /datasets/upload: `file` (a table) or `files[]` (documents: an extraction dataset). */
    async upload(auth: Auth, request: Request) {
      // Tables are parsed once, by the import itself, rather than checked first and parsed again.
      const { fields, files } = await datasources.ingestMultipart(auth, request, ['file', 'files[]', 'files'], undefined, { summarize: false });
      const cleanup = async () => {
        for (const f of files) await datasources.remove(auth, f.result.id).catch(() => {});
      };
      try {
        const issues = [];
        const unknown = Object.keys(fields).filter((k) => !['name', 'type', 'description'].includes(k));
        if (unknown.length) issues.push({ path: unknown[0]!, message: `unknown field(s): ${unknown.join(', ')}` });
        if (!files.length) issues.push({ path: 'file', message: 'send a tabular file as "file" or documents as "files[]"' });
        const type = fields.type === undefined || fields.type === '' ? undefined : DatasetTypeInput.safeParse(fields.type);
        if (type && !type.success) issues.push({ path: 'type', message: 'must be extraction, analysis or classification' });
        if (issues.length) throw new InvalidParametersError(issues);
        const description = fields.description ?? null;
        const firstName = files[0]!.result.fileName.replace(/\.[^.]+$/, '');
        const name = (fields.name ?? '').trim() || firstName || 'Untitled dataset';
        const datasetType = type?.success ? type.data : undefined;
        const tables = files.filter((f) => f.result.kind === 'tabular');
        if (files.length === 1 && tables.length === 1 && files[0]!.field === 'file') {
          const table = files[0]!.result;
          if (datasetType === 'extraction') throw new InvalidParametersError([{ path: 'type', message: 'an extraction dataset is made from documents sent as files[]' }]);
          return await createFromTable(auth, { name, type: datasetType ?? 'analysis', description }, table);
        }
        if (datasetType && datasetType !== 'extraction') throw new InvalidParametersError([{ path: 'type', message: 'documents make an extraction dataset; send a single tabular file as "file" for other types' }]);
        const docs = await Promise.all(files.map((f) => datasources.summarizeNow(f.result)));
        return await createFromDocuments(auth, { name, description }, docs);
      } catch (err) {
        await cleanup();
        throw err;
      } finally {
        for (const f of files) await datasources.releaseLocal(f.result.id);
      }
    },

    async update(auth: Auth, id: string, patch: { name?: string | undefined; description?: string | null | undefined }) {
      await access.get(auth, id);
      await datasetsDb.updateDataset(store.db, id, { ...(patch.name !== undefined ? { name: patch.name } : {}), ...(patch.description !== undefined ? { description: patch.description } : {}), updatedAt: now() });
      return detail(auth, id);
    },

    /** Deletes a dataset with its cells, tasks and exports; `force` cancels a running task first. */
    async remove(auth: Auth, id: string, force: boolean) {
      const afterCommit = await store.transaction(async (trx) => {
        await store.lockDataset(trx, id);
        const dataset = await access.get(auth, id, trx);
        if (dataset.activeTaskId) {
          if (!force) throw new ApiError('PROCESSING_IN_PROGRESS', `Dataset ${id} is being processed; cancel the task or delete with ?force=true`, { datasetId: id, taskId: dataset.activeTaskId });
          await cancelActiveTask(trx, dataset);
        }
        const actions = await Promise.all(onDelete.map((hook) => hook(trx, id)));
        await datasetsDb.deleteDataset(trx, id);
        return actions;
      });
      for (const action of afterCommit) await action();
      events.emit({ type: 'dataset.deleted', workspaceId: auth.workspaceId, data: { datasetId: id } });
      return { datasetId: id, deleted: true as const };
    },
  };
}
export type DatasetService = ReturnType<typeof createDatasetService>;
