import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import { api, apiFetch, errorOf, unwrap, type Column, type DatasetDetail } from '../../api/client';
import { ErrorText, Loading } from '../../ui/states';
import { valueText } from '../grid/cell-style';
import type { GridCellData } from '../grid/grid-window';
import { parseTyped } from '../grid/dataset-page';
import { Sources } from './sources';

type Props = {
  dataset: DatasetDetail;
  row: number;
  column: Column;
  cell: GridCellData | undefined;
  rowId: string | undefined;
  /** The view's GET /data parameters: `row` is a position in its rows. */
  view?: Record<string, string>;
  readOnly: boolean;
  initialDraft?: string;
  initialError?: unknown;
  onClose(): void;
  onSaved(): Promise<void>;
};

/**
 * One cell in full: its value (JSON pretty-printed), status, confidence, sources and the facts of
 * how it was made. Everything from the source is shown as text. Raw cells are edited here too.
 */
export function CellPanel({ dataset, row, column, cell, rowId, view = {}, readOnly, initialDraft, initialError, onClose, onSaved }: Props) {
  const client = useQueryClient();
  // The full metadata of this one cell: GET /data for its row (in the view's order) and column.
  // A row that left the view since (an edit, a review) is not that page's row: the grid's copy
  // of the cell is shown then.
  const detail = useQuery({
    queryKey: ['cell', dataset.datasetId, row, column.columnId, rowId, JSON.stringify(view), cell?.status, JSON.stringify(cell?.value ?? null)],
    queryFn: async () => {
      const res = await unwrap(api.GET('/api/v2/datasets/{datasetId}/data', { params: { path: { datasetId: dataset.datasetId }, query: { ...view, page: row + 1, limit: 1, columns: column.columnId, includeMetadata: 'true' } as never } }));
      if (rowId && res.rowIds[0] !== rowId) return cell ?? null;
      return (res.data[0]?.[0] as (GridCellData & { metadata?: Record<string, unknown> }) | undefined) ?? null;
    },
  });
  const c = detail.data ?? cell;
  const raw = column.taskType === 'raw';
  const [draft, setDraft] = useState<string | null>(initialDraft ?? null);
  // After a save, a link or an upload: the grid's row is read again, then this cell.
  const saved = async () => {
    setDraft(null);
    await onSaved();
    await client.invalidateQueries({ queryKey: ['cell', dataset.datasetId, row] });
  };
  const save = useMutation({
    mutationFn: (value: unknown) => unwrap(api.PATCH('/api/v2/datasets/{datasetId}/cells/{cellId}', { params: { path: { datasetId: dataset.datasetId, cellId: c!.cellId } }, body: { value } })),
    onSuccess: saved,
  });
  const m = (c?.metadata ?? {}) as Record<string, unknown>;
  const err = m.error as { code?: string; message?: string; retryable?: boolean } | undefined;
  const review = m.review as { decision?: string; note?: unknown; at?: unknown } | undefined;
  const usage = m.usage as { inputTokens?: number; outputTokens?: number; input?: number; output?: number } | undefined;
  const inputs = m.inputs as { columnId: string; cellId?: string }[] | undefined;
  const pretty = c && c.value !== null && typeof c.value === 'object' ? JSON.stringify(c.value, null, 2) : valueText(c?.value);
  const isDoc = c?.value && typeof c.value === 'object' && 'datasourceId' in (c.value as object);
  return (
    <aside className="side-panel" aria-label={`Cell ${column.name}, row ${row + 1}`}>
      <header className="panel-head">
        <h2>
          {column.name} · row {row + 1}
        </h2>
        <button type="button" className="icon" aria-label="Close panel" onClick={onClose}>
          ×
        </button>
      </header>
      {!c ? (
        detail.isError ? <ErrorText error={detail.error} /> : <Loading />
      ) : (
        <>
          <dl className="facts">
            <dt>Status</dt>
            <dd>
              <span className={`badge cell-${c.status}`}>{c.status}</span>
              {m.needsReview === true && <span className="badge needs-review">needs review</span>}
            </dd>
            {review && (review.decision === 'approved' || review.decision === 'rejected') && (
              <>
                <dt>Review</dt>
                <dd data-testid="cell-review">
                  <span className={`badge review-${review.decision}`}>{review.decision}</span>
                  {typeof review.at === 'string' ? ` ${new Date(review.at).toLocaleString()}` : ''}
                  {typeof review.note === 'string' && review.note ? <blockquote>{review.note}</blockquote> : null}
                </dd>
              </>
            )}
            {typeof m.confidence === 'number' && (
              <>
                <dt>Confidence</dt>
                <dd>
                  {Math.round(m.confidence * 100)}%{typeof m.confidenceSource === 'string' ? ` (${m.confidenceSource})` : ''}
                </dd>
              </>
            )}
          </dl>
          <h3>Value</h3>
          {raw && !readOnly ? (
            <form
              onSubmit={(e) => {
                e.preventDefault();
                save.mutate(parseTyped(draft ?? pretty, c.value));
              }}
            >
              <label htmlFor="cell-value" className="sr-only">
                Value
              </label>
              <textarea id="cell-value" className="mono" rows={4} value={draft ?? pretty} onChange={(e) => setDraft(e.target.value)} />
              <ErrorText error={save.error ?? (draft !== null ? initialError : null)} />
              <div className="actions">
                <button type="submit" className="primary" disabled={save.isPending || draft === null}>
                  Save value
                </button>
              </div>
            </form>
          ) : (
            <pre className="value" data-testid="cell-value">{pretty || '(empty)'}</pre>
          )}
          {raw && isDoc ? <p className="muted small">Document: {String((c.value as { fileName?: unknown }).fileName ?? '')}</p> : null}
          {raw && dataset.type === 'extraction' && !readOnly && <LinkDocument datasetId={dataset.datasetId} cellId={c.cellId} onSaved={saved} />}
          {err && (
            <>
              <h3>Error</h3>
              <p className="error-text">
                <code className="code">{err.code}</code> {err.message}
                {err.retryable ? ' (retryable)' : ''}
              </p>
            </>
          )}
          <Sources sources={m.sources} metadata={m} />
          {/* the heading only over facts that show: fact() hides null, and an empty inputs list shows nothing */}
          {['model', 'usage', 'costUsd', 'cached', 'attempts', 'taskId', 'processedAt', 'inputs'].some((k) => m[k] != null && m[k] !== '' && !(Array.isArray(m[k]) && m[k].length === 0)) && <h3>How it was made</h3>}
          <dl className="facts">
            {fact('Model', m.model)}
            {usage && fact('Tokens (in / out)', `${usage.inputTokens ?? usage.input ?? 0} / ${usage.outputTokens ?? usage.output ?? 0}`)}
            {typeof m.costUsd === 'number' && fact('Cost', `$${m.costUsd.toFixed(6)}`)}
            {m.cached !== undefined && fact('Cached', m.cached ? `yes${typeof m.cachedFrom === 'string' ? ` (paid by ${m.cachedFrom})` : ''}` : 'no')}
            {fact('Attempts', m.attempts)}
            {fact('Task', m.taskId)}
            {fact('Processed', typeof m.processedAt === 'string' ? new Date(m.processedAt).toLocaleString() : undefined)}
            {inputs?.length ? fact('Inputs', inputs.map((i) => dataset.columns.find((x) => x.columnId === i.columnId)?.name ?? i.columnId).join(', ')) : null}
          </dl>
        </>
      )}
    </aside>
  );
}

function fact(label: string, value: unknown) {
  if (value === undefined || value === null || value === '') return null;
  return (
    <>
      <dt>{label}</dt>
      <dd>{typeof value === 'object' ? JSON.stringify(value) : String(value)}</dd>
    </>
  );
}

/** Raw cells of extraction datasets: link an uploaded datasource, or upload a document into the cell. */
function LinkDocument({ datasetId, cellId, onSaved }: { datasetId: string; cellId: string; onSaved(): Promise<void> }) {
  const file = useRef<HTMLInputElement>(null);
  const [choice, setChoice] = useState('');
  const sources = useQuery({ queryKey: ['datasources', 'pick'], queryFn: () => unwrap(api.GET('/api/v2/datasources', { params: { query: { limit: 100, status: 'completed' } as never } })) });
  const link = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v2/datasets/{datasetId}/cells/{cellId}/link-datasource', { params: { path: { datasetId, cellId } }, body: { datasourceId: choice } })),
    onSuccess: onSaved,
  });
  const upload = useMutation({
    mutationFn: async (f: File) => {
      const form = new FormData();
      form.append('file', f);
      const res = await apiFetch(`/api/v2/datasets/${encodeURIComponent(datasetId)}/cells/${encodeURIComponent(cellId)}/upload-datasource`, { method: 'POST', body: form });
      if (!res.ok) throw await errorOf(res);
    },
    onSuccess: onSaved,
  });
  return (
    <div className="link-document">
      <label htmlFor="link-ds">Link a document</label>
      <div className="inline">
        <select id="link-ds" value={choice} onChange={(e) => setChoice(e.target.value)}>
          <option value="">Choose…</option>
          {sources.data?.dataSources.map((s) => (
            <option key={s.datasourceId} value={s.datasourceId}>
              {s.fileName}
            </option>
          ))}
        </select>
        <button type="button" disabled={!choice || link.isPending} onClick={() => link.mutate()}>
          Link
        </button>
        <input ref={file} type="file" className="sr-only" aria-label="Upload a document into this cell" tabIndex={-1} onChange={(e) => { const f = e.target.files?.[0]; if (f) upload.mutate(f); e.target.value = ''; }} />
        <button type="button" onClick={() => file.current?.click()} disabled={upload.isPending}>
          Upload…
        </button>
      </div>
      <ErrorText error={link.error ?? upload.error} />
    </div>
  );
}
