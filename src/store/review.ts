import { sql } from 'kysely';
import { cellId } from '../ids.ts';
import { cellMetaOf, chunk, columnOfCell, decodeRow, encodeRow, inTransaction, lockRowCells, putMetadataOnly, writeRowCells, type CellStatus } from './row-cells.ts';
import type { Db } from './store.ts';

/**
 * A person's verdict on a computed cell, kept as `metadata.review` (issue 19). Written only through
 * putMetadataOnly, like every other metadata change, so whatever the cell_meta write functions
 * derive from the metadata stays in step.
 */
export type Review = { decision: 'approved' | 'rejected'; note: string | null; keyId: string; at: string };
export type ReviewDecision = Review['decision'];
export type CellRef = { rowId: string; columnId: string };
/** Why a cell cannot be reviewed: it is not in the dataset, or has no value to judge. */
export type ReviewRefusal = { cell: CellRef; reason: 'not_found' | 'no_value' };

/**
 * Reviews cells, in the caller's transaction (or a new one): each cell's metadata gets `review`
 * and `needsReview: false` (the verdict answers the question the flag asked). A rejected cell also
 * becomes `stale`, and so do the done cells of `dependents(columnId)` in its row (the columns that
 * read it, as after an edit); its value stays until a run replaces it. Cells in `strict` mode must
 * all be reviewable (the refusals come back and nothing is written); otherwise the unreviewable
 * ones are skipped. Returns the cells reviewed, with their status after the review.
 */
export async function reviewCells(
  db: Db,
  cells: readonly CellRef[],
  review: Review,
  options: { strict: boolean; dependents: (columnId: string) => readonly string[] },
): Promise<{ reviewed: (CellRef & { cellId: string; status: CellStatus; value: unknown })[]; refused: ReviewRefusal[] }> {
  return inTransaction(db, async (trx) => {
    const reviewed: (CellRef & { cellId: string; status: CellStatus; value: unknown })[] = [];
    const refused: ReviewRefusal[] = [];
    for (const part of chunk(cells, 2000)) {
      const docs = await lockRowCells(trx, part.map((c) => c.rowId));
      const wanted = new Map<string, Set<string>>();
      for (const c of part) (wanted.get(c.rowId) ?? wanted.set(c.rowId, new Set()).get(c.rowId)!).add(c.columnId);
      const changed: { id: string; cells: string }[] = [];
      const picked: CellRef[] = [];
      for (const [rowId, columns] of wanted) {
        const text = docs.get(rowId);
        if (text === undefined) {
          for (const columnId of columns) refused.push({ cell: { rowId, columnId }, reason: 'not_found' });
          continue;
        }
        const stored = decodeRow(text);
        const byId = new Map(stored.map((c) => [c.cellId, c]));
        const stale = new Set<string>();
        let rowChanged = false;
        for (const columnId of columns) {
          const c = byId.get(cellId(rowId, columnId));
          if (!c) refused.push({ cell: { rowId, columnId }, reason: 'not_found' });
          else if (c.value === null || c.value === undefined) refused.push({ cell: { rowId, columnId }, reason: 'no_value' });
          else {
            picked.push({ rowId, columnId });
            if (review.decision === 'rejected') {
              if (c.status !== 'stale') rowChanged = true;
              c.status = 'stale';
              for (const d of options.dependents(columnId)) stale.add(d);
            }
            reviewed.push({ rowId, columnId, cellId: c.cellId, status: c.status, value: c.value });
          }
        }
        for (const c of stored) {
          if (c.status === 'done' && stale.has(columnOfCell(c.cellId))) {
            c.status = 'stale';
            rowChanged = true;
          }
        }
        if (rowChanged) changed.push({ id: rowId, cells: encodeRow(stored) });
      }
      if (options.strict && refused.length) return { reviewed: [], refused };
      const metas = await cellMetaOf(trx, picked.map((c) => c.rowId), [...new Set(picked.map((c) => c.columnId))]);
      await putMetadataOnly(
        trx,
        picked.map((c) => {
          const meta = JSON.parse(metas.get(`${c.rowId}/${c.columnId}`)?.metadata ?? '{}') as Record<string, unknown>;
          return { rowId: c.rowId, columnId: c.columnId, metadata: JSON.stringify({ ...meta, needsReview: false, review }) };
        }),
      );
      await writeRowCells(trx, changed, review.at);
    }
    return { reviewed, refused };
  });
}

/** The rows of a dataset in position order, 2,000 at a time: a selection over every row. */
export async function* datasetRowIds(db: Db, datasetId: string): AsyncGenerator<string[]> {
  let after = -1;
  for (;;) {
    const rows = await db.selectFrom('dataset_rows').select(['id', 'position']).where('dataset_id', '=', datasetId).where('position', '>', after).orderBy('position').limit(2000).execute();
    if (!rows.length) return;
    after = Number(rows[rows.length - 1]!.position);
    yield rows.map((r) => r.id);
  }
}

/** A rejection waiting for the cell's next run: the stored review, and (after a failed re-run emptied the cell) the value rejected. */
export type PendingRejection = { review: Review; rejectedValue?: unknown };

/**
 * The reviewer's verdicts on cells about to run again: the rejected ones (the engine sends the note
 * and the rejected value to the model). One query per claim.
 */
export async function rejectedReviews(db: Db, cells: readonly CellRef[]): Promise<Map<string, PendingRejection>> {
  const out = new Map<string, PendingRejection>();
  if (!cells.length) return out;
  const columns = [...new Set(cells.map((c) => c.columnId))];
  for (const part of chunk([...new Set(cells.map((c) => c.rowId))], 1000)) {
    // review_decision is derived from the metadata where cell_meta is written (row-cells.ts).
    const rows = await db.selectFrom('cell_meta').select(['row_id', 'column_id', 'metadata']).where('row_id', 'in', part).where('column_id', 'in', columns).where('review_decision', '=', 'rejected').execute();
    for (const r of rows) {
      const meta = JSON.parse(r.metadata) as { review?: Review; rejectedValue?: unknown };
      if (meta.review?.decision === 'rejected') out.set(cellId(r.row_id, r.column_id), { review: meta.review, ...('rejectedValue' in meta ? { rejectedValue: meta.rejectedValue } : {}) });
    }
  }
  return out;
}

export type ReviewCounts = { needsReview: number; approved: number; rejected: number };

/**
 * Review counts of datasets: cells that need review (flagged and not approved), approved,
 * rejected. Reads cell_meta's columns derived from the metadata (needs_review, review_decision,
 * kept by the cell_meta write functions), through their partial indexes: the cost follows the
 * cells flagged or reviewed, not the dataset's size.
 */
export async function reviewCounts(db: Db, datasetIds: readonly string[]): Promise<Map<string, ReviewCounts>> {
  const out = new Map<string, ReviewCounts>(datasetIds.map((id) => [id, { needsReview: 0, approved: 0, rejected: 0 }]));
  if (!datasetIds.length) return out;
  const rows = await sql<{ dataset_id: string; kind: string; n: number | string }>`
    SELECT r.dataset_id, 'needs' AS kind, count(*) AS n FROM cell_meta m JOIN dataset_rows r ON r.id = m.row_id
    WHERE m.needs_review = 1 AND r.dataset_id IN (${sql.join(datasetIds)}) GROUP BY r.dataset_id
    UNION ALL
    SELECT r.dataset_id, m.review_decision AS kind, count(*) AS n FROM cell_meta m JOIN dataset_rows r ON r.id = m.row_id
    WHERE m.review_decision IS NOT NULL AND r.dataset_id IN (${sql.join(datasetIds)}) GROUP BY r.dataset_id, m.review_decision`.execute(db);
  for (const r of rows.rows) {
    const c = out.get(r.dataset_id)!;
    if (r.kind === 'needs') c.needsReview = Number(r.n);
    else if (r.kind === 'approved') c.approved = Number(r.n);
    else if (r.kind === 'rejected') c.rejected = Number(r.n);
  }
  return out;
}
