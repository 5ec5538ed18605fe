import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from './store.ts';
import { insertColumns, listColumns, deleteColumn, shiftColumns } from './columns.ts';
import { findDataset, insertDataset, listDatasets, setDatasetTaskState, deleteDataset, linkedDatasources } from './datasets.ts';
import { addColumnCells, cellsInRange, deleteRows, findCell, insertRows, markStale, removeColumnCells, resetColumnCells, rowCellsInRange, rowPageInRange, rowsInRange, writeCellValue } from './rows.ts';
import { encodeRow } from './row-cells.ts';
import { cellId } from '../ids.ts';
import { insertWorkspace } from './workspaces.ts';
import { claimIdempotencyKey, completeIdempotencyKey, findIdempotencyKey } from './idempotency.ts';
import { ensureSecret } from './settings.ts';
import { newId } from '../ids.ts';

const at = '2026-01-01T00:00:00.000Z';

/** Seeds a workspace and a dataset with `n` rows and two columns (raw + ai_enrich). */
async function seed(store: Store, n: number) {
  const ws = newId('workspace');
  const ds = newId('dataset');
  await insertWorkspace(store.db, { id: ws, name: 'w', createdAt: at });
  await insertDataset(store.db, { id: ds, workspaceId: ws, name: 'd', description: null, type: 'analysis', status: 'completed', activeTaskId: null, sourceDatasourceId: null, rowCount: n, createdAt: at, updatedAt: at });
  const cols = [newId('column'), newId('column')];
  await insertColumns(store.db, cols.map((id, i) => ({ id, datasetId: ds, name: `c${i}`, taskType: i ? 'ai_enrich' : 'raw', metadata: i ? { prompt: '{{c0}}' } : {}, dependsOn: i ? [cols[0]!] : [], position: i, createdAt: at, updatedAt: at })));
  const rows = Array.from({ length: n }, (_, i) => {
    const id = newId('row');
    const cells = encodeRow([{ cellId: cellId(id, cols[0]!), value: { i, s: `v${i}` }, status: 'done' }, { cellId: cellId(id, cols[1]!), value: null, status: 'empty' }]);
    return { id, datasetId: ds, position: i, createdAt: at, cells };
  });
  await insertRows(store.db, rows);
  return { ws, ds, cols, rows };
}

/**
 * One suite every store backend must pass; run against SQLite and PostgreSQL by store.test.ts.
 * `open` gives a fresh, migrated, empty store.
 */
export function storeContract(name: string, open: () => Promise<Store & { drop?: () => Promise<void> }>) {
  describe(`store contract: ${name}`, () => {
    it('round-trips JSON values of every shape and reads a page by position range', async () => {
      const store = await open();
      try {
        const { ds, cols, rows } = await seed(store, 2500);
        const page = await rowsInRange(store.db, ds, 1000, 2000);
        assert.equal(page.length, 1000);
        assert.equal(page[0]!.id, rows[1000]!.id);
        const cells = await cellsInRange(store.db, ds, 1000, 1003, { metadata: true, columnIds: [cols[0]!] });
        assert.deepEqual(cells.map((c) => c.value), [{ i: 1000, s: 'v1000' }, { i: 1001, s: 'v1001' }, { i: 1002, s: 'v1002' }]);
        for (const value of ['text', 42, 3.5, true, false, [1, 'a', null], { deep: { x: [1] } }, '']) {
          await writeCellValue(store.db, ds, rows[0]!.id, cols[0]!, value, null, at);
          assert.deepEqual((await findCell(store.db, ds, rows[0]!.id, cols[0]!))!.value, value);
        }
        await writeCellValue(store.db, ds, rows[0]!.id, cols[0]!, null, null, at);
        const cleared = await findCell(store.db, ds, rows[0]!.id, cols[0]!);
        assert.equal(cleared!.value, null);
        assert.equal(cleared!.status, 'empty');
      } finally {
        await store.drop?.();
      }
    });

    it('reads a page as one joined text, equal to its rows\' stored text, and declines a range whose positions are not dense', async () => {
      const store = await open();
      try {
        const { ds, rows } = await seed(store, 1200);
        // A value with non-ASCII text and escapes: the joined bytes are the stored UTF-8 text.
        await writeCellValue(store.db, ds, rows[1001]!.id, (await listColumns(store.db, ds))[0]!.id, 'Zürich "quoted" \\ ✓', null, at);
        const one = await rowCellsInRange(store.db, ds, 1000, 1200);
        const joined = await rowPageInRange(store.db, ds, 1000, 1200);
        assert.ok(joined);
        assert.deepEqual(joined.ids, one.map((r) => r.id));
        assert.equal(joined.cells.toString('utf8'), one.map((r) => r.cells).join(','));
        assert.deepEqual(await rowPageInRange(store.db, ds, 5000, 6000), { ids: [], cells: Buffer.alloc(0) }, 'past the end: an empty page');
        // Positions with a gap (never written by the store, which keeps them dense): the caller must read row by row.
        await store.db.updateTable('dataset_rows').set({ position: 5000 }).where('id', '=', rows[1100]!.id).execute();
        assert.equal(await rowPageInRange(store.db, ds, 1000, 1200), undefined);
      } finally {
        await store.drop?.();
      }
    });

    it('deletes rows and renumbers positions densely in one transaction', async () => {
      const store = await open();
      try {
        const { ds, rows } = await seed(store, 50);
        const victims = [rows[3]!.id, rows[10]!.id, rows[49]!.id];
        await store.transaction((trx) => deleteRows(trx, ds, victims, 3));
        const left = await rowsInRange(store.db, ds, 0, 100);
        assert.equal(left.length, 47);
        assert.deepEqual(left.map((r) => r.position), Array.from({ length: 47 }, (_, i) => i));
        assert.equal(left[3]!.id, rows[4]!.id);
        assert.equal((await cellsInRange(store.db, ds, 0, 100, { metadata: false })).length, 94, 'cells of deleted rows cascade');
      } finally {
        await store.drop?.();
      }
    });

    it('rolls back every statement of a failed transaction', async () => {
      const store = await open();
      try {
        const { ds, cols } = await seed(store, 10);
        await assert.rejects(
          store.transaction(async (trx) => {
            await resetColumnCells(trx, ds, cols[0]!, at);
            throw new Error('boom');
          }),
        );
        const cells = await cellsInRange(store.db, ds, 0, 10, { metadata: false, columnIds: [cols[0]!] });
        assert.ok(cells.every((c) => c.status === 'done' && c.value !== null));
      } finally {
        await store.drop?.();
      }
    });

    it('adds column cells for every row, marks stale, lists, filters and cascades dataset deletion', async () => {
      const store = await open();
      try {
        const { ws, ds, cols, rows } = await seed(store, 20);
        const extra = newId('column');
        // A column inserted between the two: every row gets an empty cell at its position.
        await store.transaction(async (trx) => {
          await shiftColumns(trx, ds, 1);
          await insertColumns(trx, [{ id: extra, datasetId: ds, name: 'extra', taskType: 'raw', metadata: {}, dependsOn: [], position: 1, createdAt: at, updatedAt: at }]);
          await addColumnCells(trx, ds, extra, 1, at);
        });
        assert.equal((await cellsInRange(store.db, ds, 0, 20, { metadata: false, columnIds: [extra] })).length, 20);
        const stored = JSON.parse((await rowCellsInRange(store.db, ds, 5, 6))[0]!.cells) as { cellId: string; value: unknown; status: string }[];
        assert.deepEqual(stored, [
          { cellId: cellId(rows[5]!.id, cols[0]!), value: { i: 5, s: 'v5' }, status: 'done' },
          { cellId: cellId(rows[5]!.id, extra), value: null, status: 'empty' },
          { cellId: cellId(rows[5]!.id, cols[1]!), value: null, status: 'empty' },
        ], 'stored in column order, the new column at its position');
        await writeCellValue(store.db, ds, rows[0]!.id, cols[1]!, 'x', null, at);
        await markStale(store.db, ds, [cols[1]!], rows[0]!.id, at);
        assert.equal((await findCell(store.db, ds, rows[0]!.id, cols[1]!))!.status, 'stale');
        await writeCellValue(store.db, ds, rows[1]!.id, cols[0]!, { datasourceId: 'dsrc_x' }, 'dsrc_x', at);
        assert.deepEqual((await linkedDatasources(store.db, [ds])).get(ds), ['dsrc_x']);
        assert.deepEqual((await listColumns(store.db, ds)).map((c) => c.name), ['c0', 'extra', 'c1']);
        // Deleting the first column takes its cells, and their metadata rows, out of every row.
        await store.transaction(async (trx) => {
          await removeColumnCells(trx, ds, cols[0]!, at);
          await deleteColumn(trx, ds, cols[0]!, 0);
        });
        assert.deepEqual((JSON.parse((await rowCellsInRange(store.db, ds, 5, 6))[0]!.cells) as { cellId: string }[]).map((c) => c.cellId), [cellId(rows[5]!.id, extra), cellId(rows[5]!.id, cols[1]!)]);
        assert.equal((await linkedDatasources(store.db, [ds])).get(ds), undefined, 'the link went with its column');
        assert.equal((await findCell(store.db, ds, rows[0]!.id, cols[1]!))!.status, 'stale');
        await setDatasetTaskState(store.db, ds, { status: 'processing', activeTaskId: 'task_x', updatedAt: at });
        assert.equal((await listDatasets(store.db, ws, { status: 'processing', offset: 0, limit: 10 })).total, 1);
        assert.equal((await findDataset(store.db, ws, ds))!.activeTaskId, 'task_x');
        assert.equal(await findDataset(store.db, 'ws_other', ds), undefined, 'another workspace sees nothing');
        await store.transaction((trx) => deleteDataset(trx, ds));
        assert.equal((await cellsInRange(store.db, ds, 0, 20, { metadata: false })).length, 0);
        assert.equal((await listColumns(store.db, ds)).length, 0);
      } finally {
        await store.drop?.();
      }
    });

    it('claims an idempotency key once and keeps one secret per name', async () => {
      const store = await open();
      try {
        const claim = { keyId: 'key_a', idemKey: 'k1', method: 'POST', path: '/x', requestHash: 'h', createdAt: at };
        assert.equal(await claimIdempotencyKey(store.db, claim), true);
        assert.equal(await claimIdempotencyKey(store.db, claim), false);
        await completeIdempotencyKey(store.db, 'key_a', 'k1', { statusCode: 201, body: '{}', contentType: 'application/json' });
        assert.equal((await findIdempotencyKey(store.db, 'key_a', 'k1'))!.statusCode, 201);
        const [a, b] = await Promise.all([ensureSecret(store.db, 's'), ensureSecret(store.db, 's')]);
        assert.equal(a, b);
      } finally {
        await store.drop?.();
      }
    });
  });
}
