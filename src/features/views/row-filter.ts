import { InvalidParametersError, type Issue } from '../../http/errors.ts';
import type { RowCursor, RowFilter, RowSortKey, Scalar, ValueField } from '../../store/row-query.ts';
import type { DataType } from '../columns/data-type.ts';
import { filterConditions, type CheckedViewQuery, type ColumnCondition, type ViewFilter } from './query.schema.ts';

/**
 * A checked view query turned into what the store runs (store/row-query.ts): each column
 * condition's operand typed by the column's dataType, and which columns need typed values.
 *
 * - number: operands must be numbers (or number text); compared as numbers.
 * - boolean: true/false (or "true"/"false"); false sorts before true.
 * - text and json: compared as text, by code point (ISO dates and times compare in time order);
 *   json values as their JSON text.
 * - mixed: a number operand compares numbers, any other compares text; sorted as text.
 * - contains, starts_with: text, case-insensitive; empty: null or ""; not_empty: the rest.
 */
export type TypedColumn = { id: string; dataType: DataType };

const numericField = (t: DataType) => t === 'number' || t === 'boolean';

function operand(column: TypedColumn, value: unknown, path: string, issues: Issue[]): { field: ValueField; value: Scalar } | undefined {
  const t = column.dataType;
  if (t === 'number') {
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
    if (Number.isFinite(n)) return { field: 'num', value: n };
    issues.push({ path, message: `column ${column.id} holds numbers: give a number` });
    return undefined;
  }
  if (t === 'boolean') {
    if (value === true || value === 'true') return { field: 'num', value: 1 };
    if (value === false || value === 'false') return { field: 'num', value: 0 };
    issues.push({ path, message: `column ${column.id} holds booleans: give true or false` });
    return undefined;
  }
  if (t === 'mixed' && typeof value === 'number') return { field: 'num', value };
  return { field: 'txt', value: String(value) };
}

function columnCondition(c: ColumnCondition, column: TypedColumn, path: string, issues: Issue[]): RowFilter {
  switch (c.op) {
    case 'empty':
    case 'not_empty':
      return { column: c.column, field: 'txt', op: c.op };
    case 'contains':
    case 'starts_with':
      return { column: c.column, field: 'txt', op: c.op, value: String(c.value) };
    case 'in': {
      const list = (c.value as unknown[]).map((v, i) => operand(column, v, `${path}.value.${i}`, issues));
      const fields = new Set(list.map((o) => o?.field));
      // A mixed column's list of numbers and text: one condition per kind, either may hold.
      if (fields.size > 1) {
        const byField = (f: ValueField) => ({ column: c.column, field: f, op: 'in' as const, value: list.filter((o) => o?.field === f).map((o) => o!.value) });
        return { or: [byField('num'), byField('txt')] };
      }
      return { column: c.column, field: list[0]?.field ?? (numericField(column.dataType) ? 'num' : 'txt'), op: 'in', value: list.map((o) => o?.value ?? 0) };
    }
    default: {
      const o = operand(column, c.value, `${path}.value`, issues);
      return { column: c.column, field: o?.field ?? 'txt', op: c.op, value: o?.value ?? '' };
    }
  }
}

/** The filter for the store; operand problems are INVALID_PARAMETERS naming their path. */
export function toRowFilter(filter: ViewFilter | undefined, columns: readonly TypedColumn[], path = 'filter'): RowFilter | undefined {
  if (!filter) return undefined;
  const byId = new Map(columns.map((c) => [c.id, c]));
  const issues: Issue[] = [];
  const walk = (f: ViewFilter, at: string): RowFilter => {
    if ('and' in f) return { and: f.and.map((x, i) => walk(x, `${at}.and.${i}`)) };
    if ('or' in f) return { or: f.or.map((x, i) => walk(x, `${at}.or.${i}`)) };
    if ('op' in f) return columnCondition(f, byId.get(f.column)!, at, issues);
    return f;
  };
  const out = walk(filter, path);
  if (issues.length) throw new InvalidParametersError(issues);
  return out;
}

export function toRowSort(query: CheckedViewQuery, columns: readonly TypedColumn[]): RowSortKey[] {
  const byId = new Map(columns.map((c) => [c.id, c]));
  return query.sort.map((k) => ({ column: k.column, dir: k.dir, field: numericField(byId.get(k.column)!.dataType) ? 'num' : 'txt' }));
}

/** Columns whose typed values the query reads (to index first): column conditions, column-scoped statuses, sort keys. */
export function indexedColumnsOf(query: CheckedViewQuery): string[] {
  const out = new Set<string>(query.sort.map((k) => k.column));
  for (const { condition } of filterConditions(query.filter)) {
    if ('op' in condition || ('status' in condition && condition.column !== undefined)) out.add(condition.column!);
  }
  return [...out];
}

/**
 * A cursor: the last row's sort keys and position, with the sort it belongs to, as base64url JSON.
 * Opaque to clients; a cursor of another sort (or not one of ours) is INVALID_PARAMETERS.
 */
const sortTag = (sort: readonly RowSortKey[]) => sort.map((k) => `${k.column}:${k.dir}:${k.field}`).join(',');

export function encodeCursor(sort: readonly RowSortKey[], at: RowCursor): string {
  return Buffer.from(JSON.stringify({ s: sortTag(sort), k: at.keys, p: at.position })).toString('base64url');
}

export function decodeCursor(text: string, sort: readonly RowSortKey[], path = 'cursor'): RowCursor {
  const bad = (message: string) => new InvalidParametersError([{ path, message }]);
  let raw: { s?: unknown; k?: unknown; p?: unknown };
  try {
    raw = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as typeof raw;
  } catch {
    throw bad('is not a cursor this API gave (use pagination.nextCursor as is)');
  }
  if (typeof raw !== 'object' || raw === null || !Array.isArray(raw.k) || typeof raw.p !== 'number' || !Number.isInteger(raw.p)) throw bad('is not a cursor this API gave (use pagination.nextCursor as is)');
  if (raw.s !== sortTag(sort) || raw.k.length !== sort.length) throw bad('belongs to another sort: page with the sort the cursor came from');
  if (!raw.k.every((v) => v === null || typeof v === 'number' || typeof v === 'string')) throw bad('is not a cursor this API gave');
  return { keys: raw.k as (Scalar | null)[], position: raw.p };
}
