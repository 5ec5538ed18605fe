import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap, type DatasetDetail, type Schemas } from '../../api/client';
import { Dialog } from '../../ui/dialog';
import { ErrorText } from '../../ui/states';
import type { ViewState } from '../views/view-state';

/** The view on screen: its state, what GET /data is asked for it, its saved name and row count. */
export type ExportView = { state: ViewState; params: Record<string, string>; name?: string; total?: number };

/** A view's GET /data parameters as the export body takes them (the filter as JSON, not text). */
export function exportViewBody(params: Record<string, string>): Pick<Schemas['ExportInput'], 'filter' | 'sort' | 'q' | 'viewId'> {
  return {
    ...(params.viewId ? { viewId: params.viewId } : {}),
    ...(params.filter ? { filter: JSON.parse(params.filter) as Schemas['ViewFilter'] } : {}),
    ...(params.sort ? { sort: params.sort } : {}),
    ...(params.q ? { q: params.q } : {}),
  };
}

/** Export: format, columns, rows and metadata; the file is made on the server, then downloaded. */
export function ExportDialog({ dataset, view, onClose }: { dataset: DatasetDetail; view?: ExportView; onClose(): void }) {
  const all = dataset.columns.map((c) => c.columnId);
  const [format, setFormat] = useState<'csv' | 'json' | 'xlsx'>('csv');
  const [scope, setScope] = useState<'view' | 'all'>(view ? 'view' : 'all');
  const viewColumns = view?.state.columns ?? all;
  const [columns, setColumns] = useState<string[]>(scope === 'view' ? viewColumns : all);
  const [skip, setSkip] = useState('0');
  const rowsOf = (s: 'view' | 'all') => String(Math.min(Math.max(s === 'view' && view?.total !== undefined ? view.total : dataset.rowCount, 1), 100_000));
  const [rowCount, setRowCount] = useState(rowsOf(scope));
  const chooseScope = (s: 'view' | 'all') => {
    setScope(s);
    setColumns(s === 'view' ? viewColumns : all);
    setRowCount(rowsOf(s));
  };
  const [includeMetadata, setIncludeMetadata] = useState(false);
  const run = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/v2/datasets/{datasetId}/export', {
          params: { path: { datasetId: dataset.datasetId } },
          body: {
            format,
            rowCount: Number(rowCount),
            skip: Number(skip),
            includeMetadata,
            expiresIn: 3600,
            ...(columns.length !== dataset.columns.length ? { columnIds: columns } : {}),
            ...(scope === 'view' && view ? exportViewBody(view.params) : {}),
          },
        }),
      ),
    onSuccess: (e) => {
      // The signed link needs no key; the answer is an attachment, so the page stays.
      const a = document.createElement('a');
      a.href = e.downloadUrl;
      a.download = e.fileName;
      a.rel = 'noopener noreferrer';
      document.body.append(a);
      a.click();
      a.remove();
    },
  });
  const issues = run.error && 'issues' in run.error ? (run.error as { issues(): { path: string; message: string }[] }).issues() : [];
  const issue = (k: string) => issues.find((i) => i.path === k)?.message;
  return (
    <Dialog title="Export" onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); run.mutate(); }}>
        {view && (
          <fieldset>
            <legend>Rows</legend>
            <label className="check">
              <input type="radio" name="scope" checked={scope === 'view'} onChange={() => chooseScope('view')} /> {view.name ? `The view “${view.name}”` : 'The current view'}
              {view.total !== undefined ? ` (${view.total.toLocaleString()} rows)` : ''}: its filter, sort, search and columns
            </label>
            <label className="check">
              <input type="radio" name="scope" checked={scope === 'all'} onChange={() => chooseScope('all')} /> Every row ({dataset.rowCount.toLocaleString()})
            </label>
          </fieldset>
        )}
        <fieldset className="inline">
          <legend>Format</legend>
          {(['csv', 'json', 'xlsx'] as const).map((f) => (
            <label key={f} className="check">
              <input type="radio" name="format" checked={format === f} onChange={() => setFormat(f)} /> {f.toUpperCase()}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Columns</legend>
          <div className="column-checks">
            {dataset.columns.map((c) => (
              <label key={c.columnId} className="check">
                <input type="checkbox" checked={columns.includes(c.columnId)} onChange={(e) => setColumns((old) => (e.target.checked ? dataset.columns.map((x) => x.columnId).filter((id) => id === c.columnId || old.includes(id)) : old.filter((id) => id !== c.columnId)))} /> {c.name}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="inline">
          <div className="field">
            <label htmlFor="export-skip">Skip rows</label>
            <input id="export-skip" type="number" min="0" value={skip} onChange={(e) => setSkip(e.target.value)} />
            {issue('skip') && <p className="field-error">{issue('skip')}</p>}
          </div>
          <div className="field">
            <label htmlFor="export-rows">Rows</label>
            <input id="export-rows" type="number" min="1" max="100000" value={rowCount} onChange={(e) => setRowCount(e.target.value)} />
            {issue('rowCount') && <p className="field-error">{issue('rowCount')}</p>}
          </div>
        </div>
        <label className="check">
          <input type="checkbox" checked={includeMetadata} onChange={(e) => setIncludeMetadata(e.target.checked)} /> Include metadata (confidence, sources, …)
        </label>
        {!issues.length && <ErrorText error={run.error} />}
        {run.isSuccess && (
          <p role="status">
            {run.data.fileName}: {run.data.rowCount.toLocaleString()} rows, {(run.data.sizeBytes / 1024).toFixed(1)} KB. The download has started; the link works until {new Date(run.data.expiresAt).toLocaleTimeString()}.
          </p>
        )}
        <div className="actions">
          <button type="button" onClick={onClose}>
            Close
          </button>
          <button type="submit" className="primary" disabled={run.isPending || columns.length === 0}>
            {run.isPending ? 'Exporting…' : 'Export and download'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
