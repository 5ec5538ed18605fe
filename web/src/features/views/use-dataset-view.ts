import { useQuery } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Column } from '../../api/client';
import { viewsKey } from './view-bar';
import { EMPTY_VIEW, viewParams, type ViewState } from './view-state';
import { listViews, stateOf, type SavedView } from './views-api';

export type ViewPanelName = 'filter' | 'sort' | 'columns' | null;

/**
 * The view a dataset page shows: what GET /data is asked for (filter, sort, search, columns), the
 * saved view it came from (kept in the address as `?view=`, so a reload or a shared link opens it
 * again), which of its panels is open, and its row count as its answers give it.
 * `onChange` runs whenever the view changes (the page closes a cell panel: its row moved).
 */
export function useDatasetView(datasetId: string, columns: Column[] | undefined, onChange: () => void) {
  const [view, setView] = useState<ViewState>(EMPTY_VIEW);
  const [saved, setSaved] = useState<SavedView | null>(null);
  /** Bumped when a view is applied from outside the filter form: the form starts again from it. */
  const [version, setVersion] = useState(0);
  const [open, setOpenState] = useState<ViewPanelName>(null);
  const [total, setTotal] = useState<number | undefined>(undefined);
  const [filterSeed, setFilterSeed] = useState<string | undefined>(undefined);
  const current = useRef(view);
  const changed = useRef(onChange);
  changed.current = onChange;

  const change = useCallback((next: ViewState) => {
    // Other rows: the count is unknown until their first answer.
    if (JSON.stringify(viewParams(current.current)) !== JSON.stringify(viewParams(next))) setTotal(undefined);
    current.current = next;
    setView(next);
    changed.current();
  }, []);

  const apply = useCallback(
    (v: SavedView | null) => {
      setSaved(v);
      change(v ? stateOf(v) : EMPTY_VIEW);
      setVersion((n) => n + 1);
      const url = v ? `${location.pathname}?view=${encodeURIComponent(v.viewId)}` : location.pathname;
      if (url !== location.pathname + location.search) history.replaceState(null, '', url);
    },
    [change],
  );

  // `?view=` on arrival: applied once the list of views is in (unknown ids are dropped).
  const wanted = useRef(new URLSearchParams(location.search).get('view'));
  const views = useQuery({ queryKey: viewsKey(datasetId), queryFn: () => listViews(datasetId) });
  useEffect(() => {
    if (!wanted.current || !views.data) return;
    const v = views.data.find((x) => x.viewId === wanted.current);
    wanted.current = null;
    apply(v ?? null);
  }, [views.data, apply]);

  // A column added while the view shows only some columns: it shows too (it was just made).
  const known = useRef<Set<string> | null>(null);
  useEffect(() => {
    if (!columns) return;
    const ids = columns.map((c) => c.columnId);
    const before = known.current;
    known.current = new Set(ids);
    const shown = current.current.columns;
    const added = before ? ids.filter((id) => !before.has(id)) : [];
    if (added.length && shown) change({ ...current.current, columns: [...shown, ...added] });
  }, [columns, change]);

  const setOpen = useCallback((o: ViewPanelName) => {
    setFilterSeed(undefined);
    setOpenState(o);
  }, []);
  /** Opens the filter form with a new condition on this column. */
  const filterOn = useCallback((columnId: string) => {
    setFilterSeed(columnId);
    setVersion((n) => n + 1);
    setOpenState('filter');
  }, []);

  return { view, saved, version, open, setOpen, total, setTotal, filterSeed, change, apply, filterOn };
}
