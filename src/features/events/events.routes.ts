import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { DomainEvent, EventBus } from '../../events.ts';
import { ERROR_RESPONSES } from '../../http/common.schema.ts';
import type { App } from '../../http/env.ts';
import type { DatasetAccess } from '../datasets/dataset-access.ts';

const HEARTBEAT_MS = 15_000;

/**
 * Live progress: `GET /datasets/{id}/events` streams `cell` and `task` changes of one dataset as
 * Server-Sent Events, with a comment every 15 s so proxies keep the connection open. The listener
 * goes away with the client.
 */
export function registerEventRoutes(app: App, { access, live }: { access: DatasetAccess; live: EventBus }): { closeAll(): void } {
  // Open streams keep server.close() waiting; shutdown ends them.
  const open = new Set<() => void>();
  const route = createRoute({
    operationId: 'streamDatasetEvents',
    method: 'get',
    path: '/api/v2/datasets/{datasetId}/events',
    tags: ['Tasks'],
    summary: 'Server-Sent Events of cell and task changes (live progress)',
    request: { params: z.object({ datasetId: z.string() }) },
    responses: { 200: { description: '`event: cell` {cellId, rowId, columnId, status, value}; `event: task` {taskId, status, progress}', content: { 'text/event-stream': { schema: z.string() } } }, ...ERROR_RESPONSES },
  });
  app.openAPIRegistry.registerPath(route);
  app.get('/api/v2/datasets/:datasetId/events', async (c) => {
    const dataset = await access.get(c.get('auth'), c.req.param('datasetId'));
    return streamSSE(c, async (stream) => {
      const queue: DomainEvent[] = [];
      let notify: (() => void) | undefined;
      let closed = false;
      const off = live.on((e) => {
        if (e.workspaceId !== dataset.workspaceId || e.data.datasetId !== dataset.id) return;
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
        while (!closed) {
          const e = queue.shift();
          if (!e) {
            await new Promise<void>((resolve) => (notify = resolve));
            notify = undefined;
            continue;
          }
          const { datasetId: _d, ...data } = e.data;
          await stream.writeSSE({ event: e.type, data: JSON.stringify(data) });
        }
      } finally {
        clearInterval(heartbeat);
        open.delete(end);
        off();
      }
    });
  });
  return { closeAll: () => open.forEach((end) => end()) };
}
