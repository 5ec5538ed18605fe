import { claimRequests, releaseRequests, type InflightClaim } from '../store/llm-inflight.ts';
import type { Store } from '../store/store.ts';

/** How long a claim holds at most: a backstop for a claim its live process forgot (a crashed process's claims are taken over as soon as it is counted out). */
const CLAIM_LEASE_MS = 10 * 60_000;

/**
 * Claims on LLM requests in flight across engine processes (PostgreSQL; store/llm-inflight.ts),
 * used by the LLM cache (cache.ts): a process claims a request before it calls the provider, and
 * releases it once the answer is in the cache or the call failed; others asking meanwhile wait.
 * Claims and releases are batched per turn of the event loop, like cache look-ups: one statement
 * for a claim's burst of cells. Without an owner (SQLite, the API's estimates) every claim is won.
 */
export function createRequestClaims(store: Store, owner: string | undefined, onError?: (err: unknown) => void) {
  const idOf = (c: InflightClaim) => `${c.workspaceId}/${c.key}`;
  let claims: Map<string, InflightClaim & { waiters: ((won: boolean) => void)[] }> | undefined;
  let releases: Map<string, InflightClaim> | undefined;

  async function flushClaims() {
    const batch = [...claims!.values()];
    claims = undefined;
    try {
      const at = Date.now();
      const won = await claimRequests(store.db, batch, owner!, new Date(at + CLAIM_LEASE_MS).toISOString(), new Date(at).toISOString());
      for (const c of batch) for (const w of c.waiters) w(won.has(idOf(c)));
    } catch (err) {
      // Claims only save money: when they cannot be taken, every cell asks for itself.
      onError?.(err);
      for (const c of batch) for (const w of c.waiters) w(true);
    }
  }

  return {
    /** True: call the provider (this process holds the claim, or there are no claims). False: another live process is calling for it now. */
    claim(workspaceId: string, key: string): Promise<boolean> {
      if (!owner) return Promise.resolve(true);
      if (!claims) {
        claims = new Map();
        setImmediate(() => void flushClaims());
      }
      const id = idOf({ workspaceId, key });
      let entry = claims.get(id);
      if (!entry) claims.set(id, (entry = { workspaceId, key, waiters: [] }));
      const waiters = entry.waiters;
      return new Promise((resolve) => waiters.push(resolve));
    },
    /** Releases this process's claims on these requests (fire and forget; a failure is reported to onError). */
    release(entries: readonly InflightClaim[]): void {
      if (!owner || !entries.length) return;
      if (!releases) {
        releases = new Map();
        setImmediate(() => {
          const batch = [...releases!.values()];
          releases = undefined;
          void releaseRequests(store.db, batch, owner).catch((err: unknown) => onError?.(err));
        });
      }
      for (const e of entries) releases.set(idOf(e), { workspaceId: e.workspaceId, key: e.key });
    },
  };
}
