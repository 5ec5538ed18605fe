import { createHash } from 'node:crypto';
import { LlmError, type LlmRequest, type LlmResponse } from '../providers/llm/llm.ts';
import { costUsd } from '../providers/llm/pricing.ts';
import type { LlmRegistry } from '../providers/llm/registry.ts';
import type { Db, Store } from '../store/store.ts';
import type { LlmClient } from './executor.ts';
import type { Limiter } from './limiter.ts';
import { createRequestClaims } from './request-claims.ts';

/**
 * The persistent LLM answer cache, per workspace: identical requests (same model, messages, schema,
 * temperature, log-probabilities) across tasks and datasets are answered from the llm_cache table
 * and cost nothing.
 */
export type LlmCache = {
  key(modelId: string, req: Omit<LlmRequest, 'model' | 'signal'>): string;
  get(workspaceId: string, key: string): Promise<LlmResponse | undefined>;
  put(workspaceId: string, key: string, response: LlmResponse): Promise<void>;
  /** Stores many answers in the caller's transaction (the engine's group commit). */
  putMany(db: Db, entries: readonly CacheWrite[]): Promise<void>;
  /**
   * An answer whose write is deferred to the group commit: `get` serves it from memory meanwhile,
   * so a cell asking the same request a moment later (doc_extraction's columns over one document)
   * is answered without a second call.
   */
  remember(entry: CacheWrite): void;
  /** Drops remembered answers once their transaction committed (the database has them now), and releases their claims. */
  forget(entries: readonly CacheWrite[]): void;
  /**
   * Claims a request before calling the provider for it, so that other engine processes asking the
   * same question wait for this answer instead of paying for it (store/llm-inflight.ts). False:
   * another live process is calling for it now. Always true without claims (SQLite, no owner).
   */
  claim(workspaceId: string, key: string): Promise<boolean>;
  /** Releases claims whose call failed or whose answer will not be stored; stored answers release theirs in `forget`/`put`. */
  release(entries: readonly { workspaceId: string; key: string }[]): void;
};
export type CacheWrite = { workspaceId: string; key: string; response: LlmResponse };

/** Answers remembered until their commit: bounded, oldest dropped first. */
const RECENT = 2000;

type Lookup = { workspaceId: string; key: string; waiters: { resolve(r: LlmResponse | undefined): void; reject(err: unknown): void }[] };

export type LlmCacheOptions = {
  /**
   * The engine process's id, as registered in engine_workers (engine/shares.ts): with it, on
   * PostgreSQL, requests are claimed across processes (`claim`, see request-claims.ts). Without it
   * (the API's estimate cache) nothing is claimed.
   */
  owner?: string;
  /** Reports a failed claim (the cell then asks for itself) or release (the claim lasts until its process is gone). */
  onError?: (err: unknown) => void;
};

export function createLlmCache(store: Store, options: LlmCacheOptions = {}): LlmCache {
  const recent = new Map<string, LlmResponse>();
  const recentKey = (workspaceId: string, key: string) => `${workspaceId}/${key}`;
  const claims = createRequestClaims(store, store.dialect === 'postgres' ? options.owner : undefined, options.onError);

  /**
   * Look-ups are batched per turn of the event loop: the engine starts a claim's cells together, so
   * their look-ups arrive in one burst and cost one query (per workspace and 500 keys) instead of
   * one each.
   */
  let pending: Map<string, Lookup> | undefined;
  function lookup(workspaceId: string, key: string): Promise<LlmResponse | undefined> {
    if (!pending) {
      pending = new Map();
      setImmediate(() => void flushLookups());
    }
    const id = recentKey(workspaceId, key);
    let entry = pending.get(id);
    if (!entry) pending.set(id, (entry = { workspaceId, key, waiters: [] }));
    const waiters = entry.waiters;
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
  }
  async function flushLookups() {
    const entries = [...pending!.values()];
    pending = undefined;
    const byWorkspace = new Map<string, Lookup[]>();
    for (const e of entries) (byWorkspace.get(e.workspaceId) ?? byWorkspace.set(e.workspaceId, []).get(e.workspaceId)!).push(e);
    for (const [workspaceId, list] of byWorkspace) {
      for (let i = 0; i < list.length; i += 500) {
        const part = list.slice(i, i + 500);
        try {
          const rows = await store.db.selectFrom('llm_cache').select(['cache_key', 'response']).where('workspace_id', '=', workspaceId).where('cache_key', 'in', part.map((e) => e.key)).execute();
          const found = new Map(rows.map((r) => [r.cache_key, r.response]));
          for (const e of part) {
            const text = found.get(e.key);
            const response = text === undefined ? undefined : (JSON.parse(text) as LlmResponse);
            for (const w of e.waiters) w.resolve(response);
          }
        } catch (err) {
          for (const e of part) for (const w of e.waiters) w.reject(err);
        }
      }
    }
  }

  return {
    key(modelId, req) {
      // topLogprobs only when set, so that the keys of requests without it stay what they were.
      const material = JSON.stringify([modelId, req.messages, req.jsonSchema ?? null, req.temperature ?? null, req.logprobs ?? false, req.maxTokens ?? null, ...(req.topLogprobs !== undefined ? [req.topLogprobs] : [])]);
      return createHash('sha256').update(material).digest('hex');
    },
    async get(workspaceId, key) {
      const remembered = recent.get(recentKey(workspaceId, key));
      if (remembered) return remembered;
      return lookup(workspaceId, key);
    },
    async put(workspaceId, key, response) {
      try {
        await this.putMany(store.db, [{ workspaceId, key, response }]);
      } finally {
        claims.release([{ workspaceId, key }]);
      }
    },
    async putMany(db, entries) {
      if (!entries.length) return;
      // Two workers may compute the same answer at once; the first one stored wins.
      const at = new Date().toISOString();
      const rows = [...new Map(entries.map((e) => [`${e.workspaceId}/${e.key}`, { workspace_id: e.workspaceId, cache_key: e.key, response: JSON.stringify(e.response), created_at: at }])).values()];
      await db
        .insertInto('llm_cache')
        .values(rows)
        .onConflict((oc) => oc.columns(['workspace_id', 'cache_key']).doNothing())
        .execute();
    },
    forget(entries) {
      for (const e of entries) recent.delete(recentKey(e.workspaceId, e.key));
      claims.release(entries);
    },
    claim: claims.claim,
    release: claims.release,
    remember(e) {
      if (recent.size >= RECENT) recent.delete(recent.keys().next().value!);
      recent.set(recentKey(e.workspaceId, e.key), e.response);
    },
  };
}

/** What one cell's LLM calls cost, summed by the client below. */
export type CallTally = {
  /** Requests the provider received for this cell, answered or not (an aborted call was still sent). */
  llmCalls: number;
  cachedCalls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  answeredInput: number;
  answeredOutput: number;
  model?: string;
  /** The task that paid for an answer this cell took from the cache or from a call in flight. */
  cachedFrom?: string;
  /** Answers to store in the cache, when the client defers that to the caller (the engine writes them with the cell). */
  cacheWrites?: CacheWrite[];
};
export const emptyTally = (): CallTally => ({ llmCalls: 0, cachedCalls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, answeredInput: 0, answeredOutput: 0 });

/** An answer as the cache stores it: the response and the task that paid for it. */
export type PaidResponse = LlmResponse & { paidBy?: string };
/** Requests in flight in this process, by workspace and cache key (see createLlmClient). */
export type Flights = Map<string, Promise<{ response: PaidResponse; paidBy?: string }>>;
export const createFlights = (): Flights => new Map();

/** Tokens of a request that reached the provider but whose answer never came back (about four characters a token). */
export const estimatedInputTokens = (req: Omit<LlmRequest, 'model' | 'signal'>) => Math.ceil(JSON.stringify(req.messages).length / 4);

/**
 * The longest a cell waits for another process's answer to the same request before asking itself:
 * two provider timeouts (60 s each by default). A claimant that crashed is taken over sooner, as
 * soon as it is counted out of engine_workers (8 s).
 */
const CLAIM_WAIT_MS = 120_000;
/** Pauses between looks at the cache while another process asks: from 25 ms, doubling up to 500 ms. */
const POLL_FIRST_MS = 25;
const POLL_MAX_MS = 500;

/** Waits `ms`, or rejects with LLM_ABORTED as soon as `signal` fires. */
function pauseUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return untilAborted(new Promise<void>((resolve) => setTimeout(resolve, ms).unref()), signal);
}

/** Rejects with LLM_ABORTED when `signal` fires before `promise` settles. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new LlmError('The task was cancelled', 'LLM_ABORTED', false));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new LlmError('The task was cancelled', 'LLM_ABORTED', false));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * The LlmClient handed to executors: cache first, then the provider through the limiter, with
 * tokens and cost added to `tally`. Cached answers cost nothing and are counted as cachedCalls;
 * `answered*` tokens include them, for the cell's metadata.
 *
 * Identical requests in flight at once are coalesced (`flights`): the first one looks up the cache
 * and calls the provider; the others wait for its answer and count as cached calls at no cost. A
 * waiter whose leader was cancelled asks again itself. Across processes (PostgreSQL), the leader
 * claims the request first (LlmCache.claim): a process finding it claimed polls the cache until
 * the answer is committed there, and is counted as cached too; a claim of a process that died is
 * taken over, and the wait is bounded (CLAIM_WAIT_MS).
 *
 * Every request the provider received counts in `llmCalls`, even when its answer is discarded (the
 * task was cancelled mid-call): tokens when the provider reported them, else the input estimated
 * from the request's text and priced like an answered call. Error answers (429, 5xx ...) count as
 * calls with no tokens: providers do not bill them.
 */
export function createLlmClient(
  deps: { registry: LlmRegistry; cache: LlmCache; limiter: Limiter; onCacheError: (err: unknown) => void; deferCacheWrites?: boolean; flights?: Flights; taskId?: string; claimWaitMs?: number },
  workspaceId: string,
  tally: CallTally,
  signal: AbortSignal,
): LlmClient {
  const flights = deps.flights ?? createFlights();

  async function lead(modelId: string, req: Omit<LlmRequest, 'model' | 'signal'>, key: string): Promise<{ response: PaidResponse; paidBy?: string; paid: boolean }> {
    // Cache first; on a miss, claim the request: if another process holds the claim it is asking
    // the provider right now, so wait for its answer to reach the cache (polling, with growing
    // pauses). A claim whose process died is taken over; after CLAIM_WAIT_MS this cell asks itself.
    const waitUntil = Date.now() + (deps.claimWaitMs ?? CLAIM_WAIT_MS);
    for (let pause = POLL_FIRST_MS; ; pause = Math.min(pause * 2, POLL_MAX_MS)) {
      const hit = (await deps.cache.get(workspaceId, key)) as PaidResponse | undefined;
      if (hit) return { response: hit, ...(hit.paidBy ? { paidBy: hit.paidBy } : {}), paid: false };
      if ((await deps.cache.claim(workspaceId, key)) || Date.now() >= waitUntil) break;
      await pauseUnlessAborted(pause, signal);
    }
    try {
      return await call(modelId, req, key);
    } catch (err) {
      // Nobody will store an answer: let a waiting process ask.
      deps.cache.release([{ workspaceId, key }]);
      throw err;
    }
  }

  async function call(modelId: string, req: Omit<LlmRequest, 'model' | 'signal'>, key: string): Promise<{ response: PaidResponse; paidBy?: string; paid: boolean }> {
    const { provider, model, providerName } = deps.registry.resolve(modelId);
    let sent = false;
    let response: LlmResponse;
    try {
      response = await deps.limiter.run(
        providerName,
        () => {
          // A call started after the abort is refused by the adapter before it leaves this process.
          sent = !signal.aborted;
          return provider.complete({ ...req, model, signal });
        },
        signal,
      );
    } catch (err) {
      if (sent && err instanceof LlmError && err.spent) {
        // Answers that came back and were refused (invalid structured output, re-asked): billed as reported.
        tally.llmCalls += err.spent.requests;
        tally.inputTokens += err.spent.usage.inputTokens;
        tally.outputTokens += err.spent.usage.outputTokens;
        tally.costUsd += costUsd(modelId, err.spent.usage).costUsd;
      } else if (sent) {
        tally.llmCalls++;
        if (err instanceof LlmError && err.code === 'LLM_ABORTED') {
          // The provider got the request and works on it: its input is paid for.
          const inputTokens = estimatedInputTokens(req);
          tally.inputTokens += inputTokens;
          tally.costUsd += costUsd(modelId, { inputTokens, outputTokens: 0 }).costUsd;
        }
      }
      throw err;
    }
    const cost = costUsd(modelId, response.usage).costUsd;
    tally.llmCalls += response.requests ?? 1;
    tally.inputTokens += response.usage.inputTokens;
    tally.outputTokens += response.usage.outputTokens;
    tally.costUsd += cost;
    const paid: PaidResponse = deps.taskId ? { ...response, paidBy: deps.taskId } : response;
    if (deps.deferCacheWrites) {
      const entry = { workspaceId, key, response: paid };
      deps.cache.remember(entry);
      (tally.cacheWrites ??= []).push(entry);
    } else await deps.cache.put(workspaceId, key, paid).catch(deps.onCacheError);
    return { response: paid, ...(deps.taskId ? { paidBy: deps.taskId } : {}), paid: true };
  }

  return {
    async complete(modelId, req) {
      const key = deps.cache.key(modelId, req);
      const id = `${workspaceId}/${key}`;
      tally.model = modelId;
      for (;;) {
        const shared = flights.get(id);
        if (shared) {
          let answer: { response: PaidResponse; paidBy?: string };
          try {
            answer = await untilAborted(shared, signal);
          } catch (err) {
            // The leader was cancelled or stopped: nobody answered this request yet, ask again.
            if (err instanceof LlmError && err.code === 'LLM_ABORTED' && !signal.aborted) continue;
            throw err;
          }
          return served(answer.response, answer.paidBy, modelId);
        }
        const mine = lead(modelId, req, key);
        const flight = mine.then(({ response, paidBy }) => ({ response, ...(paidBy ? { paidBy } : {}) }));
        flight.catch(() => undefined);
        flights.set(id, flight);
        let result: Awaited<typeof mine>;
        try {
          result = await mine;
        } finally {
          if (flights.get(id) === flight) flights.delete(id);
        }
        if (!result.paid) return served(result.response, result.paidBy, modelId);
        const { paidBy: _p, ...response } = result.response;
        tally.answeredInput += response.usage.inputTokens;
        tally.answeredOutput += response.usage.outputTokens;
        return { ...response, cached: false, costUsd: costUsd(modelId, response.usage).costUsd, modelId };
      }
    },
  };

  function served(hit: PaidResponse, paidBy: string | undefined, modelId: string) {
    tally.cachedCalls++;
    tally.answeredInput += hit.usage.inputTokens;
    tally.answeredOutput += hit.usage.outputTokens;
    if (paidBy) tally.cachedFrom ??= paidBy;
    const { paidBy: _p, ...response } = hit;
    return { ...response, cached: true, costUsd: 0, modelId };
  }
}
