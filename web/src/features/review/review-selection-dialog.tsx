import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import type { DatasetDetail } from '../../api/client';
import { Dialog } from '../../ui/dialog';
import { ErrorText } from '../../ui/states';
import type { GridTarget } from '../grid/grid-view';
import { reviewSelection } from '../views/views-api';

/**
 * The bulk form: approve or reject the computed cells of the grid's selection at once (cells,
 * whole rows or whole columns). Cells without a value are skipped by the server, and counted.
 */
export function ReviewSelectionDialog({ dataset, target, onClose, onDone }: { dataset: DatasetDetail; target: NonNullable<GridTarget>; onClose(): void; onDone(): void }) {
  const [decision, setDecision] = useState<'approved' | 'rejected'>('approved');
  const [note, setNote] = useState('');
  const run = useMutation({
    mutationFn: () =>
      reviewSelection(dataset.datasetId, {
        decision,
        ...(note.trim() ? { note: note.trim() } : {}),
        ...(target.cellIds ? { cellIds: target.cellIds } : {}),
        ...(target.rowIds ? { rowIds: target.rowIds } : {}),
        ...(target.columnIds ? { columnIds: target.columnIds } : {}),
      }),
    onSuccess: onDone,
  });
  return (
    <Dialog title="Review the selection" onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); run.mutate(); }}>
        <p className="muted">The computed cells of {target.label} that have a value.</p>
        <fieldset className="inline">
          <legend>Decision</legend>
          <label className="check">
            <input type="radio" name="decision" checked={decision === 'approved'} onChange={() => setDecision('approved')} /> Approve
          </label>
          <label className="check">
            <input type="radio" name="decision" checked={decision === 'rejected'} onChange={() => setDecision('rejected')} /> Reject (the cells turn stale; the next run gets the note)
          </label>
        </fieldset>
        <label htmlFor="bulk-note">Note (optional)</label>
        <textarea id="bulk-note" rows={2} value={note} onChange={(e) => setNote(e.target.value)} />
        <ErrorText error={run.error} />
        {run.isSuccess && (
          <p role="status">
            {run.data.reviewed.toLocaleString()} cells {run.data.decision}
            {run.data.skipped ? `, ${run.data.skipped.toLocaleString()} without a value skipped` : ''}.
          </p>
        )}
        <div className="actions">
          <button type="button" onClick={onClose}>
            {run.isSuccess ? 'Close' : 'Cancel'}
          </button>
          <button type="submit" className={decision === 'rejected' ? 'danger' : 'primary'} disabled={run.isPending || run.isSuccess}>
            {decision === 'approved' ? 'Approve' : 'Reject'} {target.label}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
