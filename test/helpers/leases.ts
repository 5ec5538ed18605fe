import assert from 'node:assert/strict';
import { newId } from '../../src/ids.ts';
import { insertColumns } from '../../src/store/columns.ts';
import { insertDataset } from '../../src/store/datasets.ts';
import { insertRows } from '../../src/store/rows.ts';
import { emptyCell, encodeRow } from '../../src/store/row-cells.ts';
import type { Store } from '../../src/store/store.ts';
import { claimItems, insertItems, insertTask, type ClaimedItem } from '../../src/store/tasks.ts';
import { insertWorkspace } from '../../src/store/workspaces.ts';

const at = '2026-01-01T00:00:00.000Z';

/**
 * A dataset of `n` rows with one computed column (cells empty), a task over its cells, and every
 * item claimed by `owner` at 2026-01-01T00:00 with a lease until 00:01. Items in row order.
 */
export async function claimedBy(store: Store, owner: string, n: number): Promise<{ ws: string; ds: string; col: string; items: ClaimedItem[] }> {
  const ws = newId('workspace');
  const ds = newId('dataset');
  const col = newId('column');
  const task = newId('task');
  await insertWorkspace(store.db, { id: ws, name: 'w', createdAt: at });
  await insertDataset(store.db, { id: ds, workspaceId: ws, name: 'd', description: null, type: 'analysis', status: 'completed', activeTaskId: null, sourceDatasourceId: null, rowCount: n, createdAt: at, updatedAt: at });
  await insertColumns(store.db, [{ id: col, datasetId: ds, name: 'Out', taskType: 'ai_enrich', metadata: { prompt: 'x' }, dependsOn: [], position: 0, createdAt: at, updatedAt: at }]);
  const rows = Array.from({ length: n }, (_, i) => {
    const id = newId('row');
    return { id, datasetId: ds, position: i, createdAt: at, cells: encodeRow([emptyCell(id, col)]) };
  });
  await insertRows(store.db, rows);
  await insertTask(store.db, { id: task, workspaceId: ws, datasetId: ds, type: 'bulk', status: 'processing', params: {}, createdAt: at });
  assert.equal(await insertItems(store.db, { taskId: task, datasetId: ds, stages: new Map([[col, 0]]), onlyEmpty: false, at }), n);
  const claimed = await claimItems(store.db, { owner, limit: n, leaseUntil: '2026-01-01T00:01:00.000Z', now: at });
  assert.equal(claimed.length, n);
  const byRow = new Map(claimed.map((c) => [c.rowId, c]));
  return { ws, ds, col, items: rows.map((r) => byRow.get(r.id)!) };
}
