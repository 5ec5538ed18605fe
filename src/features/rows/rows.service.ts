import { InvalidParametersError, NotFoundError, type Issue } from '../../http/errors.ts';
import { dataTypeOf, valueForColumn } from '../columns/data-type.ts';
import * as columnsDb from '../../store/columns.ts';
import * as datasetsDb from '../../store/datasets.ts';
import { deleteRows, findRows } from '../../store/rows.ts';
import { now } from '../../store/store.ts';
import type { DatasetAccess } from '../datasets/dataset-access.ts';
import { appendStoredRows, gridJson } from '../datasets/grid.ts';
import type { Auth } from '../keys/keys.service.ts';

export function createRowService({ access }: { access: DatasetAccess }) {
  return {
    /** Appends rows keyed by column name or id; answers with the new rows in the /data shape, as JSON text. */
    async add(auth: Auth, datasetId: string, rows: readonly Record<string, unknown>[]) {
      return access.mutate(auth, datasetId, async (trx, dataset) => {
        const columns = await columnsDb.listColumns(trx, datasetId);
        const keyToColumn = new Map<string, (typeof columns)[number]>();
        for (const c of columns) keyToColumn.set(c.name, c);
        for (const c of columns) keyToColumn.set(c.id, c);
        const unknown = [...new Set(rows.flatMap((r) => Object.keys(r)).filter((k) => !keyToColumn.has(k)))];
        if (unknown.length) throw new NotFoundError('column', unknown);
        // Each value takes its column's type ("42" into a number column is 42); any that does not
        // convert refuses the request, naming the first few.
        const refused: Issue[] = [];
        const values = rows.map((r, i) => {
          const out: unknown[] = columns.map(() => null);
          for (const [k, v] of Object.entries(r)) {
            const column = keyToColumn.get(k)!;
            const typed = valueForColumn(column, v ?? null);
            if (!typed) {
              if (refused.length < 10) refused.push({ path: `rows.${i}.${k}`, message: `column "${column.name}" holds ${dataTypeOf(column)} values; ${JSON.stringify(v).slice(0, 100)} is not one` });
              continue;
            }
            out[columns.indexOf(column)] = typed.value;
          }
          return out;
        });
        if (refused.length) throw new InvalidParametersError(refused);
        const at = now();
        const added = await appendStoredRows(trx, datasetId, columns, columns, values, dataset.rowCount, at);
        await datasetsDb.updateDataset(trx, datasetId, { rowCountDelta: rows.length, updatedAt: at });
        // The answer is the new rows as stored: their text goes out as is, as on GET /data.
        return gridJson(datasetId, columns, added.map((r) => r.id), { stored: added.map((r) => r.cells) }, false, { rowCount: dataset.rowCount + rows.length });
      });
    },

    /** Deletes rows and their cells and renumbers the rest, in one transaction. */
    async remove(auth: Auth, datasetId: string, rowIds: readonly string[]) {
      const unique = [...new Set(rowIds)];
      return access.mutate(auth, datasetId, async (trx, dataset) => {
        const found = await findRows(trx, datasetId, unique);
        if (found.length !== unique.length) {
          const known = new Set(found.map((r) => r.id));
          throw new NotFoundError('row', unique.filter((id) => !known.has(id)));
        }
        if (!found.length) throw new InvalidParametersError([{ path: 'rowIds', message: 'must not be empty' }]);
        const at = now();
        await deleteRows(trx, datasetId, unique, Math.min(...found.map((r) => r.position)));
        await datasetsDb.updateDataset(trx, datasetId, { rowCountDelta: -unique.length, updatedAt: at });
        return { datasetId, deletedRowIds: unique, rowCount: dataset.rowCount - unique.length };
      });
    },
  };
}
export type RowService = ReturnType<typeof createRowService>;
