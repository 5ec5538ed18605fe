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

/** The web reader's PageCache over the store. */
export function createPageCache(store: Store): PageCache {
  return {
    async get(workspaceId, url, notBefore) {
      const row = await findWebPage(store.db, workspaceId, url, notBefore.toISOString());
      return row && (JSON.parse(row.page) as WebPage);
    },
    put: (workspaceId, url, page) => saveWebPage(store.db, workspaceId, url, JSON.stringify(page), page.fetchedAt),
  };
}
