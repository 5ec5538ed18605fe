import { z } from '@hono/zod-openapi';
import { pageQuery, Pagination } from '../../http/common.schema.ts';
import { ViewQ, ViewSort } from './query.schema.ts';

const name = z.string().trim().min(1).max(200);
/** The filter is checked by the service against the dataset's columns (messages naming the bad path); its component is ViewFilter. */
const filter = z.unknown().openapi({ $ref: '#/components/schemas/ViewFilter', description: 'as `filter` on GET /data (here as JSON, not URL-encoded)' } as never);
const columns = z.array(z.string().min(1)).min(1).max(1000).openapi({ description: 'column ids to show, in this order (GET /data `columns`, export `columnIds`)' });

export const CreateViewInput = z
  .strictObject({ name, filter: filter.optional(), sort: ViewSort.optional(), q: ViewQ.optional(), columns: columns.optional() })
  .openapi('CreateViewInput');
export type CreateViewInput = z.infer<typeof CreateViewInput>;

/** A patch: fields given replace the view's; null takes a part out of the view. */
export const UpdateViewInput = z
  .strictObject({ name: name.optional(), filter: filter.optional(), sort: ViewSort.nullable().optional(), q: ViewQ.nullable().optional(), columns: columns.nullable().optional() })
  .openapi('UpdateViewInput');
export type UpdateViewInput = z.infer<typeof UpdateViewInput>;

export const View = z
  .object({
    viewId: z.string().openapi({ example: 'view_0a1b2c3d4e5f6g' }),
    datasetId: z.string(),
    name: z.string(),
    filter: z.unknown().nullable().openapi({ $ref: '#/components/schemas/ViewFilter' } as never),
    sort: z.string().nullable(),
    q: z.string().nullable(),
    columns: z.array(z.string()).nullable(),
    missingColumns: z.array(z.string()).openapi({ description: 'columns the view names that were deleted since: while any, using the view answers VIEW_OUTDATED' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('View');
export type View = z.infer<typeof View>;

export const ViewParams = z.object({ datasetId: z.string(), viewId: z.string() });
export const ListViewsQuery = z.object(pageQuery(50, 100));
export const ViewList = z.object({ views: z.array(View), pagination: Pagination }).openapi('ViewList');
