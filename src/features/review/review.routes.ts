import { createRoute, z } from '@hono/zod-openapi';
import { ERROR_RESPONSES, json, jsonBody } from '../../http/common.schema.ts';
import type { App } from '../../http/env.ts';
import type { ReviewService } from './review.service.ts';
import { ReviewCellInput, ReviewCellsInput, ReviewCellsResult, ReviewedCell } from './review.schema.ts';

const tags = ['Review'];

export function registerReviewRoutes(app: App, review: ReviewService) {
  app.openapi(
    createRoute({
      operationId: 'reviewCell',
      method: 'post',
      path: '/api/v2/datasets/{datasetId}/cells/{cellId}/review',
      tags,
      summary: 'Approve or reject a computed cell',
      description:
        'Writes `metadata.review` `{decision, note, keyId, at}` and sets `needsReview` false. A rejected cell becomes `stale` (the done cells that read it in its row too); when it runs again, the note and the rejected value go to the model as the reviewer\'s feedback. Only a computed cell with a value can be reviewed: a raw column\'s cell or a cell without a value is INVALID_PARAMETERS. Editing the value, or a new answer from a run, clears the review. PROCESSING_IN_PROGRESS while a task runs.',
      request: { params: z.object({ datasetId: z.string(), cellId: z.string() }), body: jsonBody(ReviewCellInput) },
      responses: { 200: json(ReviewedCell, 'The cell, with its metadata'), ...ERROR_RESPONSES },
    }),
    async (c) => {
      const { datasetId, cellId } = c.req.valid('param');
      return c.json(await review.reviewCell(c.get('auth'), datasetId, cellId, c.req.valid('json')), 200);
    },
  );
  app.openapi(
    createRoute({
      operationId: 'reviewCells',
      method: 'post',
      path: '/api/v2/datasets/{datasetId}/review',
      tags,
      summary: 'Approve or reject the cells of a selection at once',
      description:
        'Targets like a bulk task: `cellIds` (each must be a computed cell with a value, or nothing is written), or `rowIds` and/or `columnIds` (the computed cells of those rows and columns that have a value; the others count as `skipped`). A raw column in `columnIds` is INVALID_PARAMETERS; a selection is required. One transaction.',
      request: { params: z.object({ datasetId: z.string() }), body: jsonBody(ReviewCellsInput) },
      responses: { 200: json(ReviewCellsResult, 'What was reviewed, and the dataset\'s review counts after'), ...ERROR_RESPONSES },
    }),
    async (c) => c.json(await review.reviewSelection(c.get('auth'), c.req.valid('param').datasetId, c.req.valid('json')), 200),
  );
}
