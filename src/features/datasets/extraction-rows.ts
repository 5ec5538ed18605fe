import * as columnsDb from '../../store/columns.ts';
import * as datasetsDb from '../../store/datasets.ts';
import type { DatasetRecord } from '../../store/datasets.ts';
import { linkedDatasourcesWithoutRow } from '../../store/documents.ts';
import { now, type Db } from '../../store/store.ts';
import { appendRows, type DatasourceLink } from './grid.ts';

/**
 * `new-rows` on an extraction dataset: adds one row per datasource linked into the dataset (by
 * upload `files[]`, link-datasource or upload-datasource) that no row of it links any more, at most
 * `rowCount`, oldest link first. Each new row's document column (the raw column named `document`,
 * else the first raw column) links the datasource; its other cells are empty, ready for the task
 * that follows to compute. Run it inside the caller's transaction on the locked dataset; it returns
 * the new row ids (empty when every linked datasource already has its row).
 */
export async function addRowsForLinkedDatasources(db: Db, dataset: DatasetRecord, rowCount: number, at = now()): Promise<{ rowIds: string[]; datasourceIds: string[] }> {
  if (dataset.type !== 'extraction') return { rowIds: [], datasourceIds: [] };
  const columns = await columnsDb.listColumns(db, dataset.id);
  const target = columns.find((c) => c.taskType === 'raw' && c.name === 'document') ?? columns.find((c) => c.taskType === 'raw');
  if (!target) return { rowIds: [], datasourceIds: [] };
  const missing = await linkedDatasourcesWithoutRow(db, dataset.id, rowCount);
  if (!missing.length) return { rowIds: [], datasourceIds: [] };
  const links = missing.map((d): [DatasourceLink] => [{ datasourceId: d.id, fileName: d.fileName, contentType: d.contentType }]);
  const current = await datasetsDb.findDataset(db, dataset.workspaceId, dataset.id);
  const rowIds = await appendRows(db, dataset.id, columns, [target], links, current?.rowCount ?? dataset.rowCount, at);
  await datasetsDb.updateDataset(db, dataset.id, { rowCountDelta: rowIds.length, updatedAt: at });
  return { rowIds, datasourceIds: missing.map((d) => d.id) };
}
