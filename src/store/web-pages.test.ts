import assert from 'node:assert/strict';
import { it } from 'node:test';
import { freshDatabase } from '../../test/helpers/app.ts';
import { openStore } from './store.ts';
import { createPageCache, findWebPage, pruneWebPages, saveWebPage } from './web-pages.ts';

it('web page cache: per workspace, by age, replaced on refetch, pruned when old', async () => {
  const db = await freshDatabase();
  const store = await openStore(db);
  try {
    const old = '2020-01-01T00:00:00.000Z';
    await saveWebPage(store.db, 'ws_a', 'https://a.example/', '{"v":1}', old);
    assert.equal(await findWebPage(store.db, 'ws_a', 'https://a.example/', '2021-01-01T00:00:00.000Z'), undefined, 'too old');
    assert.deepEqual(await findWebPage(store.db, 'ws_a', 'https://a.example/', '2019-01-01T00:00:00.000Z'), { page: '{"v":1}', fetchedAt: old });
    assert.equal(await findWebPage(store.db, 'ws_b', 'https://a.example/', '2019-01-01T00:00:00.000Z'), undefined, 'other workspace');
    const cache = createPageCache(store, 60_000);
    const page = { url: 'https://a.example/', finalUrl: 'https://a.example/', title: 'A', contentType: 'text/html', text: 'hello', links: [], fetchedAt: new Date().toISOString() };
    await cache.put('ws_a', page.url, page);
    assert.deepEqual(await cache.get('ws_a', page.url, new Date(Date.now() - 1_000)), page);
    await saveWebPage(store.db, 'ws_a', 'https://old.example/', '{}', old);
    await pruneWebPages(store.db, '2021-01-01T00:00:00.000Z');
    assert.equal(await findWebPage(store.db, 'ws_a', 'https://old.example/', '1970-01-01T00:00:00.000Z'), undefined);
    assert.ok(await findWebPage(store.db, 'ws_a', page.url, '1970-01-01T00:00:00.000Z'));
  } finally {
    await store.close();
    await db.drop();
  }
});
