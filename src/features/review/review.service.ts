import type { EventBus } from '../../events.ts';
import { InvalidParametersError, NotFoundError } from '../../http/errors.ts';
import { parseCellId } from '../../ids.ts';
import { transitiveDependents, withRowDependencies } from '../../engine/dependencies.ts';
import { listColumns, type ColumnRecord } from '../../store/columns.ts';
import { datasetRowIds, reviewCells, reviewCounts, type CellRef, type Review } from '../../store/review.ts';
import { findCell, findRows } from '../../store/rows.ts';
import { now, type Db, type Store } from '../../store/store.ts';
import type { DatasetAccess } from '../datasets/dataset-access.ts';
import type { Auth } from '../keys/keys.service.ts';
import type { ReviewCellInput, ReviewCellsInput } from './review.schema.ts';

type Reviewed = Awaited<ReturnType<typeof reviewCells>>['reviewed'];

/**
 * The review queue's verdicts (issue 19). A computed cell with a value can be approved or rejected:
 * `metadata.review = {decision, note, keyId, at}` and needsReview false; a rejected cell turns stale
 * (its dependents in the row too) and its next run sends the note to the model (engine.ts). Writes
 * take the dataset lock like any other change; the cells reviewed go out as live `cell` events.
 */
export function createReviewService({ store, access, live }: { store: Store; access: DatasetAccess; live: EventBus }) {
  function dependentsOf(columns: readonly ColumnRecord[]) {
    const nodes = withRowDependencies(columns).map((c) => ({ columnId: c.id, name: c.name, metadata: c.metadata, dependsOn: c.dependsOn }));
    const memo = new Map<string, string[]>();
    return (columnId: string) => memo.get(columnId) ?? memo.set(columnId, transitiveDependents(nodes, [columnId])).get(columnId)!;
  }

  function computedOnly(columns: readonly ColumnRecord[], ids: readonly string[], path: string) {
    const raw = ids.map((id) => columns.find((c) => c.id === id)!).filter((c) => c.taskType === 'raw');
    if (raw.length) throw new InvalidParametersError(raw.map((c) => ({ path, message: `column "${c.name}" (${c.id}) is a raw column: only computed cells can be reviewed` })));
  }

  function publish(auth: Auth, datasetId: string, cells: Reviewed, decision: Review['decision']) {
    for (const c of cells) live.emit({ type: 'cell', workspaceId: auth.workspaceId, data: { datasetId, cellId: c.cellId, rowId: c.rowId, columnId: c.columnId, status: c.status, value: c.value, review: decision } });
  }

  const verdict = (auth: Auth, input: { decision: Review['decision']; note?: string | undefined }): Review => ({ decision: input.decision, note: input.note ? input.note : null, keyId: auth.keyId, at: now() });

  return {
    counts: (db: Db, datasetIds: readonly string[]) => reviewCounts(db, datasetIds),

    /** POST /datasets/{id}/cells/{cellId}/review. */
    async reviewCell(auth: Auth, datasetId: string, id: string, input: ReviewCellInput) {
      const review = verdict(auth, input);
      const reviewed = await access.mutate(auth, datasetId, async (trx) => {
        const ref = parseCellId(id);
        if (!ref) throw new NotFoundError('cell', id);
        const columns = await listColumns(trx, datasetId);
        if (!columns.some((c) => c.id === ref.columnId)) throw new NotFoundError('cell', id);
        computedOnly(columns, [ref.columnId], 'cellId');
        const rows = await findRows(trx, datasetId, [ref.rowId]);
        if (!rows.length) throw new NotFoundError('cell', id);
        const out = await reviewCells(trx, [ref], review, { strict: true, dependents: dependentsOf(columns) });
        if (out.refused.some((r) => r.reason === 'not_found')) throw new NotFoundError('cell', id);
        if (out.refused.length) throw new InvalidParametersError([{ path: 'cellId', message: `cell ${id} has no value: only a cell with a computed value can be reviewed` }], { cellId: id });
        return out.reviewed;
      });
      publish(auth, datasetId, reviewed, review.decision);
      const cell = (await findCell(store.db, datasetId, reviewed[0]!.rowId, reviewed[0]!.columnId))!;
      return { cellId: id, rowId: cell.rowId, columnId: cell.columnId, value: cell.value, status: cell.status as 'done' | 'stale' | 'error', metadata: cell.metadata };
    },

    /**
     * POST /datasets/{id}/review: exact cells (each must be reviewable, or nothing is written), or
     * rows and/or columns (their computed cells that have a value; the others are skipped), in one
     * transaction.
     */
    async reviewSelection(auth: Auth, datasetId: string, input: ReviewCellsInput) {
      if (input.cellIds && (input.rowIds || input.columnIds)) throw new InvalidParametersError([{ path: 'cellIds', message: 'give either cellIds or rowIds/columnIds, not both' }]);
      if (!input.cellIds && !input.rowIds && !input.columnIds) throw new InvalidParametersError([{ path: '', message: 'give the cells to review: cellIds, or rowIds and/or columnIds' }]);
      const review = verdict(auth, input);
      const result = await access.mutate(auth, datasetId, async (trx) => {
        const columns = await listColumns(trx, datasetId);
        const dependents = dependentsOf(columns);
        if (input.cellIds) {
          const refs: CellRef[] = [];
          const unknown: string[] = [];
          for (const id of new Set(input.cellIds)) {
            const ref = parseCellId(id);
            if (ref && columns.some((c) => c.id === ref.columnId)) refs.push(ref);
            else unknown.push(id);
          }
          if (unknown.length) throw new NotFoundError('cell', unknown);
          computedOnly(columns, [...new Set(refs.map((r) => r.columnId))], 'cellIds');
          const found = new Set((await findRows(trx, datasetId, [...new Set(refs.map((r) => r.rowId))])).map((r) => r.id));
          const missing = input.cellIds.filter((id) => !found.has(parseCellId(id)!.rowId));
          if (missing.length) throw new NotFoundError('cell', [...new Set(missing)]);
          const out = await reviewCells(trx, refs, review, { strict: true, dependents });
          if (out.refused.length) throw new InvalidParametersError(out.refused.map((r) => ({ path: 'cellIds', message: `cell ${r.cell.rowId}/${r.cell.columnId} ${r.reason === 'no_value' ? 'has no value' : 'does not exist'}: only a cell with a computed value can be reviewed` })));
          return { reviewed: out.reviewed, skipped: 0 };
        }
        let targetColumns = columns.filter((c) => c.taskType !== 'raw').map((c) => c.id);
        if (input.columnIds) {
          const missing = input.columnIds.filter((id) => !columns.some((c) => c.id === id));
          if (missing.length) throw new NotFoundError('column', missing);
          computedOnly(columns, input.columnIds, 'columnIds');
          targetColumns = [...new Set(input.columnIds)];
        }
        const reviewed: Reviewed = [];
        let skipped = 0;
        const pass = async (rowIds: readonly string[]) => {
          const out = await reviewCells(trx, rowIds.flatMap((rowId) => targetColumns.map((columnId) => ({ rowId, columnId }))), review, { strict: false, dependents });
          reviewed.push(...out.reviewed);
          skipped += out.refused.length;
        };
        if (input.rowIds) {
          const unique = [...new Set(input.rowIds)];
          const found = new Set((await findRows(trx, datasetId, unique)).map((r) => r.id));
          const missing = unique.filter((id) => !found.has(id));
          if (missing.length) throw new NotFoundError('row', missing);
          await pass(unique);
        } else for await (const rowIds of datasetRowIds(trx, datasetId)) await pass(rowIds);
        return { reviewed, skipped };
      });
      publish(auth, datasetId, result.reviewed, review.decision);
      const counts = (await reviewCounts(store.db, [datasetId])).get(datasetId)!;
      return { datasetId, decision: review.decision, reviewed: result.reviewed.length, skipped: result.skipped, review: counts };
    },
  };
}
export type ReviewService = ReturnType<typeof createReviewService>;
