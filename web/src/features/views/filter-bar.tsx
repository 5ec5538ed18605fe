import { useEffect, useRef, useState } from 'react';
import type { Column } from '../../api/client';
import { CELL_STATUSES, describe, groupItems, groupJoin, isGroup, NO_VALUE_OPS, OP_LABELS, VALUE_OPS, type Condition, type FilterGroup, type FilterNode, type ValueOp } from './view-state';

type Kind = 'value' | 'status' | 'needsReview' | 'confidence' | 'reviewed';
const KIND_LABELS: Record<Kind, string> = { value: 'Value', status: 'Status', needsReview: 'Needs review', confidence: 'Confidence', reviewed: 'Reviewed' };

/** One condition as the form edits it: every field a string, turned into the API's shape by `toCondition`. */
type Draft = {
  id: number;
  kind: Kind;
  column: string;
  op: ValueOp;
  value: string;
  status: string;
  needsReview: 'true' | 'false';
  confidenceOp: 'lt' | 'gt';
  confidence: string;
  reviewed: 'approved' | 'rejected' | 'no';
  /** A nested group made through the API: shown and kept as it is, not edited here. */
  nested?: FilterGroup;
};

let nextId = 1;
const blank = (kind: Kind, column: string): Draft => ({ id: nextId++, kind, column, op: 'eq', value: '', status: 'error', needsReview: 'true', confidenceOp: 'lt', confidence: '0.7', reviewed: 'approved' });

function fromNode(n: FilterNode, columns: Column[]): Draft {
  if (isGroup(n)) return { ...blank('value', ''), nested: n };
  const column = typeof n.column === 'string' ? n.column : '';
  if ('op' in n) return { ...blank('value', column), op: n.op, value: Array.isArray(n.value) ? n.value.map(String).join(', ') : n.value === undefined || n.value === null ? '' : String(n.value) };
  if ('status' in n) return { ...blank('status', column), status: n.status };
  if ('needsReview' in n) return { ...blank('needsReview', column), needsReview: n.needsReview ? 'true' : 'false' };
  if ('confidence' in n) {
    const [op, x] = Object.entries(n.confidence)[0] ?? ['lt', 0.7];
    return { ...blank('confidence', column), confidenceOp: op === 'gt' || op === 'gte' ? 'gt' : 'lt', confidence: String(x) };
  }
  if ('reviewed' in n) return { ...blank('reviewed', column), reviewed: n.reviewed === false ? 'no' : n.reviewed };
  return blank('value', columns[0]?.columnId ?? '');
}

/** A value typed as text, in the column's data type (numbers compare as numbers on the server). */
function typed(text: string, column: Column | undefined): unknown {
  const t = text.trim();
  if (column?.dataType === 'number' && t !== '' && Number.isFinite(Number(t))) return Number(t);
  if (column?.dataType === 'boolean' && (t === 'true' || t === 'false')) return t === 'true';
  return text;
}

/** The API's condition, or undefined while the draft is incomplete (it is not sent yet). */
export function toCondition(d: Draft, columns: Column[]): FilterNode | undefined {
  if (d.nested) return d.nested;
  const col = d.column ? { column: d.column } : {};
  switch (d.kind) {
    case 'value': {
      const column = columns.find((c) => c.columnId === d.column);
      if (!column) return undefined;
      if (NO_VALUE_OPS.includes(d.op)) return { column: d.column, op: d.op };
      if (d.op === 'in') {
        const items = d.value.split(',').map((s) => s.trim()).filter(Boolean);
        return items.length ? { column: d.column, op: 'in', value: items.map((s) => typed(s, column)) } : undefined;
      }
      if (d.value === '') return undefined;
      return { column: d.column, op: d.op, value: typed(d.value, column) };
    }
    case 'status':
      return { status: d.status, ...col };
    case 'needsReview':
      return { needsReview: d.needsReview === 'true', ...col };
    case 'confidence': {
      const x = Number(d.confidence);
      if (d.confidence.trim() === '' || !Number.isFinite(x)) return undefined;
      return { confidence: { [d.confidenceOp]: x }, ...col } as Condition;
    }
    case 'reviewed':
      return { reviewed: d.reviewed === 'no' ? false : d.reviewed, ...col };
  }
}

type Props = {
  columns: Column[];
  filter: FilterGroup | null;
  /** A column to start a new condition on (a header's "Filter on this column"). */
  seed?: string;
  onChange(filter: FilterGroup | null): void;
};

/**
 * The filter bar: conditions on a column's value (is, contains, >, is one of, …) or on a cell's
 * state (status, needs review, confidence, reviewed), all joined by "all" (and) or "any" (or).
 * A state condition without a column holds when any cell of the row matches. Changes apply as
 * they are made (text after a short pause); an incomplete condition is left out until complete.
 */
export function FilterBar({ columns, filter, seed, onChange }: Props) {
  const [join, setJoin] = useState<'and' | 'or'>(filter ? groupJoin(filter) : 'and');
  const focusId = useRef<{ id: number; field: string } | null>(null);
  const [drafts, setDrafts] = useState<Draft[]>(() => {
    const list = filter ? groupItems(filter).map((n) => fromNode(n, columns)) : [];
    if (seed && columns.some((c) => c.columnId === seed)) {
      const d = blank('value', seed);
      focusId.current = { id: d.id, field: 'value' };
      list.push(d);
    }
    return list;
  });
  const changeRef = useRef(onChange);
  changeRef.current = onChange;
  const first = useRef(true);
  const lastSent = useRef(JSON.stringify(filter));

  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const items = drafts.map((d) => toCondition(d, columns)).filter((x): x is FilterNode => Boolean(x));
    const next: FilterGroup | null = items.length ? (join === 'and' ? { and: items } : { or: items }) : null;
    const text = JSON.stringify(next);
    if (text === lastSent.current) return;
    const t = setTimeout(() => {
      lastSent.current = text;
      changeRef.current(next);
    }, 350);
    return () => clearTimeout(t);
  }, [drafts, join, columns]);

  useEffect(() => {
    if (focusId.current === null) return;
    document.getElementById(`filter-${focusId.current.id}-${focusId.current.field}`)?.focus();
    focusId.current = null;
  }, [drafts]);

  const update = (id: number, patch: Partial<Draft>) => setDrafts((old) => old.map((d) => (d.id === id ? { ...d, ...patch } : d)));
  const add = () => {
    const d = blank('value', columns[0]?.columnId ?? '');
    focusId.current = { id: d.id, field: 'kind' };
    setDrafts((old) => [...old, d]);
  };
  const remove = (id: number) => setDrafts((old) => old.filter((d) => d.id !== id));

  return (
    <section className="filter-bar" aria-label="Filter">
      {drafts.length > 1 && (
        <div className="filter-join">
          <label htmlFor="filter-join">Show rows matching</label>
          <select id="filter-join" value={join} onChange={(e) => setJoin(e.target.value as 'and' | 'or')}>
            <option value="and">all of these conditions</option>
            <option value="or">any of these conditions</option>
          </select>
        </div>
      )}
      {drafts.length === 0 && <p className="muted small">No conditions: every row shows.</p>}
      <div className="conditions">
        {drafts.map((d, i) => (
          <div key={d.id} className="condition" role="group" aria-label={`Condition ${i + 1}`}>
            {d.nested ? (
              <span className="nested">{describe(d.nested, columns)}</span>
            ) : (
              <ConditionFields draft={d} columns={columns} onChange={(patch) => update(d.id, patch)} />
            )}
            <button type="button" className="icon" aria-label={`Remove condition ${i + 1}`} onClick={() => remove(d.id)}>
              ×
            </button>
          </div>
        ))}
      </div>
      <div className="filter-actions">
        <button type="button" onClick={add} disabled={columns.length === 0}>
          + Add condition
        </button>
        {drafts.length > 0 && (
          <button type="button" className="link" onClick={() => setDrafts([])}>
            Clear filter
          </button>
        )}
      </div>
    </section>
  );
}

function ConditionFields({ draft: d, columns, onChange }: { draft: Draft; columns: Column[]; onChange(patch: Partial<Draft>): void }) {
  const id = (k: string) => `filter-${d.id}-${k}`;
  const column = columns.find((c) => c.columnId === d.column);
  return (
    <>
      <select id={id('kind')} aria-label="Condition on" value={d.kind} onChange={(e) => onChange({ kind: e.target.value as Kind, column: e.target.value === 'value' ? d.column || (columns[0]?.columnId ?? '') : '' })}>
        {(Object.keys(KIND_LABELS) as Kind[]).map((k) => (
          <option key={k} value={k}>
            {KIND_LABELS[k]}
          </option>
        ))}
      </select>
      <select aria-label="Column" value={d.column} onChange={(e) => onChange({ column: e.target.value })}>
        {d.kind !== 'value' && <option value="">any cell</option>}
        {columns.map((c) => (
          <option key={c.columnId} value={c.columnId}>
            {c.name}
          </option>
        ))}
      </select>
      {d.kind === 'value' && (
        <>
          <select aria-label="Operator" value={d.op} onChange={(e) => onChange({ op: e.target.value as ValueOp })}>
            {VALUE_OPS.map((op) => (
              <option key={op} value={op}>
                {OP_LABELS[op]}
              </option>
            ))}
          </select>
          {!NO_VALUE_OPS.includes(d.op) &&
            (column?.dataType === 'boolean' && d.op !== 'in' ? (
              <select id={id('value')} aria-label="Value" value={d.value} onChange={(e) => onChange({ value: e.target.value })}>
                <option value="">Choose…</option>
                <option value="true">true</option>
                <option value="false">false</option>
              </select>
            ) : (
              <input
                id={id('value')}
                aria-label={d.op === 'in' ? 'Values, separated by commas' : 'Value'}
                placeholder={d.op === 'in' ? 'a, b, c' : 'value'}
                type={column?.dataType === 'number' && d.op !== 'in' ? 'number' : 'text'}
                step="any"
                value={d.value}
                onChange={(e) => onChange({ value: e.target.value })}
              />
            ))}
        </>
      )}
      {d.kind === 'status' && (
        <select aria-label="Status" value={d.status} onChange={(e) => onChange({ status: e.target.value })}>
          {CELL_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      )}
      {d.kind === 'needsReview' && (
        <select aria-label="Needs review" value={d.needsReview} onChange={(e) => onChange({ needsReview: e.target.value as 'true' | 'false' })}>
          <option value="true">needs review</option>
          <option value="false">does not need review</option>
        </select>
      )}
      {d.kind === 'confidence' && (
        <>
          <select aria-label="Below or above" value={d.confidenceOp} onChange={(e) => onChange({ confidenceOp: e.target.value as 'lt' | 'gt' })}>
            <option value="lt">below</option>
            <option value="gt">above</option>
          </select>
          <input aria-label="Confidence (0 to 1)" type="number" min="0" max="1" step="0.05" value={d.confidence} onChange={(e) => onChange({ confidence: e.target.value })} />
        </>
      )}
      {d.kind === 'reviewed' && (
        <select aria-label="Review decision" value={d.reviewed} onChange={(e) => onChange({ reviewed: e.target.value as Draft['reviewed'] })}>
          <option value="approved">approved</option>
          <option value="rejected">rejected</option>
          <option value="no">not reviewed</option>
        </select>
      )}
    </>
  );
}
