import { useMutation } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import { ErrorText } from '../../ui/states';
import type { ShownTask } from './task-state';

/** The progress bar of the running (or last) task, with cancel. */
export function TaskProgress({ datasetId, task, onDismiss }: { datasetId: string; task: ShownTask; onDismiss(): void }) {
  const cancel = useMutation({ mutationFn: () => unwrap(api.POST('/api/v2/datasets/{datasetId}/tasks/{taskId}/cancel', { params: { path: { datasetId, taskId: task.taskId } } })) });
  const { total, completed, failed, skipped } = task.progress;
  const finished = completed + failed + skipped;
  const running = task.status === 'queued' || task.status === 'processing';
  return (
    <div className={`task-progress ${task.status}`}>
      <label htmlFor="task-bar">
        Task {task.status}: {finished.toLocaleString()} of {total.toLocaleString()} cells
        {failed ? `, ${failed.toLocaleString()} failed` : ''}
        {skipped ? `, ${skipped.toLocaleString()} skipped` : ''}
        {task.error ? ` (${task.error})` : ''}
      </label>
      <progress id="task-bar" max={Math.max(total, 1)} value={finished} />
      {running ? (
        <button type="button" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
          Cancel
        </button>
      ) : (
        <button type="button" className="link" onClick={onDismiss}>
          Dismiss
        </button>
      )}
      <ErrorText error={cancel.error} />
    </div>
  );
}
