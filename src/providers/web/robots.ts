import robotsParserModule from 'robots-parser';
import { FetchError, type Fetcher } from './fetcher.ts';

type Rules = { isAllowed(url: string, ua?: string): boolean | undefined; getCrawlDelay(ua?: string): number | undefined };
// robots-parser is CommonJS (`module.exports = function`); its typings describe an ES default export.
const robotsParser = robotsParserModule as unknown as (url: string, text: string) => Rules;
type Entry = { expires: number; rules: Promise<Rules | { unreachable: string }> };

export type RobotsVerdict = { allowed: true; crawlDelayMs?: number } | { allowed: false; reason: string; retryable: boolean };

/**
 * robots.txt per origin, as RFC 9309 says: a 4xx (no robots.txt) allows everything; a 5xx or an
 * unreachable file means "assume complete disallow" for now (retryable, remembered for a minute);
 * a readable file is kept for `ttlMs` (in memory: one small file per site, refetched per process).
 * `agent` is the product token matched against User-agent lines.
 */
export function createRobots({ fetcher, agent, ttlMs = 3_600_000 }: { fetcher: Fetcher; agent: string; ttlMs?: number }) {
  const cache = new Map<string, Entry>();

  // Not tied to the asking cell's signal: the answer is shared, and a cancelled task must not leave
  // "unreachable" behind for everyone else (the fetcher's own timeout bounds it).
  function load(origin: string): Entry['rules'] {
    const robotsUrl = `${origin}/robots.txt`;
    return fetcher.fetch(robotsUrl, { accept: 'text/plain,*/*;q=0.5' }).then(
      (res): Rules | { unreachable: string } => {
        if (res.status >= 200 && res.status < 300) return robotsParser(robotsUrl, res.body.toString('utf8'));
        if (res.status >= 400 && res.status < 500) return { isAllowed: () => true, getCrawlDelay: () => undefined };
        return { unreachable: `robots.txt answered ${res.status}` };
      },
      (err: unknown) => {
        // The site itself is refused (SSRF rules) or the name does not resolve: the page fetch would fail the same way.
        if (err instanceof FetchError && (err.code === 'FETCH_BLOCKED' || err.code === 'FETCH_DNS' || err.code === 'FETCH_INVALID_URL')) throw err;
        return { unreachable: `robots.txt could not be fetched (${err instanceof Error ? err.message : String(err)})` };
      },
    );
  }

  return {
    async check(url: URL): Promise<RobotsVerdict> {
      const origin = url.origin;
      let entry = cache.get(origin);
      if (!entry || entry.expires < Date.now()) {
        entry = { expires: Date.now() + ttlMs, rules: load(origin) };
        cache.set(origin, entry);
        entry.rules.then(
          (r) => {
            if ('unreachable' in r) entry!.expires = Date.now() + 60_000;
          },
          () => cache.delete(origin),
        );
      }
      const rules = await entry.rules;
      if ('unreachable' in rules) return { allowed: false, reason: `${rules.unreachable}; RFC 9309 says to assume the site disallows crawling`, retryable: true };
      if (rules.isAllowed(url.href, agent) === false) return { allowed: false, reason: `robots.txt of ${origin} disallows ${url.pathname} for ${agent}`, retryable: false };
      const delay = rules.getCrawlDelay(agent);
      return typeof delay === 'number' && delay > 0 ? { allowed: true, crawlDelayMs: delay * 1000 } : { allowed: true };
    },
  };
}
export type Robots = ReturnType<typeof createRobots>;
