import { createHash } from 'node:crypto';
import type { LlmRequest, LlmResponse } from '../providers/llm/llm.ts';
import { costUsd } from '../providers/llm/pricing.ts';
import type { LlmRegistry } from '../providers/llm/registry.ts';
import type { Db, Store } from '../store/store.ts';
import type { LlmClient } from './executor.ts';
import type { Limiter } from './limiter.ts';

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
  /** Drops remembered answers once their transaction committed (the database has them now). */
  forget(entries: readonly CacheWrite[]): void;
};
export type CacheWrite = { workspaceId: string; key: string; response: LlmResponse };

/** Answers remembered until their commit: bounded, oldest dropped first. */
const RECENT = 2000;

type Lookup = { workspaceId: string; key: string; waiters: { resolve(r: LlmResponse | undefined): void; reject(err: unknown): void }[] };

export function createLlmCache(store: Store): LlmCache {
  const recent = new Map<string, LlmResponse>();
  const recentKey = (workspaceId: string, key: string) => `${workspaceId}/${key}`;

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
      const material = JSON.stringify([modelId, req.messages, req.jsonSchema ?? null, req.temperature ?? null, req.logprobs ?? false, req.maxTokens ?? null]);
      return createHash('sha256').update(material).digest('hex');
    },
    async get(workspaceId, key) {
      const remembered = recent.get(recentKey(workspaceId, key));
      if (remembered) return remembered;
      return lookup(workspaceId, key);
    },
    put(workspaceId, key, response) {
      return this.putMany(store.db, [{ workspaceId, key, response }]);
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
    },
    remember(e) {
      if (recent.size >= RECENT) recent.delete(recent.keys().next().value!);
      recent.set(recentKey(e.workspaceId, e.key), e.response);
    },
  };
}

/** What one cell's LLM calls cost, summed by the client below. */
export type CallTally = {
  llmCalls: number;
  cachedCalls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  answeredInput: number;
  answeredOutput: number;
  model?: string;
  /** Answers to store in the cache, when the client defers that to the caller (the engine writes them with the cell). */
  cacheWrites?: CacheWrite[];
};
export const emptyTally = (): CallTally => ({ llmCalls: 0, cachedCalls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, answeredInput: 0, answeredOutput: 0 });

/**
 * The LlmClient handed to executors: cache first, then the provider through the limiter, with
 * tokens and cost added to `tally`. Cached answers cost nothing and are counted as cachedCalls;
 * `answered*` tokens include them, for the cell's metadata.
 */
export function createLlmClient(deps: { registry: LlmRegistry; cache: LlmCache; limiter: Limiter; onCacheError: (err: unknown) => void; deferCacheWrites?: boolean }, workspaceId: string, tally: CallTally, signal: AbortSignal): LlmClient {
  return {
    async complete(modelId, req) {
      const key = deps.cache.key(modelId, req);
      const hit = await deps.cache.get(workspaceId, key);
      tally.model = modelId;
      if (hit) {
        tally.cachedCalls++;
        tally.answeredInput += hit.usage.inputTokens;
        tally.answeredOutput += hit.usage.outputTokens;
        return { ...hit, cached: true, costUsd: 0, modelId };
      }
      const { provider, model, providerName } = deps.registry.resolve(modelId);
      const response = await deps.limiter.run(providerName, () => provider.complete({ ...req, model, signal }), signal);
      const cost = costUsd(modelId, response.usage).costUsd;
      tally.llmCalls++;
      tally.inputTokens += response.usage.inputTokens;
      tally.outputTokens += response.usage.outputTokens;
      tally.answeredInput += response.usage.inputTokens;
      tally.answeredOutput += response.usage.outputTokens;
      tally.costUsd += cost;
      if (deps.deferCacheWrites) {
        const entry = { workspaceId, key, response };
        deps.cache.remember(entry);
        (tally.cacheWrites ??= []).push(entry);
      }
      else await deps.cache.put(workspaceId, key, response).catch(deps.onCacheError);
      return { ...response, cached: false, costUsd: cost, modelId };
    },
  };
}
