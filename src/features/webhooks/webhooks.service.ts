import { createHmac } from 'node:crypto';
import { InvalidParametersError, NotFoundError } from '../../http/errors.ts';
import { newId } from '../../ids.ts';
import type { DomainEvent, EventBus } from '../../events.ts';
import type { Logger } from '../../logger.ts';
import { now, type Store } from '../../store/store.ts';
import * as hooksDb from '../../store/webhooks.ts';
import type { DeliveryRecord, WebhookRecord } from '../../store/webhooks.ts';
import type { Auth } from '../keys/keys.service.ts';
import { checkWebhookTarget, postToTarget } from './webhook-target.ts';

export const WEBHOOK_EVENTS = ['dataset.created', 'dataset.task.started', 'dataset.task.completed', 'dataset.task.failed', 'datasource.processed', 'dataset.deleted', 'dataset.exported'] as const;
/** Seconds to wait before attempt n+1; after the last, the delivery is failed (and can be retried by hand). */
const BACKOFF_SECONDS = [5, 30, 120, 600, 3600];
const TIMEOUT_MS = 10_000;
const SECRETISH = /(auth|token|secret|key|signature|password|cookie)/i;

export const webhookView = (w: WebhookRecord) => ({
  webhookId: w.id,
  name: w.name,
  url: w.url,
  events: w.events,
  headers: Object.fromEntries(Object.entries(w.headers).map(([k, v]) => [k, SECRETISH.test(k) ? '[redacted]' : v])),
  createdAt: w.createdAt,
  updatedAt: w.updatedAt,
});
export const deliveryView = (d: DeliveryRecord) => ({
  deliveryId: d.id,
  webhookId: d.webhookId,
  event: d.event,
  status: d.status,
  attempts: d.attempts,
  nextAttemptAt: d.status === 'pending' ? d.nextAttemptAt : null,
  lastStatusCode: d.lastStatusCode,
  lastError: d.lastError,
  createdAt: d.createdAt,
  deliveredAt: d.deliveredAt,
});

/** `X-Cellwise-Signature: v1=<hex>`: HMAC-SHA256 of `${timestamp}.${body}` with the webhook's secret. */
export function signDelivery(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export type WebhookInput = { name: string; url: string; events: string[]; headers?: Record<string, string> | undefined; secret: string };

export function createWebhookService({ store, events, logger, allowPrivate }: { store: Store; events: EventBus; logger: Logger; allowPrivate: boolean }) {
  async function get(auth: Auth, id: string) {
    const w = await hooksDb.findWebhook(store.db, auth.workspaceId, id);
    if (!w) throw new NotFoundError('webhook', id);
    return w;
  }

  /** One attempt: POST the signed payload, then record success, the next retry, or failure. */
  async function attempt(hook: WebhookRecord, d: DeliveryRecord): Promise<DeliveryRecord> {
    const attempts = d.attempts + 1;
    const timestamp = String(Math.floor(Date.now() / 1000));
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const addresses = await checkWebhookTarget(hook.url, allowPrivate);
      const headers = { ...hook.headers, 'content-type': 'application/json', 'user-agent': 'cellwise-webhooks/1', 'x-cellwise-event': d.event, 'x-cellwise-delivery': d.id, 'x-cellwise-timestamp': timestamp, 'x-cellwise-signature': signDelivery(hook.secret, timestamp, d.payload) };
      statusCode = await postToTarget(hook.url, addresses, headers, d.payload, TIMEOUT_MS);
      if (statusCode < 200 || statusCode >= 300) error = `endpoint answered ${statusCode}`;
    } catch (err) {
      error = err instanceof InvalidParametersError ? err.message : `request failed: ${(err as Error).message}`;
    }
    const wait = BACKOFF_SECONDS[attempts - 1];
    const next: DeliveryRecord = error
      ? { ...d, attempts, status: wait === undefined ? 'failed' : 'pending', nextAttemptAt: wait === undefined ? null : new Date(Date.now() + wait * 1000).toISOString(), lastStatusCode: statusCode, lastError: error }
      : { ...d, attempts, status: 'succeeded', nextAttemptAt: null, lastStatusCode: statusCode, lastError: null, deliveredAt: now() };
    await hooksDb.updateDelivery(store.db, next);
    if (error) logger.warn('webhook delivery failed', { deliveryId: d.id, webhookId: hook.id, attempts, error });
    return next;
  }

  async function enqueue(hook: WebhookRecord, event: string, data: Record<string, unknown>): Promise<DeliveryRecord> {
    const id = newId('delivery');
    const createdAt = now();
    const payload = JSON.stringify({ id, type: event, createdAt, data });
    const d: DeliveryRecord = { id, webhookId: hook.id, workspaceId: hook.workspaceId, event, payload, status: 'pending', attempts: 0, nextAttemptAt: createdAt, lastStatusCode: null, lastError: null, createdAt, deliveredAt: null };
    await hooksDb.insertDelivery(store.db, d);
    return d;
  }

  /** Domain events become deliveries for every subscribed webhook (and the task's own webhookId). */
  async function onEvent(event: DomainEvent) {
    const { items } = await hooksDb.listWebhooks(store.db, event.workspaceId);
    const target = typeof event.data.webhookId === 'string' ? event.data.webhookId : null;
    for (const hook of items) {
      if (hook.events.includes(event.type) || (target === hook.id && event.type.startsWith('dataset.task.'))) await enqueue(hook, event.type, event.data);
    }
    wake();
  }

  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let stopped = true;
  /** Sends due deliveries; several server processes may run this, the claim keeps attempts single. */
  async function pump() {
    if (running || stopped) return;
    running = true;
    try {
      for (;;) {
        const due = await hooksDb.claimDueDeliveries(store.db, now(), new Date(Date.now() + 2 * TIMEOUT_MS).toISOString(), 20);
        if (!due.length) break;
        await Promise.all(
          due.map(async (d) => {
            const hook = await hooksDb.findWebhook(store.db, d.workspaceId, d.webhookId);
            if (hook) await attempt(hook, d);
          }),
        );
      }
    } catch (err) {
      logger.error('webhook pump failed', { error: String(err) });
    } finally {
      running = false;
    }
  }
  const wake = () => setImmediate(() => void pump());

  return {
    async create(auth: Auth, input: WebhookInput) {
      await checkWebhookTarget(input.url, allowPrivate);
      const at = now();
      const hook: WebhookRecord = { id: newId('webhook'), workspaceId: auth.workspaceId, name: input.name, url: input.url, events: [...new Set(input.events)], headers: input.headers ?? {}, secret: input.secret, createdAt: at, updatedAt: at };
      await hooksDb.insertWebhook(store.db, hook);
      return webhookView(hook);
    },
    async list(auth: Auth, page: { page: number; limit: number }) {
      const { items, total } = await hooksDb.listWebhooks(store.db, auth.workspaceId, { offset: (page.page - 1) * page.limit, limit: page.limit });
      return { webhooks: items.map(webhookView), total };
    },
    get: async (auth: Auth, id: string) => webhookView(await get(auth, id)),
    async update(auth: Auth, id: string, patch: Partial<WebhookInput>) {
      const hook = await get(auth, id);
      if (patch.url !== undefined) await checkWebhookTarget(patch.url, allowPrivate);
      const next: WebhookRecord = { ...hook, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)), updatedAt: now() };
      next.events = [...new Set(next.events)];
      await hooksDb.updateWebhook(store.db, next);
      return webhookView(next);
    },
    async remove(auth: Auth, id: string) {
      await get(auth, id);
      await hooksDb.deleteWebhook(store.db, id);
      return { webhookId: id, deleted: true as const };
    },
    /** Sends a `webhook.test` delivery now and answers with its outcome. */
    async test(auth: Auth, id: string) {
      const hook = await get(auth, id);
      const d = await enqueue(hook, 'webhook.test', { webhookId: id, message: 'cellwise webhook test' });
      await hooksDb.updateDelivery(store.db, { ...d, nextAttemptAt: null });
      return deliveryView(await attempt(hook, d));
    },
    async deliveries(auth: Auth, id: string, page: { page: number; limit: number }) {
      await get(auth, id);
      const { items, total } = await hooksDb.listDeliveries(store.db, id, { offset: (page.page - 1) * page.limit, limit: page.limit });
      return { deliveries: items.map(deliveryView), total };
    },
    /** A manual retry: one attempt now, whatever the delivery's state. */
    async retry(auth: Auth, id: string, deliveryId: string) {
      const hook = await get(auth, id);
      const d = await hooksDb.findDelivery(store.db, id, deliveryId);
      if (!d) throw new NotFoundError('delivery', deliveryId);
      return deliveryView(await attempt(hook, { ...d, attempts: Math.min(d.attempts, BACKOFF_SECONDS.length - 1) }));
    },
    start() {
      stopped = false;
      const off = events.on((e) => void onEvent(e).catch((err: unknown) => logger.error('webhook enqueue failed', { error: String(err) })));
      timer = setInterval(() => void pump(), 1000);
      timer.unref();
      wake();
      return () => {
        stopped = true;
        off();
        clearInterval(timer);
      };
    },
  };
}
export type WebhookService = ReturnType<typeof createWebhookService>;
