import type { Db } from './store.ts';
import { toNumber } from './store.ts';

export type WebhookRecord = { id: string; workspaceId: string; name: string; url: string; events: string[]; headers: Record<string, string>; secret: string; createdAt: string; updatedAt: string };
export type DeliveryRecord = {
  id: string;
  webhookId: string;
  workspaceId: string;
  event: string;
  payload: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
};

type HookRow = { id: string; workspace_id: string; name: string; url: string; events: string; headers: string; secret: string; created_at: string; updated_at: string };
const toHook = (r: HookRow): WebhookRecord => ({ id: r.id, workspaceId: r.workspace_id, name: r.name, url: r.url, events: JSON.parse(r.events) as string[], headers: JSON.parse(r.headers) as Record<string, string>, secret: r.secret, createdAt: r.created_at, updatedAt: r.updated_at });
type DeliveryRow = { id: string; webhook_id: string; workspace_id: string; event: string; payload: string; status: string; attempts: number; next_attempt_at: string | null; last_status_code: number | null; last_error: string | null; created_at: string; delivered_at: string | null };
const toDelivery = (r: DeliveryRow): DeliveryRecord => ({
  id: r.id,
  webhookId: r.webhook_id,
  workspaceId: r.workspace_id,
  event: r.event,
  payload: r.payload,
  status: r.status as DeliveryRecord['status'],
  attempts: toNumber(r.attempts),
  nextAttemptAt: r.next_attempt_at,
  lastStatusCode: r.last_status_code === null ? null : toNumber(r.last_status_code),
  lastError: r.last_error,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
});

export async function insertWebhook(db: Db, w: WebhookRecord): Promise<void> {
  await db.insertInto('webhooks').values({ id: w.id, workspace_id: w.workspaceId, name: w.name, url: w.url, events: JSON.stringify(w.events), headers: JSON.stringify(w.headers), secret: w.secret, created_at: w.createdAt, updated_at: w.updatedAt }).execute();
}

export async function updateWebhook(db: Db, w: WebhookRecord): Promise<void> {
  await db.updateTable('webhooks').set({ name: w.name, url: w.url, events: JSON.stringify(w.events), headers: JSON.stringify(w.headers), secret: w.secret, updated_at: w.updatedAt }).where('id', '=', w.id).execute();
}

export async function findWebhook(db: Db, workspaceId: string, id: string): Promise<WebhookRecord | undefined> {
  const r = await db.selectFrom('webhooks').selectAll().where('id', '=', id).where('workspace_id', '=', workspaceId).executeTakeFirst();
  return r && toHook(r);
}

export async function listWebhooks(db: Db, workspaceId: string, page?: { offset: number; limit: number }): Promise<{ items: WebhookRecord[]; total: number }> {
  let q = db.selectFrom('webhooks').selectAll().where('workspace_id', '=', workspaceId).orderBy('created_at', 'desc').orderBy('id', 'desc');
  if (page) q = q.offset(page.offset).limit(page.limit);
  const [rows, count] = await Promise.all([q.execute(), db.selectFrom('webhooks').select((eb) => eb.fn.countAll().as('n')).where('workspace_id', '=', workspaceId).executeTakeFirstOrThrow()]);
  return { items: rows.map(toHook), total: toNumber(count.n) };
}

export async function deleteWebhook(db: Db, id: string): Promise<void> {
  await db.deleteFrom('webhooks').where('id', '=', id).execute();
}

export async function insertDelivery(db: Db, d: DeliveryRecord): Promise<void> {
  await db
    .insertInto('webhook_deliveries')
    .values({ id: d.id, webhook_id: d.webhookId, workspace_id: d.workspaceId, event: d.event, payload: d.payload, status: d.status, attempts: d.attempts, next_attempt_at: d.nextAttemptAt, last_status_code: d.lastStatusCode, last_error: d.lastError, created_at: d.createdAt, delivered_at: d.deliveredAt })
    .execute();
}

export async function updateDelivery(db: Db, d: Pick<DeliveryRecord, 'id' | 'status' | 'attempts' | 'nextAttemptAt' | 'lastStatusCode' | 'lastError' | 'deliveredAt'>): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({ status: d.status, attempts: d.attempts, next_attempt_at: d.nextAttemptAt, last_status_code: d.lastStatusCode, last_error: d.lastError, delivered_at: d.deliveredAt })
    .where('id', '=', d.id)
    .execute();
}

export async function findDelivery(db: Db, webhookId: string, id: string): Promise<DeliveryRecord | undefined> {
  const r = await db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).where('webhook_id', '=', webhookId).executeTakeFirst();
  return r && toDelivery(r);
}

export async function listDeliveries(db: Db, webhookId: string, page: { offset: number; limit: number }): Promise<{ items: DeliveryRecord[]; total: number }> {
  const [rows, count] = await Promise.all([
    db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).orderBy('created_at', 'desc').orderBy('id', 'desc').offset(page.offset).limit(page.limit).execute(),
    db.selectFrom('webhook_deliveries').select((eb) => eb.fn.countAll().as('n')).where('webhook_id', '=', webhookId).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(toDelivery), total: toNumber(count.n) };
}

/**
 * Claims due deliveries by pushing their next attempt into the future (a lease), so that two
 * server processes never send the same attempt; the sender then records the real outcome.
 */
export async function claimDueDeliveries(db: Db, nowIso: string, leaseUntil: string, limit: number): Promise<DeliveryRecord[]> {
  const due = await db.selectFrom('webhook_deliveries').selectAll().where('status', '=', 'pending').where('next_attempt_at', '<=', nowIso).orderBy('next_attempt_at').limit(limit).execute();
  const claimed: DeliveryRecord[] = [];
  for (const r of due) {
    const res = await db.updateTable('webhook_deliveries').set({ next_attempt_at: leaseUntil }).where('id', '=', r.id).where('next_attempt_at', '=', r.next_attempt_at).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 1) claimed.push(toDelivery({ ...r, next_attempt_at: leaseUntil }));
  }
  return claimed;
}
