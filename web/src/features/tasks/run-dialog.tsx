import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap, type DatasetDetail, type Task } from '../../api/client';
import { Dialog } from '../../ui/dialog';
import { ErrorText, Loading } from '../../ui/states';
import type { GridTarget } from '../grid/grid-view';

const money = (n: number) => `$${n < 0.01 && n > 0 ? n.toFixed(4) : n.toFixed(2)}`;

/**
 * Run: the estimate comes first (cells, LLM calls, expected cache hits, cost); the task starts
 * only when confirmed, with an optional budget.
 */
export function RunDialog({ dataset, target, onClose, onStarted }: { dataset: DatasetDetail; target: GridTarget; onClose(): void; onStarted(t: Task): void }) {
  const [scope, setScope] = useState<'all' | 'selection'>(target && !target.empty ? 'selection' : 'all');
  const [onlyEmpty, setOnlyEmpty] = useState(true);
  const [budget, setBudget] = useState('');
  const body = {
    ...(scope === 'selection' && target ? { ...(target.cellIds ? { cellIds: target.cellIds } : {}), ...(target.rowIds ? { rowIds: target.rowIds } : {}), ...(target.columnIds ? { columnIds: target.columnIds } : {}), processOnlyEmpty: onlyEmpty } : {}),
  };
  const params = { path: { datasetId: dataset.datasetId } };
  const estimate = useQuery({
    queryKey: ['estimate', dataset.datasetId, body],
    queryFn: () => unwrap(api.POST('/api/v2/datasets/{datasetId}/tasks/estimate', { params, body })),
    staleTime: 0,
  });
  const run = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v2/datasets/{datasetId}/tasks/bulk', { params, body: { ...body, ...(Number(budget) > 0 ? { maxCostUsd: Number(budget) } : {}) } })),
    onSuccess: (t) => {
      onStarted(t);
      onClose();
    },
  });
  return (
    <Dialog title="Run cells" onClose={onClose}>
      <fieldset>
        <legend>Which cells</legend>
        <label className="check">
          <input type="radio" name="scope" checked={scope === 'all'} onChange={() => setScope('all')} /> Every empty or stale cell of the computed columns
        </label>
        <label className="check">
          <input type="radio" name="scope" checked={scope === 'selection'} disabled={!target || target.empty} onChange={() => setScope('selection')} /> The selection
          {!target ? ' (select cells, rows or columns in the grid)' : target.empty ? ` (${target.label}: nothing to run, raw cells are not computed)` : ` (${target.label})`}
        </label>
        {scope === 'selection' && (
          <label className="check">
            <input type="checkbox" checked={onlyEmpty} onChange={(e) => setOnlyEmpty(e.target.checked)} /> Only empty cells (keep values already there)
          </label>
        )}
      </fieldset>
      <section aria-label="Estimate" className="estimate">
        <h3>Estimate</h3>
        {estimate.isPending ? (
          <Loading label="Estimating…" />
        ) : estimate.isError ? (
          <ErrorText error={estimate.error} />
        ) : (
          <dl className="facts">
            <dt>Cells</dt>
            <dd data-testid="estimate-cells">{estimate.data.cells.toLocaleString()}</dd>
            <dt>LLM calls</dt>
            <dd>{estimate.data.llmCalls.toLocaleString()}</dd>
            <dt>Cache hits expected</dt>
            <dd>{estimate.data.expectedCacheHits.toLocaleString()}</dd>
            <dt>Tokens (in / out)</dt>
            <dd>
              {estimate.data.inputTokens.toLocaleString()} / {estimate.data.outputTokens.toLocaleString()}
            </dd>
            <dt>Cost</dt>
            <dd>{money(estimate.data.costUsd)}</dd>
          </dl>
        )}
      </section>
      <label htmlFor="budget">Budget in USD (optional: the task stops before exceeding it)</label>
      <input id="budget" type="number" min="0" step="0.01" value={budget} onChange={(e) => setBudget(e.target.value)} />
      <ErrorText error={run.error} />
      <div className="actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="primary" disabled={!estimate.isSuccess || estimate.data.cells === 0 || run.isPending} onClick={() => run.mutate()}>
          {estimate.isSuccess ? `Run ${estimate.data.cells.toLocaleString()} cells` : 'Run'}
        </button>
      </div>
    </Dialog>
  );
}

export function NewRowsDialog({ dataset, onClose, onStarted }: { dataset: DatasetDetail; onClose(): void; onStarted(t: Task): void }) {
  const [count, setCount] = useState('10');
  const run = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v2/datasets/{datasetId}/tasks/new-rows', { params: { path: { datasetId: dataset.datasetId } }, body: { rowCount: Number(count) } })),
    onSuccess: (t) => {
      onStarted(t);
      onClose();
    },
  });
  const issue = run.error && 'issues' in run.error ? (run.error as { issues(): { path: string; message: string }[] }).issues().find((i) => i.path === 'rowCount') : undefined;
  return (
    <Dialog title="Generate new rows" onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); run.mutate(); }}>
        <p className="muted">New rows follow the pattern of the raw columns and their examples; their computed cells are then processed.</p>
        <label htmlFor="new-rows-count">How many rows (1 to 10,000)</label>
        <input id="new-rows-count" type="number" min="1" max="10000" value={count} onChange={(e) => setCount(e.target.value)} aria-invalid={issue ? true : undefined} />
        {issue ? <p className="field-error">{issue.message}</p> : <ErrorText error={run.error} />}
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={run.isPending}>
            Generate {Number(count) > 0 ? Number(count).toLocaleString() : ''} rows
          </button>
        </div>
      </form>
    </Dialog>
  );
}
