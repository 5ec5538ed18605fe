import { z } from '@hono/zod-openapi';
import { InvalidParametersError, InvalidTaskTypeError } from '../../http/errors.ts';
import { zodIssues } from '../../http/validation.ts';

/** The six task types of SPEC section 4; their metadata schemas are the API's first line of defence. */
export const TaskType = z.enum(['raw', 'doc_extraction', 'web_enrich', 'classification', 'ai_enrich', 'places_count']).openapi('TaskType');
export type TaskType = z.infer<typeof TaskType>;

export const DatasetType = z.enum(['extraction', 'analysis', 'classification']).openapi('DatasetType');
export type DatasetType = z.infer<typeof DatasetType>;
/** The one alias table: Claro's older names, accepted wherever a dataset type is input (create, upload, the list filter). */
const DATASET_TYPE_ALIASES = { data_extraction: 'extraction', data_enrichment: 'analysis' } as const satisfies Record<string, DatasetType>;
export const DATASET_TYPE_NAMES = [...DatasetType.options, ...(Object.keys(DATASET_TYPE_ALIASES) as (keyof typeof DATASET_TYPE_ALIASES)[])] as const;
export const DatasetTypeInput = z
  .enum(DATASET_TYPE_NAMES)
  .transform((t): DatasetType => (t in DATASET_TYPE_ALIASES ? DATASET_TYPE_ALIASES[t as keyof typeof DATASET_TYPE_ALIASES] : (t as DatasetType)))
  .openapi({ type: 'string', enum: [...DATASET_TYPE_NAMES] });

const prompt = z.string().trim().min(1).max(20_000);
const model = z.string().regex(/^[a-z0-9_-]+:.+$/, 'must look like provider:model, e.g. openai:gpt-4o-mini');
const columnRef = z.string().min(1).max(200);
const jsonSchema = z
  .record(z.string(), z.unknown())
  .refine((s) => typeof s.type === 'string' || Array.isArray(s.type) || 'properties' in s || 'anyOf' in s || 'oneOf' in s || 'enum' in s, 'must be a JSON Schema object (with type, properties, enum, anyOf or oneOf)');
const tagClause = z
  .record(z.string().trim().min(1).max(64), z.union([z.string().min(1).max(200), z.array(z.string().min(1).max(200)).min(1).max(100), z.literal(true)]))
  .refine((c) => Object.keys(c).length > 0, 'a tag clause needs at least one key');
/** Send the row's other values with the request even when the prompt references columns (SPEC section 4). */
const includeRow = z.boolean().optional();
const common = {
  /** Threshold: computed cells below it get needsReview. */
  confidence: z.number().min(0).max(1).optional(),
  description: z.string().max(2_000).optional(),
};

export const METADATA_SCHEMAS = {
  raw: z.strictObject({ ...common }),
  doc_extraction: z.strictObject({ ...common, extractionPrompt: prompt.optional(), outputSchema: jsonSchema.optional(), model: model.optional(), ocr: z.enum(['auto', 'always', 'never']).optional(), sourceColumnId: columnRef.optional(), includeRow }),
  web_enrich: z.strictObject({ ...common, prompt: prompt.optional(), urlColumnId: columnRef.optional(), query: prompt.optional(), maxPages: z.number().int().min(1).max(10).optional(), model: model.optional(), includeRow }),
  classification: z.strictObject({
    ...common,
    prompt: prompt.optional(),
    categories: z
      .array(z.string().trim().min(1).max(200))
      .min(2)
      .max(200)
      .refine((c) => new Set(c).size === c.length, 'categories must be unique')
      .optional(),
    multiLabel: z.boolean().optional(),
    model: model.optional(),
    includeRow,
  }),
  ai_enrich: z.strictObject({ ...common, prompt, model: model.optional(), outputSchema: jsonSchema.optional(), temperature: z.number().min(0).max(2).optional(), includeRow }),
  places_count: z.strictObject({
    ...common,
    prompt,
    radiusMeters: z.number().gt(0).max(50_000).optional(),
    radiusColumnId: columnRef.optional(),
    /** One clause ({key: value}: every key must match) or an array of clauses (a place matching any counts). */
    tags: z.union([tagClause, z.array(tagClause).min(1).max(20)]).optional(),
    provider: z.enum(['local', 'overpass']).optional(),
    latitudeColumnId: columnRef.optional(),
    longitudeColumnId: columnRef.optional(),
    coordinatesColumnId: columnRef.optional(),
  }),
} as const satisfies Record<TaskType, z.ZodType>;

/** Metadata fields that are templates over the row (`{{Column Name}}` or `{{col_id}}`). */
export const TEMPLATE_FIELDS = ['prompt', 'extractionPrompt', 'query'] as const;
/** Metadata fields that name another column of the same dataset. */
export const COLUMN_REF_FIELDS = ['sourceColumnId', 'urlColumnId', 'radiusColumnId', 'latitudeColumnId', 'longitudeColumnId', 'coordinatesColumnId'] as const;

export type ColumnMetadata = Record<string, unknown>;

export function assertTaskTypeAllowed(taskType: string, datasetType: DatasetType): asserts taskType is TaskType {
  if (!TaskType.safeParse(taskType).success) throw new InvalidTaskTypeError(taskType, `is not supported; use one of ${TaskType.options.join(', ')}`);
  if (taskType === 'doc_extraction' && datasetType !== 'extraction') throw new InvalidTaskTypeError(taskType, `is only allowed in extraction datasets, not ${datasetType}`);
}

/** Validates metadata for a task type; problems are INVALID_PARAMETERS under `metadata.`. */
export function validateMetadata(taskType: TaskType, metadata: unknown, path = 'metadata'): ColumnMetadata {
  const parsed = METADATA_SCHEMAS[taskType].safeParse(metadata ?? {});
  if (!parsed.success) throw new InvalidParametersError(zodIssues(parsed.error, path), { taskType });
  return parsed.data as ColumnMetadata;
}

/** PATCH semantics: keys merge, a key set to null is removed. */
export function mergeMetadata(current: ColumnMetadata, patch: Record<string, unknown>): ColumnMetadata {
  const out: ColumnMetadata = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}
