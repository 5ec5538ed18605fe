import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError, unwrap, type Task } from '../../api/client';
import { NotFound } from '../../app';
import { CellPanel } from '../cells/cell-panel';
import { ColumnPanel } from '../columns/column-panel';
import { ExportDialog } from '../exports/export-dialog';
import { subscribeDatasetEvents } from '../tasks/dataset-events';
import { NewRowsDialog, RunDialog } from '../tasks/run-dialog';
import { TaskProgress } from '../tasks/task-progress';
import { nextTask, type ShownTask } from '../tasks/task-state';
import { ErrorState, ErrorText, Loading } from '../../ui/states';
import { GridView, type GridHandle, type GridTarget } from './grid-view';
import { Legend } from './legend';
import { firstBlock, type CellUpdate } from './grid-window';
import type { Column } from '../../api/client';
import { useMediaQuery } from '../../ui/use-media-query';
import { ReviewPanel } from '../review/review-panel';
import { ReviewSelectionDialog } from '../review/review-selection-dialog';
import { HeaderMenu, type HeaderMenuAction } from '../views/sort-panel';
import { ViewBar } from '../views/view-bar';
import { narrowsRows, sameView, shownColumns, viewParams, type ViewState } from '../views/view-state';
import { stateOf, type SavedView } from '../views/views-api';
import { useDatasetView } from '../views/use-dataset-view';

type Panel = { kind: 'column'; columnId: string | null } | { kind: 'cell'; row: number; col: number; draft?: string; error?: unknown } | { kind: 'review' } | null;

/** What GET /data is asked for a view: a saved view unchanged by its id, otherwise its parts. */
export function requestParams(view: ViewState, saved: SavedView | null): Record<string, string> {
  if (saved && sameView(view, stateOf(saved))) return { viewId: saved.viewId };
  return viewParams(view);
}
type Dialog = 'run' | 'export' | 'new-rows' | 'review-selection' | null;

export function DatasetPage({ datasetId }: { datasetId: string }) {
  const client = useQueryClient();
  const narrow = useMediaQuery('(max-width: 700px)');
  const grid = useRef<GridHandle>(null);
  const [panel, setPanel] = useState<Panel>(null);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [target, setTarget] = useState<GridTarget>(null);
  const [task, setShownTask] = useState<ShownTask | null>(null);
  // Every road a task state comes by goes through nextTask, so a late answer never moves it back.
  const setTask = useCallback((t: ShownTask) => setShownTask((old) => nextTask(old, t)), []);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [editError, setEditError] = useState<unknown>(null);
  const [menu, setMenu] = useState<{ columnId: string; x: number; y: number } | null>(null);
  // The first rows come with the columns and the row count: the grid starts from them. The
  // description (GET /datasets/{id}) is asked for once they are in, not alongside: on a large
  // table it is the slower answer (its linked-datasources lookup reads every cell), and a server
  // on SQLite answers one request at a time, so asking for both at once can put the first rows
  // behind it. Once the first block has answered (or failed), the description follows.
  const head = useQuery({ queryKey: ['first-block', datasetId], queryFn: () => firstBlock(datasetId), staleTime: Infinity, gcTime: 0, retry: false });
  const dataset = useQuery({
    queryKey: ['dataset', datasetId],
    queryFn: () => unwrap(api.GET('/api/v2/datasets/{datasetId}', { params: { path: { datasetId } } })),
    enabled: !head.isPending,
  });
  const refetchDataset = dataset.refetch;
  const v = useDatasetView(datasetId, dataset.data?.columns, () => setPanel((p) => (p?.kind === 'cell' ? null : p)));
  const { view, saved, total } = v;

  // The running task, read once; then kept current by the event stream.
  const activeTaskId = dataset.data?.activeTaskId;
  useEffect(() => {
    if (!activeTaskId) return;
    void unwrap(api.GET('/api/v2/datasets/{datasetId}/tasks/{taskId}', { params: { path: { datasetId, taskId: activeTaskId } } })).then(setTask, () => undefined);
  }, [datasetId, activeTaskId, setTask]);

  useEffect(
    () =>
      subscribeDatasetEvents(datasetId, (e) => {
        const data = e.data as Record<string, unknown>;
        if (e.event === 'cell') grid.current?.push([data as CellUpdate]);
        else if (e.event === 'task' && typeof data.taskId === 'string') {
          setTask(data as Task);
          if (data.status !== 'processing' && data.status !== 'queued') {
            void refetchDataset();
            void client.invalidateQueries({ queryKey: ['datasets'] });
          }
        } else if (e.event === 'rows') {
          void refetchDataset().then(() => grid.current?.reload());
        } else if (e.event === 'snapshot') {
          const snap = data as { task?: Task | null; lastTask?: Task | null; activeTask?: Task | null };
          const t = snap.activeTask ?? snap.task ?? snap.lastTask;
          if (t?.taskId) setTask(t);
        }
      }),
    [datasetId, refetchDataset, client, setTask],
  );

  const onEdit = useCallback(
    async (row: number, col: number, text: string) => {
      const cell = grid.current?.cellAt(row, col);
      if (!cell) return;
      const value = parseTyped(text, cell.value);
      setEditError(null);
      try {
        await unwrap(api.PATCH('/api/v2/datasets/{datasetId}/cells/{cellId}', { params: { path: { datasetId, cellId: cell.cellId } }, body: { value } }));
        await grid.current?.refreshRow(row);
      } catch (e) {
        // Keep what was typed: the cell panel opens with it and the reason.
        setPanel({ kind: 'cell', row, col, draft: text, error: e });
        setEditError(e);
      }
    },
    [datasetId],
  );

  const narrowing = narrowsRows(view);
  const params = requestParams(view, saved);
  const onReviewed = useCallback(
    (rowId: string) => {
      void refetchDataset();
      if (narrowing) grid.current?.reload();
      else {
        const row = grid.current?.rowIndexOf(rowId);
        if (row !== undefined) void grid.current?.refreshRow(row);
      }
    },
    [refetchDataset, narrowing],
  );

  if (dataset.isError) {
    if (dataset.error instanceof ApiError && dataset.error.status === 404) return <NotFound what="dataset" />;
    return <ErrorState error={dataset.error} retry={() => void dataset.refetch()} />;
  }
  if (dataset.isPending && !head.data) return <Loading label="Loading dataset…" />;
  if (dataset.isPending) return <GridFirst datasetId={datasetId} head={head.data!} />;
  const d = dataset.data;
  const running = task && (task.status === 'queued' || task.status === 'processing');
  const locked = d.status === 'processing' || Boolean(running);
  const readOnly = narrow || locked;
  const shown = shownColumns(d.columns, view);
  const counts = d.review;
  const menuColumn = menu ? d.columns.find((c) => c.columnId === menu.columnId) : undefined;
  const onMenu = (a: HeaderMenuAction) => {
    const id = menu!.columnId;
    setMenu(null);
    const rest = view.sort.filter((s) => s.columnId !== id);
    if (a === 'asc' || a === 'desc') v.change({ ...view, sort: [{ columnId: id, direction: a }] });
    else if (a === 'then-asc' || a === 'then-desc') v.change({ ...view, sort: [...rest, { columnId: id, direction: a === 'then-asc' ? 'asc' : 'desc' }] });
    else if (a === 'unsort') v.change({ ...view, sort: rest });
    else if (a === 'hide') v.change({ ...view, columns: shown.map((c) => c.columnId).filter((c) => c !== id) });
    else if (a === 'edit') setPanel({ kind: 'column', columnId: id });
    else if (a === 'filter') v.filterOn(id);
    if (a !== 'filter' && a !== 'edit') requestAnimationFrame(() => document.querySelector<HTMLElement>('.grid canvas')?.focus());
  };
  return (
    <div className={panel?.kind === 'review' ? 'dataset-page reviewing' : 'dataset-page'}>
      <div className="dataset-head">
        <div>
          <h1>{d.name}</h1>
          <p className="muted small">
            {d.type} · {d.rowCount.toLocaleString()} rows · {d.columns.length} columns · <span className={`badge status-${d.status}`}>{d.status}</span>
          </p>
        </div>
        {!narrow && (
          <div className="toolbar" role="toolbar" aria-label="Dataset actions">
            <button type="button" onClick={() => setPanel({ kind: 'column', columnId: null })} disabled={locked}>
              Add column
            </button>
            <button type="button" className="primary" onClick={() => setDialog('run')} disabled={locked || d.columns.every((c) => c.taskType === 'raw')}>
              Run{target && !target.empty ? ` (${target.label})` : ''}
            </button>
            {target && !target.empty && (
              <button type="button" onClick={() => setDialog('review-selection')} disabled={locked}>
                Review {target.label}…
              </button>
            )}
            <button type="button" onClick={() => setDialog('new-rows')} disabled={locked || d.rowCount === 0}>
              New rows
            </button>
            <button type="button" onClick={() => setDialog('export')} disabled={locked}>
              Export
            </button>
          </div>
        )}
      </div>
      {task && <TaskProgress datasetId={datasetId} task={task} onDismiss={() => setShownTask(null)} />}
      {narrow && <p className="muted small">Read-only on a narrow screen: open this page on a wider screen to edit and run.</p>}
      <ViewBar
        datasetId={datasetId}
        columns={d.columns}
        view={view}
        saved={saved}
        total={narrowing ? total : undefined}
        rowCount={d.rowCount}
        open={v.open}
        setOpen={v.setOpen}
        version={v.version}
        filterSeed={v.filterSeed}
        onChange={(next) => {
          setLoadError(null);
          v.change(next);
        }}
        onApply={(next) => {
          setLoadError(null);
          v.apply(next);
        }}
        review={{ count: counts?.needsReview, onStart: () => setPanel({ kind: 'review' }) }}
      />
      <Legend />
      <ErrorText error={loadError} />
      {editError && !panel ? <ErrorText error={editError} /> : null}
      <div className="workspace">
        <div className="grid-wrap">
          {d.columns.length === 0 ? (
            <div className="state empty">
              <h2>No columns yet</h2>
              <p>Add a column to start.</p>
            </div>
          ) : (
            <GridView
              ref={grid}
              datasetId={datasetId}
              columns={shown}
              rowCount={narrowing ? (total ?? d.rowCount) : d.rowCount}
              readOnly={readOnly}
              view={params}
              sort={view.sort}
              onTotal={v.setTotal}
              onHeaderMenu={(columnId, x, y) => setMenu({ columnId, x, y })}
              onOpenCell={(row, col) => setPanel({ kind: 'cell', row, col })}
              onOpenColumn={(columnId) => {
                if (!narrow) return setPanel({ kind: 'column', columnId });
                // Read-only on a narrow screen: a header opens its menu (sort, filter) instead.
                const i = shown.findIndex((c) => c.columnId === columnId);
                const canvas = document.querySelector('.grid canvas')?.getBoundingClientRect();
                if (canvas && i >= 0) setMenu({ columnId, x: canvas.x + 48 + shown.slice(0, i).reduce((w, c) => w + (c.taskType === 'raw' ? 180 : 220), 0), y: canvas.y + 36 });
              }}
              onEdit={(row, col, text) => void onEdit(row, col, text)}
              onSelectionTarget={setTarget}
              onLoadError={setLoadError}
            />
          )}
          {narrowing && total === 0 && !loadError && (
            <div className="state empty grid-overlay" role="status">
              <h2>No rows match this view</h2>
              <p>Change or clear the filter or the search.</p>
            </div>
          )}
        </div>
        {panel?.kind === 'review' && (
          <ReviewPanel
            dataset={d}
            view={view}
            needsReview={counts?.needsReview}
            onDecided={(item) => onReviewed(item.rowId)}
            onClose={() => {
              setPanel(null);
              requestAnimationFrame(() => document.querySelector<HTMLElement>('.grid canvas')?.focus());
            }}
          />
        )}
        {panel?.kind === 'column' && (
          <ColumnPanel
            key={panel.columnId ?? 'new'}
            dataset={d}
            columnId={panel.columnId}
            locked={locked}
            onClose={() => setPanel(null)}
            onSaved={async () => {
              await refetchDataset();
              grid.current?.reload();
            }}
          />
        )}
        {panel?.kind === 'cell' && (
          <CellPanel
            key={`${panel.row}:${panel.col}`}
            dataset={d}
            row={panel.row}
            column={shown[panel.col]!}
            cell={grid.current?.cellAt(panel.row, panel.col)}
            rowId={grid.current?.rowIdAt(panel.row)}
            view={params}
            readOnly={readOnly}
            initialDraft={panel.draft}
            initialError={panel.error}
            onClose={() => setPanel(null)}
            onSaved={async () => {
              setEditError(null);
              await grid.current?.refreshRow(panel.row);
            }}
          />
        )}
      </div>
      {dialog === 'run' && <RunDialog dataset={d} target={target} onClose={() => setDialog(null)} onStarted={(t) => { setTask(t); void refetchDataset(); }} />}
      {dialog === 'new-rows' && <NewRowsDialog dataset={d} onClose={() => setDialog(null)} onStarted={(t) => { setTask(t); void refetchDataset(); }} />}
      {dialog === 'review-selection' && target && !target.empty && (
        <ReviewSelectionDialog
          dataset={d}
          target={target}
          onClose={() => setDialog(null)}
          onDone={() => {
            void refetchDataset();
            grid.current?.reload();
          }}
        />
      )}
      {dialog === 'export' && <ExportDialog dataset={d} view={narrowing || view.columns ? { state: view, params, name: saved?.name, total } : undefined} onClose={() => setDialog(null)} />}
      {menu && menuColumn && <HeaderMenu column={menuColumn} x={menu.x} y={menu.y} sort={view.sort} canEdit={!narrow} onAction={onMenu} onClose={() => setMenu(null)} />}
    </div>
  );
}

/** A typed text keeps the old value's kind when it can (numbers stay numbers, JSON stays JSON). */
export function parseTyped(text: string, old: unknown): unknown {
  if (text === '') return null;
  if (typeof old === 'number' && text.trim() !== '' && Number.isFinite(Number(text))) return Number(text);
  if (typeof old === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  if (old !== null && typeof old === 'object') {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * While the dataset's description loads: its grid from the first rows, nothing to act on yet. The
 * page says it is busy (aria-busy) until the full page, which can be edited, replaces it.
 */
function GridFirst({ datasetId, head }: { datasetId: string; head: Awaited<ReturnType<typeof firstBlock>> }) {
  const columns = head.columns.map((c, position) => ({ ...c, metadata: {}, position }) as Column);
  return (
    <div className="dataset-page" aria-busy="true">
      <div className="dataset-head">
        <div>
          <h1>
            <span className="spinner" aria-hidden="true" /> Loading dataset…
          </h1>
          <p className="muted small">{head.pagination.total.toLocaleString()} rows</p>
        </div>
      </div>
      <Legend />
      <div className="workspace">
        <div className="grid-wrap">
          <GridView datasetId={datasetId} columns={columns} rowCount={head.pagination.total} readOnly onOpenCell={() => undefined} onOpenColumn={() => undefined} onEdit={() => undefined} onSelectionTarget={() => undefined} onLoadError={() => undefined} />
        </div>
      </div>
    </div>
  );
}
