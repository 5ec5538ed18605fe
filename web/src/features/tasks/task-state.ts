import type { Task } from '../../api/client';

/** What the dataset page shows of its running (or last) task. */
export type ShownTask = Pick<Task, 'taskId' | 'status' | 'progress'> & { error?: string | null };

const stage = (s: Task['status']) => (s === 'queued' ? 0 : s === 'processing' ? 1 : 2);
const done = (t: ShownTask) => t.progress.completed + t.progress.failed + t.progress.skipped;

/**
 * The task state to show after `next` arrives. The answers reach the page by three roads (the
 * POST that started the task, a GET of it, the event stream) and in any order: a POST answer
 * that arrives after the stream said "completed" must not put the task back to "queued". For the
 * same task, a state never goes back: not to an earlier stage, nor to fewer finished cells.
 */
export function nextTask(old: ShownTask | null, next: ShownTask): ShownTask {
  if (!old || old.taskId !== next.taskId) return next;
  const merged = { ...old, ...next };
  if (stage(old.status) > stage(next.status)) return { ...merged, status: old.status, progress: old.progress, error: old.error ?? next.error ?? null };
  if (stage(old.status) === stage(next.status) && done(old) > done(next)) return { ...merged, progress: old.progress };
  return merged;
}
