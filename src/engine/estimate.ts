import type { ColumnRecord } from '../store/columns.ts';
import type { DatasetRecord } from '../store/datasets.ts';
import type { Store } from '../store/store.ts';
import { rowCells } from '../store/tasks.ts';
import { costUsd } from '../providers/llm/pricing.ts';
import type { LlmResponse } from '../providers/llm/llm.ts';
import type { LlmCache } from './cache.ts';
import { withReviewerFeedback, type LlmClient } from './executor.ts';
import { rejectedReviews } from '../store/review.ts';
import { cellId } from '../ids.ts';
import type { Executors } from './executors/index.ts';

export type Estimate = { cells: number; llmCalls: number; expectedCacheHits: number; inputTokens: number; outputTokens: number; costUsd: number; sampledCells: number };

/** Output tokens assumed per call: answers are one cell, and a JSON answer is usually shorter. */
const OUTPUT_TOKENS = { text: 120, json: 60 };
const SAMPLE = 500;

/**
 * A dry run: each sampled cell goes through its real executor with an LLM client that never calls
 * a provider. The client builds the exact cache key the engine would, so a cached request counts
 * as a hit; any other request counts as a call with tokens estimated from its text (about four
 * characters a token) and priced from the price table. Cells that read other cells of the same
 * task are estimated from those cells' current values. Large targets are sampled evenly and
 * scaled up.
 */
export async function estimateCells(deps: { store: Store; cache: LlmCache; executors: Executors; defaultModel: string }, ctx: { workspaceId: string; dataset: DatasetRecord; columns: ColumnRecord[] }, items: readonly { rowId: string; columnId: string }[]): Promise<Estimate> {
  const step = Math.max(1, Math.ceil(items.length / SAMPLE));
  const sample = items.filter((_, i) => i % step === 0);
  const totals = { llmCalls: 0, expectedCacheHits: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
  // A request made again within the same task is paid once: the cache answers the repeats (so do
  // the doc_extraction columns of a row, which share one request).
  const requested = new Set<string>();
  const llm: LlmClient = {
    async complete(modelId, req) {
      const key = deps.cache.key(modelId, req);
      const hit = await deps.cache.get(ctx.workspaceId, key);
      if (hit) {
        totals.expectedCacheHits++;
        return { ...hit, cached: true, costUsd: 0, modelId };
      }
      if (requested.has(key)) {
        totals.expectedCacheHits++;
        return { text: '', usage: { inputTokens: 0, outputTokens: 0 }, model: modelId, cached: true, costUsd: 0, modelId };
      }
      requested.add(key);
      const usage = { inputTokens: Math.ceil(JSON.stringify(req.messages).length / 4), outputTokens: req.jsonSchema ? OUTPUT_TOKENS.json : OUTPUT_TOKENS.text };
      totals.llmCalls++;
      totals.inputTokens += usage.inputTokens;
      totals.outputTokens += usage.outputTokens;
      totals.costUsd += costUsd(modelId, usage).costUsd;
      const stub: LlmResponse = { text: '', usage, model: modelId };
      return { ...stub, cached: false, costUsd: 0, modelId };
    },
  };
  const signal = new AbortController().signal;
  // A cell a reviewer rejected runs with the reviewer's feedback: its request is not the cached one.
  const rejected = await rejectedReviews(deps.store.db, sample);
  for (const item of sample) {
    const column = ctx.columns.find((c) => c.id === item.columnId);
    const executor = column && deps.executors[column.taskType];
    if (!column || !executor) continue;
    const row: Record<string, unknown> = {};
    const byId = new Map((await rowCells(deps.store.db, item.rowId)).map((c) => [c.columnId, c.value]));
    for (const c of ctx.columns) row[c.id] = row[c.name] = byId.get(c.id) ?? null;
    // The stub answer may not parse as the executor expects; the request it made is what counts.
    const pending = rejected.get(cellId(item.rowId, item.columnId));
    const client = pending ? withReviewerFeedback(llm, { value: 'rejectedValue' in pending ? pending.rejectedValue : (byId.get(column.id) ?? null), note: pending.review.note }, column.name) : llm;
    await executor.execute({ workspaceId: ctx.workspaceId, taskId: 'estimate', dataset: ctx.dataset, column, columns: ctx.columns, row, llm: client, defaultModel: deps.defaultModel, signal, dryRun: true }).catch(() => undefined);
  }
  const scale = sample.length ? items.length / sample.length : 0;
  return {
    cells: items.length,
    llmCalls: Math.round(totals.llmCalls * scale),
    expectedCacheHits: Math.round(totals.expectedCacheHits * scale),
    inputTokens: Math.round(totals.inputTokens * scale),
    outputTokens: Math.round(totals.outputTokens * scale),
    costUsd: Math.round(totals.costUsd * scale * 1e6) / 1e6,
    sampledCells: sample.length,
  };
}
