import { apiFetch, errorOf } from '../../api/client';

/** One cell as GET /data gives it (metadata only with includeMetadata=true). */
export type GridCellData = { cellId: string; value: unknown; status: string; metadata?: Record<string, unknown> };
/** A live `cell` event; `review` when the cell was just approved or rejected. */
export type CellUpdate = { cellId: string; rowId: string; columnId: string; status: string; value?: unknown; review?: 'approved' | 'rejected' };

/** Rows fetched per request: a few screens, well under the API's limit of 1000. */
export const BLOCK = 200;

/** Query parameters of a view (filter, sort, q or viewId), added to every block's request. */
export type ViewParams = Record<string, string>;

const blockUrl = (datasetId: string, b: number, view: ViewParams = {}) => `/api/v2/datasets/${encodeURIComponent(datasetId)}/data?${new URLSearchParams({ ...view, page: String(b + 1), limit: String(BLOCK), includeMetadata: 'true' })}`;

/** A GET /data answer, as far as the grid reads it. */
export type BlockBody = { columns: { columnId: string; name: string; taskType: string }[]; rowIds: string[]; data: GridCellData[][]; pagination: { total: number } };

async function fetchBlock(datasetId: string, b: number, view?: ViewParams): Promise<BlockBody> {
  const res = await apiFetch(blockUrl(datasetId, b, view));
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as BlockBody;
}

const early = new Map<string, Promise<BlockBody>>();

/**
 * A dataset's first rows, read while its description is still loading: they carry the columns
 * and the row count, so the grid can show cells before the (slower) description arrives. The
 * grid takes this answer once; later reads of block 0 go to the server again.
 */
export function firstBlock(datasetId: string): Promise<BlockBody> {
  let p = early.get(datasetId);
  if (!p) {
    p = fetchBlock(datasetId, 0);
    p.catch(() => early.delete(datasetId));
    early.set(datasetId, p);
  }
  return p;
}

type Block = { rowIds: string[]; cells: GridCellData[][] };

/**
 * The rows of a dataset that the grid has seen, fetched by blocks of GET /data as the visible
 * region moves. It knows nothing of React: the grid asks for cells and is told which rows to
 * repaint. Live cell updates are applied to loaded rows; others are read fresh when scrolled to.
 */
export class GridWindow {
  private blocks = new Map<number, Block>();
  private pending = new Map<number, Promise<void>>();
  private rowOf = new Map<string, number>();
  private generation = 0;
  error: unknown = null;
  /** The view's parameters: rows are those GET /data gives for them, in its order. */
  view: ViewParams = {};
  /** The number of rows the last answer counted (`pagination.total`), for the view's row count. */
  onTotal: (total: number) => void = () => undefined;

  constructor(
    readonly datasetId: string,
    /** Column ids in display order: index = grid column. */
    public columnIds: string[],
    public onRows: (first: number, count: number) => void,
    public onError: (e: unknown) => void,
  ) {}

  cell(row: number, col: number): GridCellData | undefined {
    return this.blocks.get(Math.floor(row / BLOCK))?.cells[row % BLOCK]?.[col];
  }
  rowId(row: number): string | undefined {
    return this.blocks.get(Math.floor(row / BLOCK))?.rowIds[row % BLOCK];
  }
  isLoaded(row: number): boolean {
    return this.blocks.has(Math.floor(row / BLOCK));
  }

  /** Fetches the blocks that rows [first, first + count) need and are not loaded yet. */
  ensure(first: number, count: number, rowCount: number): Promise<void> {
    const jobs: Promise<void>[] = [];
    const last = Math.min(rowCount, first + count) - 1;
    for (let b = Math.floor(Math.max(0, first) / BLOCK); b <= Math.floor(last / BLOCK); b++) {
      if (this.blocks.has(b)) continue;
      jobs.push(this.pending.get(b) ?? this.load(b));
    }
    return Promise.all(jobs).then(() => undefined);
  }

  private load(b: number): Promise<void> {
    const generation = this.generation;
    const unfiltered = Object.keys(this.view).length === 0;
    const prefetched = b === 0 && unfiltered ? early.get(this.datasetId) : undefined;
    if (unfiltered) early.delete(this.datasetId);
    const job = (async () => {
      try {
        const body = await (prefetched ?? fetchBlock(this.datasetId, b, this.view));
        if (generation !== this.generation) return;
        this.onTotal(body.pagination.total);
        // Reorder to the grid's columns (a column added meanwhile shows once the dataset reloads).
        const order = this.columnIds.map((id) => body.columns.findIndex((c) => c.columnId === id));
        const cells = body.data.map((r) => order.map((k) => (k >= 0 ? r[k]! : { cellId: '', value: null, status: 'empty' })));
        this.blocks.set(b, { rowIds: body.rowIds, cells });
        body.rowIds.forEach((id, i) => this.rowOf.set(id, b * BLOCK + i));
        this.error = null;
        this.onRows(b * BLOCK, body.rowIds.length);
      } catch (e) {
        if (generation === this.generation) {
          this.error = e;
          this.onError(e);
        }
      } finally {
        if (generation === this.generation) this.pending.delete(b);
      }
    })();
    this.pending.set(b, job);
    return job;
  }

  /** Applies live updates; returns the [col, row] pairs to repaint. */
  apply(updates: CellUpdate[]): [number, number][] {
    const damaged: [number, number][] = [];
    for (const u of updates) {
      const row = this.rowOf.get(u.rowId);
      if (row === undefined) continue;
      const col = this.columnIds.indexOf(u.columnId);
      const cell = this.cell(row, col);
      if (!cell) continue;
      cell.status = u.status;
      if ('value' in u) cell.value = u.value;
      // The full metadata (sources, confidence) is read when the cell is opened.
      if (cell.metadata && u.status !== 'done') cell.metadata = {};
      // A reviewed cell no longer needs review (the state the grid shows).
      else if (u.review) cell.metadata = { ...cell.metadata, needsReview: false, review: { decision: u.review } };
      damaged.push([col, row]);
    }
    return damaged;
  }

  /** Drops the block holding `row`, so the next paint reads it again (after an edit). */
  refreshRow(row: number, rowCount: number): Promise<void> {
    const b = Math.floor(row / BLOCK);
    this.blocks.delete(b);
    return this.ensure(b * BLOCK, BLOCK, rowCount);
  }

  /** Row index of a loaded row, by id. */
  rowIndex(rowId: string): number | undefined {
    return this.rowOf.get(rowId);
  }

  /** Forgets everything (columns changed, rows added or deleted, another view). */
  reset(columnIds: string[], view: ViewParams = this.view) {
    this.generation++;
    this.columnIds = columnIds;
    this.view = view;
    this.blocks.clear();
    this.pending.clear();
    this.rowOf.clear();
  }
}
