import type { ColumnRecord } from '../store/columns.ts';
import type { DatasetRecord } from '../store/datasets.ts';
import type { LlmRequest, LlmResponse } from '../providers/llm/llm.ts';

/**
 * The contract between the engine and a task type. The engine claims a cell, builds the context,
 * calls `execute`, and writes the result with the bookkeeping metadata (model, usage, cost, cached,
 * taskId, processedAt, attempts, needsReview); the executor only turns a row into a value. New task
 * types (doc_extraction, web_enrich, places_count) add a file under executors/ and a line in
 * executors/index.ts; the engine does not change.
 */

/** An LLM call as executors make it: by `provider:model` id, through the cache, limiter and accounting. */
export type LlmCallResult = LlmResponse & { cached: boolean; costUsd: number; modelId: string };
export type LlmClient = { complete(modelId: string, req: Omit<LlmRequest, 'model' | 'signal'>): Promise<LlmCallResult> };

export type ExecutionContext = {
  workspaceId: string;
  taskId: string;
  dataset: DatasetRecord;
  /** The column being computed. */
  column: ColumnRecord;
  /** Every column of the dataset, in position order. */
  columns: readonly ColumnRecord[];
  /** The row's values, keyed by column id and by column name. */
  row: Record<string, unknown>;
  llm: LlmClient;
  /** The default `provider:model` (CELLWISE_MODEL) when the column names none. */
  defaultModel: string;
  /** Fires when the task is cancelled or the worker stops: pass it on to any outside call. */
  signal: AbortSignal;
  /**
   * A cost estimate, not a run (engine/estimate.ts): make the LLM request the run would make, but
   * no outside call with effects or cost of its own (web fetches, searches); approximate instead.
   */
  dryRun?: boolean;
  /**
   * A reviewer rejected this cell's previous answer (issue 19): the engine's LLM client adds the
   * note and the rejected value to every request the executor makes (see withReviewerFeedback).
   */
  rejected?: RejectedAnswer;
};

/** The answer a reviewer rejected, and why. */
export type RejectedAnswer = { value: unknown; note: string | null };

/**
 * An LLM client that tells the model about a rejected answer: the reviewer's note and the answer
 * it replaces go at the end of the last user turn of every request (one place for every task
 * type; a trailing turn of its own would make two user turns in a row, which some vendors merge or
 * refuse). The request differs from the one that gave the rejected answer, so the cache cannot
 * serve that answer again.
 */
export function withReviewerFeedback(llm: LlmClient, rejected: RejectedAnswer, columnName: string): LlmClient {
  const previous = valueText(rejected.value);
  const feedback =
    `Reviewer feedback: a person checked the previous answer for "${columnName}" in this row and rejected it.` +
    `\nRejected answer: ${previous.length > ROW_VALUE_MAX_CHARS ? `${previous.slice(0, ROW_VALUE_MAX_CHARS)}…` : previous}` +
    (rejected.note ? `\nReviewer's note: ${rejected.note}` : '') +
    '\nTake this feedback into account in your new answer.';
  return {
    complete(modelId, req) {
      const messages = [...req.messages];
      let last = -1;
      for (let i = messages.length - 1; i >= 0 && last < 0; i--) if (messages[i]!.role === 'user') last = i;
      if (last < 0) messages.push({ role: 'user', content: feedback });
      else messages[last] = { ...messages[last]!, content: `${messages[last]!.content}\n\n${feedback}` };
      return llm.complete(modelId, { ...req, messages });
    },
  };
}

export type Source = { type: 'web' | 'document' | 'map'; url?: string; title?: string; quote?: string; page?: number; datasourceId?: string; provider?: string };
export type ExecutionResult = { value: unknown; metadata?: { confidence?: number; sources?: Source[]; [key: string]: unknown } };

export type Executor = { execute(ctx: ExecutionContext): Promise<ExecutionResult> };

/**
 * A failure of the executor itself (bad input in the row, a task type not built yet). Like an
 * LlmError it ends on the cell as `{code, message, retryable}`, never as an HTTP error.
 */
export class CellError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

/** A row value as prompt text: strings as they are, objects and arrays as JSON, null as nothing. */
export function valueText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Longest value sent per column when a request carries the whole row; longer values are cut and marked with "…". */
export const ROW_VALUE_MAX_CHARS = 1000;

/**
 * The row as context (SPEC section 4): the values of the columns this column reads (for a
 * row-reading column: every other column except those that read it, see engine/dependencies.ts
 * readsRow), one `Name: value` line each in column order, empty values left out, each value cut at
 * ROW_VALUE_MAX_CHARS. Empty string when nothing is to be sent.
 */
export function rowContext(ctx: Pick<ExecutionContext, 'column' | 'columns' | 'row'>): string {
  const read = new Set(ctx.column.dependsOn);
  const lines: string[] = [];
  for (const c of ctx.columns) {
    if (!read.has(c.id) || c.id === ctx.column.id) continue;
    const text = valueText(ctx.row[c.id]);
    if (!text) continue;
    lines.push(`${c.name}: ${text.length > ROW_VALUE_MAX_CHARS ? `${text.slice(0, ROW_VALUE_MAX_CHARS)}…` : text}`);
  }
  return lines.join('\n');
}

/**
 * Confidence from token log-probabilities: the geometric mean of the answer tokens' probabilities,
 * exp(mean(logprob)), rounded to 4 decimals. 1 means every token was certain; one unlikely token in
 * a short answer pulls it down sharply. Undefined without log-probabilities.
 */
export function logprobConfidence(tokens: readonly { logprob: number }[] | undefined): number | undefined {
  if (!tokens?.length) return undefined;
  const mean = tokens.reduce((s, t) => s + t.logprob, 0) / tokens.length;
  return Math.round(Math.min(1, Math.exp(mean)) * 1e4) / 1e4;
}

/** Providers asked for token log-probabilities (Anthropic has none). Whether they come back is known only from each answer: ai_enrich and classification also ask for a self-rating in the same call, used when they do not. */
export const givesLogprobs = (modelId: string) => !modelId.startsWith('anthropic:');
