import { z } from '@hono/zod-openapi';
import { BooleanQuery, Pagination, pageQuery } from '../../http/common.schema.ts';
import { DataType } from '../columns/data-type.ts';
import { DatasetType, DatasetTypeInput, TaskType } from '../columns/task-types.ts';
import { ReviewCounts } from '../review/review.schema.ts';
import { ViewQueryParams } from '../views/query.schema.ts';

export const Column = z
  .object({ columnId: z.string(), name: z.string(), taskType: TaskType, metadata: z.record(z.string(), z.unknown()), position: z.number().int(), dataType: DataType })
  .openapi('Column');

export const DatasetStatus = z.enum(['processing', 'completed', 'failed']);
export const Dataset = z
  .object({
    datasetId: z.string().openapi({ example: 'ds_0a1b2c3d4e5f6g' }),
    name: z.string(),
    description: z.string().nullable(),
    type: DatasetType,
    status: DatasetStatus,
    rowCount: z.number().int(),
    columnCount: z.number().int(),
    linkedDatasources: z.array(z.string()),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Dataset');
export const DatasetDetail = Dataset.extend({
  columns: z.array(Column),
  activeTaskId: z.string().nullable(),
  review: ReviewCounts.openapi({ description: '(cellwise) the review queue: cells that need review, approved, rejected' }),
}).openapi('DatasetDetail');

export const Cell = z
  .object({
    cellId: z.string(),
    value: z.unknown().openapi({ description: 'any JSON value' }),
    status: z.enum(['empty', 'queued', 'processing', 'done', 'error', 'stale']),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi('Cell');

export const ColumnRef = z.object({
  columnId: z.string(),
  name: z.string(),
  taskType: TaskType,
  metadata: z.record(z.string(), z.unknown()).optional().openapi({ description: 'with includeMetadata=true' }),
  dataType: DataType.optional().openapi({ description: 'with includeMetadata=true' }),
});
/** A row's metadata (includeMetadata=true): created, last changed (any cell), and the datasource it came from. */
export const RowMetadata = z.object({ rowId: z.string(), createdAt: z.string(), updatedAt: z.string(), datasourceId: z.string().nullable() }).openapi('RowMetadata');
export const Grid = z.object({ datasetId: z.string(), columns: z.array(ColumnRef), rowIds: z.array(z.string()), rows: z.array(RowMetadata).optional().openapi({ description: 'with includeMetadata=true, aligned with rowIds' }), data: z.array(z.array(Cell)) });
/** /data's pagination: `total` counts the rows matching the filter and q; `nextCursor` continues after this page (keyset). */
export const DataPagination = Pagination.extend({
  nextCursor: z.string().nullable().openapi({ description: 'pass as `cursor` for the next page; null on the last page. Keyset paging: stable while rows are written' }),
}).openapi('DataPagination');
export const DatasetData = Grid.extend({ pagination: DataPagination }).openapi('DatasetData');

export const ListDatasetsQuery = z.object({ ...pageQuery(20, 100), type: DatasetTypeInput.optional(), status: DatasetStatus.optional() });
export const DatasetDataQuery = z.object({
  ...pageQuery(50, 1000),
  columns: z.string().optional().openapi({ description: 'comma-separated column ids' }),
  includeMetadata: BooleanQuery.default(false),
  ...ViewQueryParams,
  viewId: z.string().min(1).max(200).optional().openapi({ param: { name: 'viewId', in: 'query' }, description: "a saved view of the dataset (GET /datasets/{id}/views): its filter, sort, q and columns apply; a parameter given as well replaces the view's part. A view naming a deleted column answers VIEW_OUTDATED" }),
});

const cellValue = z.unknown();
export const ColumnInput = z.strictObject({
  name: z.string().max(200),
  taskType: z.string().default('raw').openapi({ description: 'one of the TaskType values' }),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export const CreateDatasetInput = z
  .strictObject({
    name: z.string().trim().min(1).max(500),
    type: DatasetTypeInput,
    description: z.string().max(10_000).nullable().optional(),
    datasourceId: z.string().optional(),
    columns: z.array(ColumnInput).max(1000).optional(),
    rows: z.array(z.record(z.string(), cellValue)).max(10_000).optional(),
  })
  .openapi('CreateDatasetInput');
export type CreateDatasetInput = z.infer<typeof CreateDatasetInput>;

export const UpdateDatasetInput = z.strictObject({ name: z.string().trim().min(1).max(500).optional(), description: z.string().max(10_000).nullable().optional() }).openapi('UpdateDatasetInput');
export const DeleteDatasetQuery = z.object({ force: BooleanQuery.default(false) });
export const IdParam = z.object({ datasetId: z.string().openapi({ param: { name: 'datasetId', in: 'path' } }) });
