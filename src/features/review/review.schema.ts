import { z } from '@hono/zod-openapi';

const MAX_IDS = 10_000;
const ids = (what: string) => z.array(z.string().min(1).max(200)).min(1, `${what} must not be empty`).max(MAX_IDS, `at most ${MAX_IDS} ${what}`).optional();

export const ReviewDecision = z.enum(['approved', 'rejected']).openapi('ReviewDecision');
const note = z.string().trim().max(5_000).optional().openapi({ description: "the reviewer's feedback; on a rejected cell it goes to the model when the cell runs again" });

export const ReviewCellInput = z.strictObject({ decision: ReviewDecision, note }).openapi('ReviewCellInput');
export type ReviewCellInput = z.infer<typeof ReviewCellInput>;

/** The bulk form: the cells of a selection, targeted like a bulk task (cellIds, or rowIds and/or columnIds). */
export const ReviewCellsInput = z
  .strictObject({ decision: ReviewDecision, note, cellIds: ids('cellIds'), rowIds: ids('rowIds'), columnIds: ids('columnIds') })
  .openapi('ReviewCellsInput');
export type ReviewCellsInput = z.infer<typeof ReviewCellsInput>;

/** `metadata.review` of a reviewed cell. */
export const Review = z.object({ decision: ReviewDecision, note: z.string().nullable(), keyId: z.string(), at: z.string() }).openapi('Review');

export const ReviewedCell = z
  .object({ cellId: z.string(), rowId: z.string(), columnId: z.string(), value: z.unknown(), status: z.enum(['done', 'stale', 'error']), metadata: z.record(z.string(), z.unknown()) })
  .openapi('ReviewedCell');

export const ReviewCounts = z
  .object({ needsReview: z.number().int().openapi({ description: 'cells flagged needsReview (below their column\'s confidence threshold) and not yet reviewed' }), approved: z.number().int(), rejected: z.number().int() })
  .openapi('ReviewCounts');

export const ReviewCellsResult = z
  .object({ datasetId: z.string(), decision: ReviewDecision, reviewed: z.number().int().openapi({ description: 'cells reviewed' }), skipped: z.number().int().openapi({ description: 'cells of the selection with nothing to review (no value)' }), review: ReviewCounts })
  .openapi('ReviewCellsResult');
