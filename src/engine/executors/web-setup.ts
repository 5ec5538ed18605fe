import { createSearxngSearch } from '../../providers/search/searxng.ts';
import { createHttpFetcher } from '../../providers/web/http-fetcher.ts';
import { resolvePublic, urlHost } from '../../providers/web/address-policy.ts';
import { createPoliteness } from '../../providers/web/politeness.ts';
import { createReadablePool, type ReadablePool } from '../../providers/web/readable-pool.ts';
import { createRobots } from '../../providers/web/robots.ts';
import { createWebReader } from '../../providers/web/web-reader.ts';
import { createPageCache } from '../../store/web-pages.ts';
import type { ExecutorDeps } from './index.ts';
import type { WebEnrichDeps } from './web-enrich.ts';

/**
 * Today's address policy for a cached page: refused only when the host is known to be loopback or
 * private (a name that does not resolve right now keeps its cached page, as a cache should).
 */
export async function publicAddressNow(url: URL): Promise<boolean> {
  const checked = await resolvePublic(urlHost(url));
  return checked.ok || !checked.resolved;
}

/** One pool of page-reading threads per process, however many apps (tests) it builds. */
let pool: ReadablePool | undefined;

/** web_enrich's outside systems from the configuration: the safe fetcher, robots.txt, politeness, the page cache and search. */
export function createWebEnrichDeps(deps: ExecutorDeps): WebEnrichDeps {
  const { config } = deps;
  const fetcher =
    deps.fetcher ??
    createHttpFetcher({ allowPrivate: config.fetchAllowPrivate, userAgent: config.fetchUserAgent, connectTimeoutMs: config.fetchConnectTimeoutMs, timeoutMs: config.fetchTimeoutMs, maxBytes: config.fetchMaxBytes });
  // robots.txt groups are matched on the user agent's product token ("cellwise" in "cellwise/0.1 (...)").
  const agent = config.fetchUserAgent.split(/[/\s]/)[0]!.toLowerCase();
  const reader = createWebReader({
    fetcher,
    robots: createRobots({ fetcher, agent }),
    politeness: createPoliteness({ concurrency: config.fetchHostConcurrency, delayMs: config.fetchHostDelayMs }),
    ...(config.fetchCacheMaxAgeS > 0 ? { cache: createPageCache(deps.store, config.fetchCacheMaxAgeS * 1000) } : {}),
    maxAgeMs: config.fetchCacheMaxAgeS * 1000,
    readHtml: (html, url) => (pool ??= createReadablePool()).read(html, url),
    // Cached pages are held to today's address policy (a fetcher given by a test has its own).
    ...(deps.fetcher || config.fetchAllowPrivate ? {} : { allowedNow: publicAddressNow }),
  });
  const search = deps.search ?? (config.searchUrl ? createSearxngSearch({ baseUrl: config.searchUrl, timeoutMs: config.fetchTimeoutMs }) : undefined);
  return { reader, ...(search ? { search } : {}) };
}
