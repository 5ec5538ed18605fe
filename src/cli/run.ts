import type { Command } from 'commander';
import { FINISHED_TASK_STATUSES, unwrap, type BulkTaskInput, type CellwiseClient, type Task, type TaskEstimate } from '../../clients/typescript/index.ts';
import { bar, formatDuration, UsageError, type Output } from './output.ts';
import { connect, positiveNumber, withConnection, type ConnectionOptions } from './remote.ts';

/** Exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it). */
export const INTERRUPTED_EXIT = 130;
const POLL_MS = 1000;

type RunOptions = ConnectionOptions & { columns?: string[]; onlyEmpty?: boolean; estimate?: boolean; maxCost?: number; yes?: boolean };

/** `cellwise run DATASET`: the estimate, then a bulk task with a live progress bar; Ctrl-C asks, then cancels. */
export function registerRunCommand(program: Command) {
  withConnection(
    program
      .command('run')
      .description('estimate, then process the computed cells of a dataset with live progress (Ctrl-C asks, then cancels the task)')
      .argument('<dataset>', 'dataset id')
      .option('--columns <columns...>', 'only these columns (ids or names); default: every computed column')
      .option('--only-empty', 'skip cells that already have a value')
      .option('--estimate', 'print the estimate (cells, LLM calls, cost) and stop')
      .option('--max-cost <usd>', 'stop before the task\'s LLM spend would exceed this many US dollars', positiveNumber)
      .option('-y, --yes', 'start without asking (a terminal asks after the estimate)'),
  ).action(async (datasetId: string, opts: RunOptions) => {
    const { client, out } = await connect(opts);
    const input = await bulkInput(client, datasetId, opts);
    const estimate = unwrap(await client.api.POST('/api/v2/datasets/{datasetId}/tasks/estimate', { params: { path: { datasetId } }, body: input }));
    if (opts.estimate) return out.result(estimate, () => printEstimate(out, estimate));
    printEstimate(out, estimate);
    if (!opts.yes && out.interactive && !(await out.confirm('Run it?'))) {
      out.line('Not started.');
      return;
    }
    const task = await follow(client, out, datasetId, input);
    out.result({ estimate, task }, () => printOutcome(out, task));
    if (task.status !== 'completed') process.exitCode ??= 1;
  });
}

async function bulkInput(client: CellwiseClient, datasetId: string, opts: RunOptions): Promise<BulkTaskInput> {
  const input: BulkTaskInput = {};
  if (opts.columns?.length) {
    const ds = unwrap(await client.api.GET('/api/v2/datasets/{datasetId}', { params: { path: { datasetId } } }));
    input.columnIds = opts.columns.flatMap((c) => c.split(',')).filter(Boolean).map((ref) => {
      const col = ds.columns.find((x) => x.columnId === ref) ?? ds.columns.find((x) => x.name === ref);
      if (!col) throw new UsageError(`No column "${ref}" in ${datasetId} (columns: ${ds.columns.map((x) => x.name).join(', ')})`);
      return col.columnId;
    });
  }
  if (opts.onlyEmpty) input.processOnlyEmpty = true;
  if (opts.maxCost !== undefined) input.maxCostUsd = opts.maxCost;
  return input;
}

function printEstimate(out: Output, e: TaskEstimate) {
  out.line(`Estimate: ${e.cells} cells, ${e.llmCalls} LLM calls (${e.expectedCacheHits} from cache), ~${e.inputTokens} input + ${e.outputTokens} output tokens, ${out.bold(`$${e.costUsd.toFixed(4)}`)}`);
}

/**
 * Starts the task and follows it to the end: live events (SSE) redraw the bar as cells finish, and
 * a poll each second catches what events cannot say (usage, a task run by a separate worker).
 * SIGINT asks on a terminal, else cancels at once; a second Ctrl-C while asking cancels.
 */
async function follow(client: CellwiseClient, out: Output, datasetId: string, input: BulkTaskInput): Promise<Task> {
  const stopEvents = new AbortController();
  let wake: (() => void) | undefined;
  const nudge = () => wake?.();
  // Subscribe before starting so no early progress is missed.
  const events = client.events(datasetId, { signal: stopEvents.signal });
  const first = events.next();
  let task = await client.run(datasetId, input);
  let progress = task.progress;
  void (async () => {
    try {
      for (let e = await first; !e.done; e = await events.next()) {
        if (e.value.event === 'task' && e.value.data.taskId === task.taskId && e.value.data.progress) progress = e.value.data.progress;
        nudge();
      }
    } catch {
      // Live events are a nicety: the poll carries on without them.
    }
  })();

  const started = performance.now();
  let interrupted: 'asking' | 'cancel' | undefined;
  const onSigint = () => {
    if (interrupted === 'asking') return; // the question's own Ctrl-C handling answers it
    if (!out.interactive) interrupted = 'cancel';
    else {
      interrupted = 'asking';
      void out.confirm(`Cancel task ${task.taskId}?`, { interruptAnswer: true }).then((yes) => {
        interrupted = yes ? 'cancel' : undefined;
        nudge();
      });
    }
    nudge();
  };
  process.on('SIGINT', onSigint);
  try {
    for (;;) {
      if (interrupted === 'cancel') {
        task = unwrap(await client.api.POST('/api/v2/datasets/{datasetId}/tasks/{taskId}/cancel', { params: { path: { datasetId, taskId: task.taskId } } }));
        out.endProgress();
        out.note(`Cancelled ${task.taskId}: ${task.progress.completed} of ${task.progress.total} cells done.`);
        process.exitCode = INTERRUPTED_EXIT;
        return task;
      }
      if (interrupted !== 'asking') render(out, task, progress, started);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (interrupted) continue;
      task = unwrap(await client.api.GET('/api/v2/datasets/{datasetId}/tasks/{taskId}', { params: { path: { datasetId, taskId: task.taskId } } }));
      if (sum(task.progress) >= sum(progress)) progress = task.progress;
      if (FINISHED_TASK_STATUSES.includes(task.status)) break;
    }
    out.endProgress();
    return task;
  } finally {
    process.off('SIGINT', onSigint);
    stopEvents.abort();
  }
}

const sum = (p: Task['progress']) => p.completed + p.failed + p.skipped;

function render(out: Output, task: Task, progress: Task['progress'], started: number) {
  const done = sum(progress);
  const seconds = (performance.now() - started) / 1000;
  const rate = done / Math.max(seconds, 0.001);
  const eta = rate > 0 ? formatDuration((progress.total - done) / rate) : '?';
  const failed = progress.failed ? out.red(`  ${progress.failed} failed`) : '';
  out.progress(`${task.taskId} ${bar(progress.total ? done / progress.total : 0)} ${done}/${progress.total}  ${rate.toFixed(1)} cells/s  ETA ${eta}  $${task.usage.costUsd.toFixed(4)}${failed}`);
}

function printOutcome(out: Output, task: Task) {
  const p = task.progress;
  const took = task.startedAt && task.completedAt ? (Date.parse(task.completedAt) - Date.parse(task.startedAt)) / 1000 : null;
  const colour = task.status === 'completed' ? out.green : out.red;
  out.line(`${colour(`${task.status[0]!.toUpperCase()}${task.status.slice(1)}`)} ${task.taskId}: ${p.completed} done, ${p.failed} failed, ${p.skipped} skipped${took !== null ? ` in ${formatDuration(took)}` : ''}; ${task.usage.llmCalls} LLM calls (${task.usage.cachedCalls} cached), $${task.usage.costUsd.toFixed(4)}`);
  if (task.error) out.line(out.yellow(task.error));
}
