/**
 * The error contract of the API: every code the SPEC names, bound to its HTTP status.
 * A code cannot exist without a status; services throw these, one handler renders them.
 */
export const ERROR_STATUS = {
  UNAUTHORIZED: 401,
  ACCESS_DENIED: 403,
  DATASET_NOT_FOUND: 404,
  COLUMN_NOT_FOUND: 404,
  ROW_NOT_FOUND: 404,
  CELL_NOT_FOUND: 404,
  DATASOURCE_NOT_FOUND: 404,
  TASK_NOT_FOUND: 404,
  WEBHOOK_NOT_FOUND: 404,
  EXPORT_NOT_FOUND: 404,
  KEY_NOT_FOUND: 404,
  VIEW_NOT_FOUND: 404,
  NOT_FOUND: 404,
  INVALID_TASK_TYPE: 400,
  RAW_COLUMN_REQUIRED: 400,
  INVALID_PARAMETERS: 400,
  PROCESSING_IN_PROGRESS: 409,
  /** (cellwise) a saved view names a column that no longer exists: update or delete the view. */
  VIEW_OUTDATED: 409,
  TASK_NOT_CANCELLABLE: 409,
  IDEMPOTENCY_KEY_CONFLICT: 409,
  LINK_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_FILE_TYPE: 415,
  RATE_LIMITED: 429,
  /** The URL and headers together exceed 16 KB (answered before routing). */
  HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  INTERNAL_ERROR: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export type Issue = { path: string; message: string };

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }
}

const NOT_FOUND_CODES = {
  dataset: 'DATASET_NOT_FOUND',
  column: 'COLUMN_NOT_FOUND',
  row: 'ROW_NOT_FOUND',
  cell: 'CELL_NOT_FOUND',
  datasource: 'DATASOURCE_NOT_FOUND',
  task: 'TASK_NOT_FOUND',
  webhook: 'WEBHOOK_NOT_FOUND',
  export: 'EXPORT_NOT_FOUND',
  key: 'KEY_NOT_FOUND',
  view: 'VIEW_NOT_FOUND',
  delivery: 'NOT_FOUND',
} as const satisfies Record<string, ErrorCode>;
export type EntityKind = keyof typeof NOT_FOUND_CODES;

/** Unknown id, or an id of another workspace: both look the same so existence never leaks. */
export class NotFoundError extends ApiError {
  constructor(kind: EntityKind, ids: string | readonly string[]) {
    const list = typeof ids === 'string' ? [ids] : [...ids];
    const label = list.length === 1 ? `${kind} ${list[0]}` : `${kind}s ${list.join(', ')}`;
    super(NOT_FOUND_CODES[kind], `${label.charAt(0).toUpperCase()}${label.slice(1)} not found`, list.length === 1 ? { [`${kind}Id`]: list[0] } : { [`${kind}Ids`]: list });
  }
}

/** Invalid query, body, form field or metadata; `details.issues` lists each problem. */
export class InvalidParametersError extends ApiError {
  constructor(issues: Issue[] | string, extra: Record<string, unknown> = {}) {
    const list = typeof issues === 'string' ? [{ path: '', message: issues }] : issues;
    const message = list.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
    super('INVALID_PARAMETERS', message || 'Invalid parameters', { issues: list, ...extra });
  }
}

export class ProcessingInProgressError extends ApiError {
  constructor(datasetId: string, taskId: string | null) {
    super('PROCESSING_IN_PROGRESS', `Dataset ${datasetId} is being processed; wait for the task to finish or cancel it`, { datasetId, taskId });
  }
}

export class InvalidTaskTypeError extends ApiError {
  constructor(taskType: string, reason: string) {
    super('INVALID_TASK_TYPE', `Task type ${JSON.stringify(taskType)} ${reason}`, { taskType });
  }
}
