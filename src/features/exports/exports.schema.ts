import { z } from '@hono/zod-openapi';
import { ViewQ, ViewSort } from '../views/query.schema.ts';

export const MAX_EXPORT_ROWS = 100_000;
export const MAX_EXPIRES_IN = 86_400;

export const ExportFormat = z.enum(['csv', 'json', 'xlsx']);

export const ExportInput = z
  .strictObject({
    format: ExportFormat,
    rowCount: z.number().int().min(1).max(MAX_EXPORT_ROWS).openapi({ description: 'rows to export, 1 to 100000', example: 1000 }),
    columnIds: z.array(z.string().min(1)).min(1).max(1000).optional().openapi({ description: 'columns to include, in this order; all columns when omitted' }),
    skip: z.number().int().min(0).default(0).openapi({ description: 'rows to skip first; beyond the end gives an empty file' }),
    // Checked by the service against the dataset's columns (features/views), with messages naming each bad path.
    filter: z.unknown().optional().openapi({ $ref: '#/components/schemas/ViewFilter', description: 'only the rows matching this filter (as on /data, as JSON here); skip and rowCount count matching rows' } as never),
    sort: ViewSort.optional(),
    q: ViewQ.optional(),
    viewId: z.string().min(1).max(200).optional().openapi({ description: "a saved view of the dataset: its filter, sort, q and columns (as columnIds) apply; a field given as well replaces the view's part. A view naming a deleted column answers VIEW_OUTDATED" }),
    includeMetadata: z.boolean().default(false),
    expiresIn: z.number().int().min(1).max(MAX_EXPIRES_IN).default(3600).openapi({ description: 'seconds the download link stays valid, 1 to 86400' }),
  })
  .openapi('ExportInput');
export type ExportInput = z.infer<typeof ExportInput>;

export const ExportResult = z
  .object({
    exportId: z.string().openapi({ example: 'exp_0a1b2c3d4e5f6g' }),
    format: ExportFormat,
    rowCount: z.number().int().openapi({ description: 'rows actually written' }),
    fileName: z.string(),
    sizeBytes: z.number().int(),
    downloadUrl: z.string().openapi({ description: 'signed; needs no API key' }),
    expiresAt: z.string(),
  })
  .openapi('Export');
export type ExportResult = z.infer<typeof ExportResult>;

/** How includeMetadata lays out each format; shown in the OpenAPI description and the README. */
export const METADATA_LAYOUT =
  'With includeMetadata, CSV and XLSX add three columns after each column: "<name> (status)", "<name> (confidence)" and "<name> (sources)" (sources as JSON text). ' +
  'JSON keeps plain values under the column names (a column named rowId or _cells is keyed "<name> (<columnId>)") and adds "_cells": {"<name>": {"status", "metadata"}} to each row. ' +
  'CSV is UTF-8 with a BOM and CRLF line ends; strings starting with =, +, -, @, tab or CR are prefixed with \' (numbers and numeric text are left alone). ' +
  'XLSX cells are typed (numbers, booleans, text; objects as JSON text) and the header row is frozen.';
