import type { PageCache, WebPage } from '../providers/web/web-reader.ts';
import type { Store } from './store.ts';
import type { Db } from './store.ts';

/** The persisted page cache of web_enrich (see migration 0007_web). Pages are stored as JSON. */
export async function findWebPage(db: Db, workspaceId: string, url: string, notBefore: string): Promise<{ page: string; fetchedAt: string } | undefined> {
  const row = await db.selectFrom('web_pages').select(['page', 'fetched_at']).where('workspace_id', '=', workspaceId).where('url', '=', url).where('fetched_at', '>=', notBefore).executeTakeFirst();
  return row && { page: row.page, fetchedAt: row.fetched_at };
}

export async function saveWebPage(db: Db, workspaceId: string, url: string, page: string, fetchedAt: string): Promise<void> {
  await db
    .insertInto('web_pages')
    .values({ workspace_id: workspaceId, url, page, fetched_at: fetchedAt })
    .onConflict((oc) => oc.columns(['workspace_id', 'url']).doUpdateSet({ page, fetched_at: fetchedAt }))
    .execute();
}

/** Drops pages fetched before `before` (in every workspace): they would be fetched again anyway. */
export async function pruneWebPages(db: Db, before: string): Promise<void> {
  await db.deleteFrom('web_pages').where('fetched_at', '<', before).execute();
}

/** The web reader's PageCache over the store; every 500th write also prunes pages older than `maxAgeMs`. */
export function createPageCache(store: Store, maxAgeMs: number): PageCache {
  let writes = 0;
  return {
    async get(workspaceId, url, notBefore) {
      const row = await findWebPage(store.db, workspaceId, url, notBefore.toISOString());
      return row && (JSON.parse(row.page) as WebPage);
    },
    async put(workspaceId, url, page) {
      await saveWebPage(store.db, workspaceId, url, JSON.stringify(page), page.fetchedAt);
      if (++writes % 500 === 0) await pruneWebPages(store.db, new Date(Date.now() - maxAgeMs).toISOString());
    },
  };
}
