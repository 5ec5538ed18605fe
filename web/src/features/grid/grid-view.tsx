import {
  CompactSelection,
  DataEditor,
  GridCellKind,
  GridColumnIcon,
  type DataEditorRef,
  type EditableGridCell,
  type GridCell,
  type GridColumn,
  type GridSelection,
  type Item,
  type Rectangle,
} from '@glideapps/glide-data-grid';
import '@glideapps/glide-data-grid/dist/index.css';
import { forwardRef, useCallback, useEffect, useImperativeHandle, useMemo, useRef, useState } from 'react';
import type { Column, TaskType } from '../../api/client';
import { useDarkMode } from '../../ui/use-dark-mode';
import { cellState, DARK_THEME, displayText, LIGHT_THEME, stateTheme, valueText } from './cell-style';
import { BLOCK, GridWindow, type CellUpdate, type GridCellData, type ViewParams } from './grid-window';
import type { SortKey } from '../views/view-state';

export const TASK_ICONS: Record<TaskType, GridColumnIcon> = {
  raw: GridColumnIcon.HeaderString,
  ai_enrich: GridColumnIcon.HeaderTextTemplate,
  web_enrich: GridColumnIcon.HeaderUri,
  classification: GridColumnIcon.HeaderSingleValue,
  doc_extraction: GridColumnIcon.HeaderReference,
  places_count: GridColumnIcon.HeaderGeoDistance,
};

/**
 * The windows of the grids on screen, by dataset. The page swaps its first, description-less grid
 * for the full one: React renders the new grid before the old one unmounts, so the new one finds
 * the old one's window here and keeps its rows (no second read, no flash of empty cells).
 */
const mounted = new Map<string, GridWindow>();

export type GridHandle = {
  /** Live cell updates, applied and repainted on the next animation frame (coalesced). */
  push(updates: CellUpdate[]): void;
  /** Reads every visible row again (columns or rows changed). */
  reload(): void;
  refreshRow(row: number): Promise<void>;
  cellAt(row: number, col: number): GridCellData | undefined;
  rowIdAt(row: number): string | undefined;
  /** The grid row of a loaded row, by id (undefined when not loaded or not in the view). */
  rowIndexOf(rowId: string): number | undefined;
  scrollToRow(row: number): void;
};

/** A selection to run; `empty` when it holds no computed cell (raw cells only): nothing to run. */
export type GridTarget = { cellIds?: string[]; rowIds?: string[]; columnIds?: string[]; label: string; empty?: true } | null;

type Props = {
  datasetId: string;
  columns: Column[];
  rowCount: number;
  readOnly: boolean;
  /** The view's GET /data parameters (filter, sort, q); rows come in its order. */
  view?: ViewParams;
  /** The view's sorts, shown on the headers (↑ ascending, ↓ descending, numbered when several). */
  sort?: SortKey[];
  /** The row count each answer gives (`pagination.total`), for a view's own count. */
  onTotal?(total: number): void;
  /** A header's menu: its ▾, a right click, or Shift+F10 / the menu key on one of its cells. */
  onHeaderMenu?(columnId: string, x: number, y: number): void;
  onOpenCell(row: number, col: number): void;
  onOpenColumn(columnId: string): void;
  onEdit(row: number, col: number, text: string): void;
  onSelectionTarget(target: GridTarget): void;
  onLoadError(e: unknown): void;
};

export const GridView = forwardRef<GridHandle, Props>(function GridView(props, ref) {
  const { datasetId, columns, rowCount, readOnly } = props;
  const grid = useRef<DataEditorRef>(null);
  const dark = useDarkMode();
  const visible = useRef<Rectangle>({ x: 0, y: 0, width: 1, height: 40 });
  const propsRef = useRef(props);
  propsRef.current = props;
  const [widths, setWidths] = useState<Record<string, number>>({});
  const [selection, setSelection] = useState<GridSelection>({ columns: CompactSelection.empty(), rows: CompactSelection.empty() });

  // The accessibility layer (what screen readers and tests read) is rebuilt by the library only
  // when getCellContent changes, not on updateCells: after rows load or cells change, a new
  // version makes a new getCellContent (a React render and a full repaint), the first change at
  // once, then at most every 250 ms after rows load and every second during live updates (a task
  // can change cells on every frame).
  const [a11yVersion, setA11yVersion] = useState(0);
  const a11yTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const a11yLast = useRef(0);
  const refreshA11y = useCallback((every = 250) => {
    if (a11yTimer.current !== null) return;
    const wait = Math.max(0, a11yLast.current + every - performance.now());
    a11yTimer.current = setTimeout(() => {
      a11yTimer.current = null;
      a11yLast.current = performance.now();
      setA11yVersion((v) => v + 1);
    }, wait);
  }, []);
  useEffect(() => () => { if (a11yTimer.current !== null) clearTimeout(a11yTimer.current); }, []);

  const repaintRows = useCallback((first: number, count: number) => {
    const v = visible.current;
    const from = Math.max(first, v.y);
    const to = Math.min(first + count, v.y + v.height + 1);
    const cells: { cell: Item }[] = [];
    const ncols = win.current.columnIds.length;
    for (let r = from; r < to; r++) for (let c = 0; c < ncols; c++) cells.push({ cell: [c, r] });
    if (cells.length) {
      grid.current?.updateCells(cells);
      // The canvas is drawn by now (updateCells draws at once): a user-timing mark, read by
      // bench/web-app.bench.ts and shown in the browser's performance panel.
      performance.mark('cellwise:rows-painted', { detail: { first: from, count: to - from } });
      refreshA11y();
    }
  }, [refreshA11y]);

  const win = useRef<GridWindow>(null as unknown as GridWindow);
  if (!win.current || win.current.datasetId !== datasetId) {
    win.current = mounted.get(datasetId) ?? new GridWindow(datasetId, columns.map((c) => c.columnId), () => undefined, () => undefined);
  }
  win.current.onRows = repaintRows;
  win.current.onError = (e) => propsRef.current.onLoadError(e);
  win.current.onTotal = (t) => propsRef.current.onTotal?.(t);
  useEffect(() => {
    const w = win.current;
    mounted.set(datasetId, w);
    return () => {
      if (mounted.get(datasetId) === w) mounted.delete(datasetId);
    };
  }, [datasetId]);
  const columnKey = columns.map((c) => c.columnId).join(',');
  const viewKey = JSON.stringify(props.view ?? {});
  useEffect(() => {
    const ids = columnKey ? columnKey.split(',') : [];
    if (ids.join(',') !== win.current.columnIds.join(',') || viewKey !== JSON.stringify(win.current.view)) {
      const viewChanged = viewKey !== JSON.stringify(win.current.view);
      win.current.reset(ids, JSON.parse(viewKey) as ViewParams);
      if (viewChanged) {
        // Another view: back to its first row; its row count comes with its first answer.
        visible.current = { ...visible.current, y: 0 };
        grid.current?.scrollTo(0, 0);
      }
      void win.current.ensure(visible.current.y, visible.current.height + 1, Math.max(rowCount, 1));
    }
  }, [columnKey, viewKey, rowCount]);

  // Live updates: collected, applied once per animation frame.
  const queued = useRef<CellUpdate[]>([]);
  const frame = useRef<number | null>(null);
  useImperativeHandle(
    ref,
    () => ({
      push(updates) {
        queued.current.push(...updates);
        frame.current ??= requestAnimationFrame(() => {
          frame.current = null;
          const batch = queued.current;
          queued.current = [];
          const damaged = win.current.apply(batch);
          const v = visible.current;
          const shown = damaged.filter(([, r]) => r >= v.y && r <= v.y + v.height);
          if (shown.length) {
            grid.current?.updateCells(shown.map((cell) => ({ cell })));
            refreshA11y(1000);
          }
        });
      },
      reload() {
        win.current.reset(win.current.columnIds);
        void win.current.ensure(visible.current.y, visible.current.height + 1, propsRef.current.rowCount);
      },
      refreshRow: (row) => win.current.refreshRow(row, propsRef.current.rowCount),
      cellAt: (row, col) => win.current.cell(row, col),
      rowIdAt: (row) => win.current.rowId(row),
      rowIndexOf: (rowId) => win.current.rowIndex(rowId),
      scrollToRow: (row) => grid.current?.scrollTo(0, row, 'vertical', 0, 0, { vAlign: 'start' }),
    }),
    [refreshA11y],
  );
  useEffect(() => () => { if (frame.current !== null) cancelAnimationFrame(frame.current); }, []);

  const sort = props.sort;
  const gridColumns = useMemo<GridColumn[]>(
    () =>
      columns.map((c) => {
        const i = sort?.findIndex((s) => s.columnId === c.columnId) ?? -1;
        // The title is what the canvas draws and what the accessibility layer's columnheader reads.
        const mark = i < 0 ? '' : ` ${sort![i]!.direction === 'asc' ? '↑' : '↓'}${sort!.length > 1 ? i + 1 : ''}`;
        return { id: c.columnId, title: c.name + mark, icon: TASK_ICONS[c.taskType], width: widths[c.columnId] ?? (c.taskType === 'raw' ? 180 : 220), hasMenu: Boolean(props.onHeaderMenu) };
      }),
    [columns, widths, sort, props.onHeaderMenu],
  );
  const headerMenu = (col: number) => {
    const c = columns[col];
    const b = grid.current?.getBounds(col, -1);
    if (c && b) propsRef.current.onHeaderMenu?.(c.columnId, b.x, b.y + b.height);
  };

  const getCellContent = useCallback(
    ([col, row]: Item): GridCell => {
      void a11yVersion; // a dependency only: see refreshA11y
      const c = win.current.cell(row, col);
      if (!c) return { kind: GridCellKind.Loading, allowOverlay: false };
      const raw = columns[col]?.taskType === 'raw';
      const text = valueText(c.value);
      const state = cellState(c);
      const shown = displayText(c);
      return {
        kind: GridCellKind.Text,
        // `data` is what the accessibility layer reads: computed cells say their state too.
        data: raw || state === 'done' || state === 'empty' ? text : `${shown} (${state})`,
        displayData: shown,
        copyData: text,
        allowOverlay: raw && !readOnly,
        readonly: !raw || readOnly,
        themeOverride: stateTheme(state, dark),
      };
    },
    [columns, dark, readOnly, a11yVersion],
  );

  const onVisibleRegionChanged = useCallback(
    (r: Rectangle) => {
      visible.current = r;
      void win.current.ensure(r.y, r.height + 1, rowCount);
    },
    [rowCount],
  );
  useEffect(() => void win.current.ensure(visible.current.y, visible.current.height + 1, rowCount), [rowCount]);

  // Copy: cells of rows not loaded yet are fetched first (the grid accepts a thunk).
  const getCellsForSelection = useCallback((r: Rectangle) => {
    const read = () => Array.from({ length: r.height }, (_, i) => Array.from({ length: r.width }, (_, j) => getCellContent([r.x + j, r.y + i])));
    const loaded = Array.from({ length: Math.ceil(r.height / BLOCK) + 1 }, (_, i) => r.y + i * BLOCK).every((row) => row >= r.y + r.height || win.current.isLoaded(row)) && win.current.isLoaded(r.y + r.height - 1);
    if (loaded) return read();
    return async () => {
      await win.current.ensure(r.y, r.height, propsRef.current.rowCount);
      return read();
    };
  }, [getCellContent]);

  const onSelection = (s: GridSelection) => {
    setSelection(s);
    propsRef.current.onSelectionTarget(targetOf(s, win.current, columns));
  };

  return (
    <DataEditor
      ref={grid}
      className="grid"
      width="100%"
      height="100%"
      columns={gridColumns}
      rows={rowCount}
      getCellContent={getCellContent}
      getCellsForSelection={getCellsForSelection}
      onVisibleRegionChanged={onVisibleRegionChanged}
      freezeColumns={columns.length > 1 ? 1 : 0}
      rowMarkers={{ kind: 'both', width: 48 }}
      headerHeight={36}
      rowHeight={34}
      theme={dark ? DARK_THEME : LIGHT_THEME}
      gridSelection={selection}
      onGridSelectionChange={onSelection}
      onColumnResize={(c, w) => setWidths((old) => ({ ...old, [c.id!]: w }))}
      minColumnWidth={60}
      maxColumnWidth={800}
      onHeaderClicked={(col) => columns[col] && props.onOpenColumn(columns[col].columnId)}
      onHeaderMenuClick={(col) => headerMenu(col)}
      onHeaderContextMenu={(col, e) => {
        e.preventDefault();
        headerMenu(col);
      }}
      onKeyDown={(e) => {
        // The menu key, or Shift+F10: the column menu of the focused cell (sort, filter), as a
        // context menu opens from the keyboard.
        // (e.location counts the row-marker column; the selection is in the grid's columns.)
        const cell = selection.current?.cell;
        if (cell && (e.key === 'ContextMenu' || (e.shiftKey && e.key === 'F10'))) {
          e.preventDefault();
          e.stopPropagation();
          headerMenu(cell[0]);
        }
      }}
      onCellClicked={([col, row]) => props.onOpenCell(row, col)}
      // Enter (or a click in the accessibility layer) on a cell that is not edited opens its panel.
      onCellActivated={([col, row]) => props.onOpenCell(row, col)}
      onCellEdited={([col, row], value: EditableGridCell) => {
        if (value.kind === GridCellKind.Text) props.onEdit(row, col, value.data);
      }}
      keybindings={{ search: false }}
    />
  );
});

/**
 * What "run selection" targets: whole rows, whole columns, or the cells of the selected range.
 * Only computed cells run: raw cells (and raw columns) in a selection are left out, and a selection
 * of raw cells only is a target with nothing to run (`empty`), which the toolbar does not offer.
 */
export function targetOf(s: GridSelection, win: Pick<GridWindow, 'rowId' | 'cell'>, columns: Pick<Column, 'columnId' | 'taskType'>[]): GridTarget {
  const computed = (c: number) => Boolean(columns[c]) && columns[c]!.taskType !== 'raw';
  const rows = s.rows.toArray();
  if (rows.length) {
    const rowIds = rows.map((r) => win.rowId(r)).filter((x): x is string => Boolean(x));
    if (!rowIds.length) return null;
    const label = `${rowIds.length} row${rowIds.length > 1 ? 's' : ''}`;
    return columns.some((_, c) => computed(c)) ? { rowIds, label } : { label, empty: true };
  }
  const cols = s.columns.toArray();
  if (cols.length) {
    const columnIds = cols.filter(computed).map((c) => columns[c]!.columnId);
    if (!columnIds.length) return { label: `${cols.length} raw column${cols.length > 1 ? 's' : ''}`, empty: true };
    return { columnIds, label: `${columnIds.length} column${columnIds.length > 1 ? 's' : ''}` };
  }
  const range = s.current?.range;
  if (!range) return null;
  const cellIds: string[] = [];
  for (let c = range.x; c < range.x + range.width; c++) {
    if (!computed(c)) continue;
    for (let r = range.y; r < range.y + range.height && cellIds.length < 10_000; r++) {
      const cell = win.cell(r, c);
      if (cell?.cellId) cellIds.push(cell.cellId);
    }
  }
  if (cellIds.length) return { cellIds, label: `${cellIds.length} cell${cellIds.length > 1 ? 's' : ''}` };
  const n = range.width * range.height;
  return { label: `${n} raw cell${n > 1 ? 's' : ''}`, empty: true };
}
