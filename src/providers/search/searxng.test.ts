import { startFakeSearch } from '../../../test/fakes/search-server.ts';
import { searchContract } from './search.contract.ts';
import { createSearxngSearch } from './searxng.ts';

searchContract('searxng', async (results) => {
  const fake = await startFakeSearch(results);
  return { provider: createSearxngSearch({ baseUrl: fake.url }), queries: fake.queries, failNext: fake.fail, close: fake.close };
});
searchContract('searxng (base URL with /search)', async (results) => {
  const fake = await startFakeSearch(results);
  return { provider: createSearxngSearch({ baseUrl: `${fake.url}/search` }), queries: fake.queries, failNext: fake.fail, close: fake.close };
});
