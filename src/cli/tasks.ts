import type { Command } from 'commander';
import { unwrap, type Task } from '../../clients/typescript/index.ts';
import type { Output } from './output.ts';
import { connect, positiveInteger, withConnection, type ConnectionOptions } from './remote.ts';

/** `cellwise tasks list|show|cancel`. */
export function registerTaskCommands(program: Command) {
  const tasks = program.command('tasks').description('list, inspect and cancel the tasks of a dataset');

  withConnection(tasks.command('list').description('the tasks of a dataset, newest first').argument('<dataset>', 'dataset id'))
    .option('--page <n>', 'page number', positiveInteger, 1)
    .option('--limit <n>', 'tasks per page (at most 100)', positiveInteger, 20)
    .action(async (datasetId: string, opts: ConnectionOptions & { page: number; limit: number }) => {
      const { client, out } = await connect(opts);
      const page = unwrap(await client.api.GET('/api/v2/datasets/{datasetId}/tasks', { params: { path: { datasetId }, query: { page: opts.page, limit: opts.limit } } }));
      out.result(page, () => {
        if (!page.tasks.length) return out.line('No tasks.');
        out.table(['ID', 'TYPE', 'STATUS', 'DONE', 'FAILED', 'TOTAL', 'COST', 'CREATED'], page.tasks.map((t) => [t.taskId, t.type, t.status, t.progress.completed, t.progress.failed, t.progress.total, `$${t.usage.costUsd.toFixed(4)}`, t.createdAt]));
      });
    });

  withConnection(tasks.command('show').description('a task with its progress and usage').argument('<dataset>', 'dataset id').argument('<task>', 'task id')).action(async (datasetId: string, taskId: string, opts: ConnectionOptions) => {
    const { client, out } = await connect(opts);
    const task = unwrap(await client.api.GET('/api/v2/datasets/{datasetId}/tasks/{taskId}', { params: { path: { datasetId, taskId } } }));
    out.result(task, () => printTask(out, task));
  });

  withConnection(tasks.command('cancel').description('cancel a queued or processing task (finished cells keep their values)').argument('<dataset>', 'dataset id').argument('<task>', 'task id')).action(async (datasetId: string, taskId: string, opts: ConnectionOptions) => {
    const { client, out } = await connect(opts);
    const task = unwrap(await client.api.POST('/api/v2/datasets/{datasetId}/tasks/{taskId}/cancel', { params: { path: { datasetId, taskId } } }));
    out.result(task, () => printTask(out, task));
  });
}

function printTask(out: Output, t: Task) {
  const p = t.progress;
  out.line(`${out.bold(t.taskId)} ${t.type} ${t.status}: ${p.completed} done, ${p.failed} failed, ${p.skipped} skipped of ${p.total}`);
  out.line(`  ${t.usage.llmCalls} LLM calls (${t.usage.cachedCalls} cached), ${t.usage.inputTokens} input + ${t.usage.outputTokens} output tokens, $${t.usage.costUsd.toFixed(4)}`);
  out.line(`  created ${t.createdAt}${t.startedAt ? `, started ${t.startedAt}` : ''}${t.completedAt ? `, finished ${t.completedAt}` : ''}`);
  if (t.error) out.line(out.yellow(`  ${t.error}`));
}
