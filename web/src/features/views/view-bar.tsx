import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import type { Column } from '../../api/client';
import { Confirm, Dialog } from '../../ui/dialog';
import { ErrorText } from '../../ui/states';
import { FilterBar } from './filter-bar';
import { SortPanel } from './sort-panel';
import { groupItems, sameView, EMPTY_VIEW, type ViewState } from './view-state';
import { createView, deleteView, listViews, stateOf, updateView, viewBody, type SavedView } from './views-api';

type Open = 'filter' | 'sort' | 'columns' | null;

type Props = {
  datasetId: string;
  columns: Column[];
  view: ViewState;
  /** The saved view applied, if any (the view may differ from it: "modified"). */
  saved: SavedView | null;
  /** Rows the view shows, once its first answer is in (undefined: every row). */
  total: number | undefined;
  rowCount: number;
  open: Open;
  setOpen(o: Open): void;
  /** Bumped when a view is applied from outside the bar: the filter form starts again from it. */
  version: number;
  /** A column to start a new filter condition on. */
  filterSeed?: string;
  onChange(view: ViewState): void;
  onApply(saved: SavedView | null): void;
  /** Review mode, with how many cells need review (when the server says). */
  review?: { count: number | undefined; onStart(): void };
};

export const viewsKey = (datasetId: string) => ['views', datasetId];

/**
 * The bar over the grid: saved views, search, filter, sort and the columns shown. Rows are
 * filtered, sorted and searched by the server (GET /data); the bar only says what to ask for.
 */
export function ViewBar(props: Props) {
  const { datasetId, columns, view, saved, total, rowCount, open, setOpen, version, onChange, onApply } = props;
  const client = useQueryClient();
  const views = useQuery({ queryKey: viewsKey(datasetId), queryFn: () => listViews(datasetId) });
  const [dialog, setDialog] = useState<'save' | 'rename' | 'delete' | null>(null);
  const modified = saved ? !sameView(view, stateOf(saved)) : !sameView(view, EMPTY_VIEW);
  const update = useMutation({
    mutationFn: () => updateView(datasetId, saved!.viewId, viewBody(view)),
    onSuccess: async (v) => {
      await client.invalidateQueries({ queryKey: viewsKey(datasetId) });
      onApply({ ...saved!, ...v });
    },
  });
  const filterCount = view.filter ? groupItems(view.filter).length : 0;
  const toggle = (o: Exclude<Open, null>) => setOpen(open === o ? null : o);
  const shown = view.columns?.length ?? columns.length;
  return (
    <div className="view-bar-wrap">
      <div className="view-bar" role="toolbar" aria-label="Views, search, filter and sort">
        <div className="field-inline">
          <label htmlFor="view-select">View</label>
          <select
            id="view-select"
            value={saved?.viewId ?? ''}
            onChange={(e) => {
              const v = views.data?.find((x) => x.viewId === e.target.value) ?? null;
              onApply(v);
            }}
          >
            <option value="">All rows</option>
            {views.data?.map((v) => (
              <option key={v.viewId} value={v.viewId}>
                {v.name}
                {v.missingColumns.length ? ' (names a deleted column)' : ''}
              </option>
            ))}
          </select>
        </div>
        <SearchBox q={view.q} onChange={(q) => onChange({ ...view, q })} />
        <button type="button" aria-expanded={open === 'filter'} aria-controls="view-panel" className={filterCount ? 'on' : undefined} onClick={() => toggle('filter')}>
          Filter{filterCount ? ` (${filterCount})` : ''}
        </button>
        <button type="button" aria-expanded={open === 'sort'} aria-controls="view-panel" className={view.sort.length ? 'on' : undefined} onClick={() => toggle('sort')}>
          Sort{view.sort.length ? ` (${view.sort.length})` : ''}
        </button>
        <button type="button" aria-expanded={open === 'columns'} aria-controls="view-panel" className={view.columns ? 'on' : undefined} onClick={() => toggle('columns')}>
          Columns{view.columns ? ` (${shown}/${columns.length})` : ''}
        </button>
        {props.review && (
          <button type="button" onClick={props.review.onStart} disabled={props.review.count === 0}>
            Review{props.review.count !== undefined ? ` (${props.review.count.toLocaleString()})` : ''}
          </button>
        )}
        <span className="view-actions">
          {saved && modified && (
            <button type="button" onClick={() => update.mutate()} disabled={update.isPending}>
              Update “{saved.name}”
            </button>
          )}
          {modified && (
            <button type="button" onClick={() => setDialog('save')}>
              Save as view…
            </button>
          )}
          {saved && (
            <>
              <button type="button" className="link" onClick={() => setDialog('rename')}>
                Rename view
              </button>
              <button type="button" className="link danger" onClick={() => setDialog('delete')}>
                Delete view
              </button>
            </>
          )}
          {modified && (
            <button type="button" className="link" onClick={() => (saved ? onApply(saved) : onApply(null))}>
              {saved ? 'Undo changes' : 'Reset'}
            </button>
          )}
        </span>
        <span className="muted small view-count" role="status" aria-live="polite" data-testid="view-count">
          {total !== undefined ? `${total.toLocaleString()} of ${rowCount.toLocaleString()} rows` : `${rowCount.toLocaleString()} rows`}
        </span>
      </div>
      <ErrorText error={views.error ?? update.error} />
      {open && (
        <div id="view-panel" className="view-panel">
          {open === 'filter' && <FilterBar key={version} columns={columns} filter={view.filter} seed={props.filterSeed} onChange={(filter) => onChange({ ...view, filter })} />}
          {open === 'sort' && <SortPanel columns={columns} sort={view.sort} onChange={(sort) => onChange({ ...view, sort })} />}
          {open === 'columns' && <ColumnsPanel columns={columns} shown={view.columns} onChange={(c) => onChange({ ...view, columns: c })} />}
        </div>
      )}
      {dialog === 'save' && (
        <ViewNameDialog datasetId={datasetId} title="Save view" inputId="view-name" initialName="" hint="Saves this filter, sort, search and the columns shown, to apply again later (and to export)." submitLabel="Save view" submit={(name) => createView(datasetId, name, view)} onClose={() => setDialog(null)} onSaved={(v) => { setDialog(null); onApply(v); }} />
      )}
      {dialog === 'rename' && saved && (
        <ViewNameDialog datasetId={datasetId} title="Rename view" inputId="view-rename" initialName={saved.name} submitLabel="Save" submit={(name) => updateView(datasetId, saved.viewId, { name })} onClose={() => setDialog(null)} onSaved={(v) => { setDialog(null); onApply({ ...saved, ...v }); }} />
      )}
      {dialog === 'delete' && saved && <DeleteView datasetId={datasetId} saved={saved} onClose={() => setDialog(null)} onDeleted={() => { setDialog(null); onApply(null); }} />}
    </div>
  );
}

/** The search box: the server searches the row's text (`q`), asked once typing pauses. */
function SearchBox({ q, onChange }: { q: string; onChange(q: string): void }) {
  const [text, setText] = useState(q);
  const latest = useRef({ q, onChange });
  latest.current = { q, onChange };
  useEffect(() => setText(q), [q]);
  useEffect(() => {
    if (text === latest.current.q) return;
    const t = setTimeout(() => latest.current.onChange(text), 300);
    return () => clearTimeout(t);
  }, [text]);
  return (
    <div className="field-inline search">
      <label htmlFor="view-search" className="sr-only">
        Search rows
      </label>
      <input id="view-search" type="search" placeholder="Search rows…" value={text} onChange={(e) => setText(e.target.value)} onKeyDown={(e) => e.key === 'Enter' && onChange(text)} />
    </div>
  );
}

function ColumnsPanel({ columns, shown, onChange }: { columns: Column[]; shown: string[] | null; onChange(c: string[] | null): void }) {
  const on = (id: string) => !shown || shown.includes(id);
  const set = (id: string, checked: boolean) => {
    const next = columns.map((c) => c.columnId).filter((x) => (x === id ? checked : on(x)));
    onChange(next.length === columns.length ? null : next);
  };
  return (
    <fieldset className="columns-panel">
      <legend>Columns shown</legend>
      <div className="column-checks">
        {columns.map((c) => (
          <label key={c.columnId} className="check">
            <input type="checkbox" checked={on(c.columnId)} disabled={on(c.columnId) && (shown?.length ?? columns.length) === 1} onChange={(e) => set(c.columnId, e.target.checked)} /> {c.name}
          </label>
        ))}
      </div>
      {shown && (
        <button type="button" className="link" onClick={() => onChange(null)}>
          Show every column
        </button>
      )}
    </fieldset>
  );
}

/** Asks for a view's name, then saves it with `submit` (a new view, or a rename). */
function ViewNameDialog({ datasetId, title, inputId, initialName, hint, submitLabel, submit, onClose, onSaved }: { datasetId: string; title: string; inputId: string; initialName: string; hint?: string; submitLabel: string; submit(name: string): Promise<SavedView>; onClose(): void; onSaved(v: SavedView): void }) {
  const client = useQueryClient();
  const [name, setName] = useState(initialName);
  const save = useMutation({
    mutationFn: () => submit(name.trim()),
    onSuccess: async (v) => {
      await client.invalidateQueries({ queryKey: viewsKey(datasetId) });
      onSaved(v);
    },
  });
  return (
    <Dialog title={title} onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }}>
        {hint && <p className="muted small">{hint}</p>}
        <label htmlFor={inputId}>Name</label>
        <input id={inputId} value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} autoFocus />
        <ErrorText error={save.error} />
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={!name.trim() || save.isPending}>
            {submitLabel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteView({ datasetId, saved, onClose, onDeleted }: { datasetId: string; saved: SavedView; onClose(): void; onDeleted(): void }) {
  const client = useQueryClient();
  const del = useMutation({
    mutationFn: () => deleteView(datasetId, saved.viewId),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: viewsKey(datasetId) });
      onDeleted();
    },
  });
  return (
    <Confirm
      title="Delete view"
      message={<p>Delete the view “{saved.name}”? The rows stay; only the saved filter, sort and search go.</p>}
      confirmLabel="Delete"
      danger
      busy={del.isPending}
      error={<ErrorText error={del.error} />}
      onConfirm={() => del.mutate()}
      onClose={onClose}
    />
  );
}
