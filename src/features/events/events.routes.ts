import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { EventBus } from '../../events.ts';
import { ERROR_RESPONSES } from '../../http/common.schema.ts';
import type { App } from '../../http/env.ts';
import type { DatasetAccess } from '../datasets/dataset-access.ts';
import type { Auth } from '../keys/keys.service.ts';
import { createEventLog, type LoggedEvent } from './event-log.ts';

const HEARTBEAT_MS = 15_000;

/** What the snapshot needs from the tasks feature: the newest task (the active one while a task runs), with live progress. */
export type LatestTask = (auth: Auth, datasetId: string) => Promise<Record<string, unknown> | null>;

/**
 * Live progress: `GET /datasets/{id}/events` streams `cell`, `rows` and `task` changes of one
 * dataset as Server-Sent Events (shapes in docs/api-events.md), with a comment every 15 s so
 * proxies keep the connection open. Every event has an id. A new connection starts with a
 * `snapshot` (the dataset's status and its active or last task with progress); a reconnection
 * with `Last-Event-ID` gets the events it missed from the replay buffer instead, or a fresh
 * snapshot when they are no longer all there. The listener goes away with the client.
 */
export function registerEventRoutes(app: App, { access, live, latestTask }: { access: DatasetAccess; live: EventBus; latestTask: LatestTask }): { closeAll(): void } {
  const log = createEventLog(live);
  // Open streams keep server.close() waiting; shutdown ends them.
  const open = new Set<() => void>();
  const route = createRoute({
    operationId: 'streamDatasetEvents',
    method: 'get',
    path: '/api/v2/datasets/{datasetId}/events',
    tags: ['Tasks'],
    summary: 'Server-Sent Events of cell and task changes (live progress)',
    description: 'Starts with `event: snapshot` {dataset, task}; then `event: cell` {cellId, rowId, columnId, status, value}, `event: rows` {taskId, rowIds}, `event: task` {taskId, status, progress, usage?, error?}. Send `Last-Event-ID` to resume.',
    request: { params: z.object({ datasetId: z.string() }), headers: z.object({ 'last-event-id': z.string().optional() }) },
    responses: { 200: { description: 'An event stream (see docs/api-events.md)', content: { 'text/event-stream': { schema: z.string() } } }, ...ERROR_RESPONSES },
  });
  app.openAPIRegistry.registerPath(route);
  app.get('/api/v2/datasets/:datasetId/events', async (c) => {
    const auth = c.get('auth');
    const dataset = await access.get(auth, c.req.param('datasetId'));
    const lastEventId = c.req.header('last-event-id');
    return streamSSE(c, async (stream) => {
      const queue: LoggedEvent[] = [];
      let notify: (() => void) | undefined;
      let closed = false;
      // Subscribed before the snapshot is read: nothing that happens meanwhile is lost.
      const off = log.subscribe((e) => {
        if (e.event.workspaceId !== dataset.workspaceId || e.event.data.datasetId !== dataset.id) return;
        queue.push(e);
        notify?.();
      });
      const heartbeat = setInterval(() => void stream.write(': keep-alive\n\n').catch(() => undefined), HEARTBEAT_MS);
      const end = () => {
        closed = true;
        notify?.();
      };
      open.add(end);
      stream.onAbort(end);
      try {
        await stream.write(': connected\n\n');
        const missed = lastEventId ? log.since(dataset.id, lastEventId) : undefined;
        let sentUpTo: number;
        if (missed) {
          // Queued events already among the missed ones are not sent twice.
          sentUpTo = missed.at(-1)?.seq ?? 0;
          for (const e of missed) await send(e);
        } else {
          const { id, seq } = log.current();
          sentUpTo = seq;
          const fresh = await access.get(auth, dataset.id);
          const task = await latestTask(auth, dataset.id);
          const snapshot = { dataset: { datasetId: fresh.id, status: fresh.status, rowCount: fresh.rowCount, activeTaskId: fresh.activeTaskId }, task };
          await stream.writeSSE({ event: 'snapshot', id, data: JSON.stringify(snapshot) });
        }
        while (!closed) {
          const e = queue.shift();
          if (!e) {
            await new Promise<void>((resolve) => (notify = resolve));
            notify = undefined;
            continue;
          }
          if (e.seq > sentUpTo) await send(e);
        }
      } finally {
        clearInterval(heartbeat);
        open.delete(end);
        off();
      }

      async function send(e: LoggedEvent) {
        const { datasetId: _d, ...data } = e.event.data;
        await stream.writeSSE({ event: e.event.type, id: e.id, data: JSON.stringify(data) });
      }
    });
  });
  return { closeAll: () => open.forEach((end) => end()) };
}
