import { ApiError, InvalidParametersError, NotFoundError } from '../../http/errors.ts';
import { parseCellId, cellId as makeCellId } from '../../ids.ts';
import { transitiveDependents, withRowDependencies } from '../../engine/dependencies.ts';
import * as columnsDb from '../../store/columns.ts';
import { recordDatasetLinks } from '../../store/documents.ts';
import { markStale, writeCellValue } from '../../store/rows.ts';
import { now, type Db } from '../../store/store.ts';
import type { DatasetAccess } from '../datasets/dataset-access.ts';
import type { DatasourceService } from '../datasources/datasources.service.ts';
import type { DatasourceLink } from '../datasets/grid.ts';
import type { Auth } from '../keys/keys.service.ts';
import { dataTypeOf, valueForColumn } from '../columns/data-type.ts';

export function createCellService({ access, datasources }: { access: DatasetAccess; datasources: DatasourceService }) {
  /** Writes a value as a user edit and marks every cell that reads it, in its row, stale. */
  async function write(auth: Auth, datasetId: string, cellId: string, value: unknown, options: { rawOnly: boolean; datasourceId?: string }) {
    return access.mutate(auth, datasetId, async (trx: Db) => {
      const ids = parseCellId(cellId);
      if (!ids) throw new NotFoundError('cell', cellId);
      const columns = await columnsDb.listColumns(trx, datasetId);
      const column = columns.find((c) => c.id === ids.columnId);
      if (!column) throw new NotFoundError('cell', cellId);
      if (options.rawOnly && column.taskType !== 'raw') throw new ApiError('RAW_COLUMN_REQUIRED', `Column "${column.name}" is a ${column.taskType} column; datasources link to raw columns only`, { columnId: column.id, taskType: column.taskType });
      // A user's value takes the column's type; a datasource link is an object in any raw column.
      if (!options.datasourceId) {
        const typed = valueForColumn(column, value);
        if (!typed) throw new InvalidParametersError([{ path: 'value', message: `column "${column.name}" holds ${dataTypeOf(column)} values; ${JSON.stringify(value).slice(0, 100)} is not one` }], { dataType: dataTypeOf(column) });
        value = typed.value;
      }
      const at = now();
      // One read-modify-write of the row, which also tells whether the cell exists in this dataset.
      if (!(await writeCellValue(trx, datasetId, ids.rowId, ids.columnId, value, options.datasourceId ?? null, at))) throw new NotFoundError('cell', cellId);
      if (options.datasourceId) await recordDatasetLinks(trx, datasetId, [options.datasourceId], at);
      const dependents = transitiveDependents(withRowDependencies(columns).map((c) => ({ columnId: c.id, name: c.name, metadata: c.metadata, dependsOn: c.dependsOn })), [ids.columnId]);
      await markStale(trx, datasetId, dependents, ids.rowId, at);
      return { cellId: makeCellId(ids.rowId, ids.columnId), rowId: ids.rowId, columnId: ids.columnId, value, status: value === null ? ('empty' as const) : ('done' as const), metadata: {} };
    });
  }

  async function link(auth: Auth, datasetId: string, cellId: string, datasourceId: string) {
    const dataset = await access.get(auth, datasetId);
    if (dataset.type !== 'extraction') throw new InvalidParametersError([{ path: 'datasetId', message: `datasources link to cells of extraction datasets; ${datasetId} is ${dataset.type}` }]);
    const d = await datasources.get(auth, datasourceId);
    const value: DatasourceLink = { datasourceId: d.id, fileName: d.fileName, contentType: d.contentType };
    return write(auth, datasetId, cellId, value, { rawOnly: true, datasourceId: d.id });
  }

  return {
    update: (auth: Auth, datasetId: string, cellId: string, value: unknown) => write(auth, datasetId, cellId, value, { rawOnly: false }),
    link,

    /** Uploads a file as a datasource, then links it; the upload is removed if the link fails. */
    async upload(auth: Auth, datasetId: string, cellId: string, request: Request) {
      await access.get(auth, datasetId);
      const { files } = await datasources.ingestMultipart(auth, request, ['file'], 1);
      const uploaded = files[0]?.result;
      if (!uploaded) throw new ApiError('INVALID_PARAMETERS', 'send the file as multipart field "file"', { issues: [{ path: 'file', message: 'required' }] });
      try {
        return await link(auth, datasetId, cellId, uploaded.id);
      } catch (err) {
        await datasources.remove(auth, uploaded.id).catch(() => {});
        throw err;
      }
    },
  };
}
export type CellService = ReturnType<typeof createCellService>;
