import { createRoute, z } from '@hono/zod-openapi';
import { ERROR_RESPONSES, json, jsonBody, pageQuery, pagination, Pagination } from '../../http/common.schema.ts';
import type { App } from '../../http/env.ts';
import { WEBHOOK_EVENTS, type WebhookService } from './webhooks.service.ts';

const tags = ['Webhooks'];
const Params = z.object({ webhookId: z.string() });
const headers = z
  .record(z.string().regex(/^[A-Za-z0-9-]{1,100}$/, 'must be a header name'), z.string().max(2000))
  .refine((h) => Object.keys(h).length <= 10, 'at most 10 headers')
  .refine((h) => !Object.keys(h).some((k) => /^(content-type|content-length|host|x-cellwise-.*)$/i.test(k)), 'cannot override content-type, content-length, host or x-cellwise-* headers');
export const CreateWebhookInput = z
  .strictObject({ name: z.string().trim().min(1).max(200), url: z.string().max(2000), events: z.array(z.enum(WEBHOOK_EVENTS)).min(1), headers: headers.optional(), secret: z.string().min(16).max(500) })
  .openapi('CreateWebhookInput');
export const UpdateWebhookInput = z.strictObject({ name: z.string().trim().min(1).max(200).optional(), url: z.string().max(2000).optional(), events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).optional(), headers: headers.optional(), secret: z.string().min(16).max(500).optional() }).openapi('UpdateWebhookInput');
const Webhook = z.object({ webhookId: z.string(), name: z.string(), url: z.string(), events: z.array(z.string()), headers: z.record(z.string(), z.string()), createdAt: z.string(), updatedAt: z.string() }).openapi('Webhook');
const Delivery = z
  .object({ deliveryId: z.string(), webhookId: z.string(), event: z.string(), status: z.enum(['pending', 'succeeded', 'failed']), attempts: z.number().int(), nextAttemptAt: z.string().nullable(), lastStatusCode: z.number().int().nullable(), lastError: z.string().nullable(), createdAt: z.string(), deliveredAt: z.string().nullable() })
  .openapi('WebhookDelivery');

export function registerWebhookRoutes(app: App, hooks: WebhookService) {
  app.openapi(createRoute({ operationId: 'createWebhook', method: 'post', path: '/api/v2/webhooks', tags, summary: 'Create a webhook (deliveries are signed with its secret)', request: { body: jsonBody(CreateWebhookInput) }, responses: { 201: json(Webhook, 'The webhook'), ...ERROR_RESPONSES } }), async (c) =>
    c.json(await hooks.create(c.get('auth'), c.req.valid('json')), 201),
  );
  app.openapi(createRoute({ operationId: 'listWebhooks', method: 'get', path: '/api/v2/webhooks', tags, summary: 'List webhooks', request: { query: z.object(pageQuery(20, 100)) }, responses: { 200: json(z.object({ webhooks: z.array(Webhook), pagination: Pagination }), 'Webhooks'), ...ERROR_RESPONSES } }), async (c) => {
    const q = c.req.valid('query');
    const { webhooks, total } = await hooks.list(c.get('auth'), q);
    return c.json({ webhooks, pagination: pagination(q.page, q.limit, total) }, 200);
  });
  app.openapi(createRoute({ operationId: 'getWebhook', method: 'get', path: '/api/v2/webhooks/{webhookId}', tags, summary: 'Get a webhook', request: { params: Params }, responses: { 200: json(Webhook, 'The webhook'), ...ERROR_RESPONSES } }), async (c) =>
    c.json(await hooks.get(c.get('auth'), c.req.valid('param').webhookId), 200),
  );
  app.openapi(createRoute({ operationId: 'updateWebhook', method: 'patch', path: '/api/v2/webhooks/{webhookId}', tags, summary: 'Update a webhook', request: { params: Params, body: jsonBody(UpdateWebhookInput) }, responses: { 200: json(Webhook, 'The webhook'), ...ERROR_RESPONSES } }), async (c) =>
    c.json(await hooks.update(c.get('auth'), c.req.valid('param').webhookId, c.req.valid('json')), 200),
  );
  app.openapi(createRoute({ operationId: 'deleteWebhook', method: 'delete', path: '/api/v2/webhooks/{webhookId}', tags, summary: 'Delete a webhook', request: { params: Params }, responses: { 200: json(z.object({ webhookId: z.string(), deleted: z.literal(true) }), 'Deleted'), ...ERROR_RESPONSES } }), async (c) =>
    c.json(await hooks.remove(c.get('auth'), c.req.valid('param').webhookId), 200),
  );
  app.openapi(createRoute({ operationId: 'testWebhook', method: 'post', path: '/api/v2/webhooks/{webhookId}/test', tags, summary: 'Send a signed webhook.test delivery now', request: { params: Params }, responses: { 200: json(Delivery, 'The delivery and its outcome'), ...ERROR_RESPONSES } }), async (c) =>
    c.json(await hooks.test(c.get('auth'), c.req.valid('param').webhookId), 200),
  );
  app.openapi(createRoute({ operationId: 'listWebhookDeliveries', method: 'get', path: '/api/v2/webhooks/{webhookId}/deliveries', tags, summary: 'The delivery log, newest first', request: { params: Params, query: z.object(pageQuery(20, 100)) }, responses: { 200: json(z.object({ deliveries: z.array(Delivery), pagination: Pagination }), 'Deliveries'), ...ERROR_RESPONSES } }), async (c) => {
    const q = c.req.valid('query');
    const { deliveries, total } = await hooks.deliveries(c.get('auth'), c.req.valid('param').webhookId, q);
    return c.json({ deliveries, pagination: pagination(q.page, q.limit, total) }, 200);
  });
  app.openapi(createRoute({ operationId: 'retryWebhookDelivery', method: 'post', path: '/api/v2/webhooks/{webhookId}/deliveries/{deliveryId}/retry', tags, summary: 'Retry a delivery now', request: { params: z.object({ webhookId: z.string(), deliveryId: z.string() }) }, responses: { 200: json(Delivery, 'The delivery and its outcome'), ...ERROR_RESPONSES } }), async (c) => {
    const { webhookId, deliveryId } = c.req.valid('param');
    return c.json(await hooks.retry(c.get('auth'), webhookId, deliveryId), 200);
  });
}
