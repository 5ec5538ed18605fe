import { z } from 'zod';
import type { LlmResponse } from './llm.ts';

/** USD per 1,000,000 tokens. */
export const Price = z.object({ input: z.number().nonnegative(), output: z.number().nonnegative() });
export type Price = z.infer<typeof Price>;

/**
 * The operator's price table, e.g. from an environment variable holding JSON:
 * `{ "openai:my-finetune": { "input": 0.3, "output": 1.2 }, "openai:*": { "input": 0, "output": 0 } }`.
 * Keys are `provider:model`, or `provider:*` for every model of a provider (a self-hosted vLLM).
 */
export const PriceOverrides = z.record(z.string().regex(/^[a-z0-9_-]+:.+$/, 'must look like provider:model or provider:*'), Price);
export type PriceOverrides = z.infer<typeof PriceOverrides>;

/**
 * List prices at the time of writing (standard tier, no batch or cache discounts). Vendors change
 * them; operators correct them with overrides rather than waiting for a release.
 */
export const DEFAULT_PRICES: Readonly<Record<string, Price>> = Object.freeze({
  'openai:gpt-4o-mini': { input: 0.15, output: 0.6 },
  'openai:gpt-4o': { input: 2.5, output: 10 },
  'openai:gpt-4.1': { input: 2, output: 8 },
  'openai:gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'openai:gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'openai:o4-mini': { input: 1.1, output: 4.4 },
  'openai:gpt-5': { input: 1.25, output: 10 },
  'openai:gpt-5-mini': { input: 0.25, output: 2 },
  'openai:gpt-5-nano': { input: 0.05, output: 0.4 },
  'anthropic:claude-3-haiku': { input: 0.25, output: 1.25 },
  'anthropic:claude-3-5-haiku': { input: 0.8, output: 4 },
  'anthropic:claude-haiku-4-5': { input: 1, output: 5 },
  'anthropic:claude-3-5-sonnet': { input: 3, output: 15 },
  'anthropic:claude-3-7-sonnet': { input: 3, output: 15 },
  'anthropic:claude-sonnet-4': { input: 3, output: 15 },
  'anthropic:claude-sonnet-4-5': { input: 3, output: 15 },
  'anthropic:claude-opus-4': { input: 15, output: 75 },
  'anthropic:claude-opus-4-1': { input: 15, output: 75 },
  // Local models cost nothing per token (the operator pays for the machine, not the call).
  'ollama:*': { input: 0, output: 0 },
});

/**
 * Parses an operator's JSON price table; throws an Error listing every problem (for config.ts to
 * report alongside the other settings).
 */
export function parsePriceOverrides(json: string): PriceOverrides {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error('price overrides must be a JSON object like {"openai:gpt-4o-mini": {"input": 0.15, "output": 0.6}}');
  }
  const parsed = PriceOverrides.safeParse(raw);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  }
  return parsed.data;
}

/** Finds the price of `provider:model`: overrides first, then defaults; exact, undated, `provider:*`. */
export function priceOf(modelId: string, overrides: PriceOverrides = {}): Price | undefined {
  const keys = candidateKeys(modelId);
  for (const table of [overrides, DEFAULT_PRICES]) {
    for (const key of keys) {
      const price = table[key];
      if (price) return price;
    }
  }
  return undefined;
}

/**
 * The cost of one response in USD. An unknown model costs 0 with `priced: false`, so a cell still
 * completes and the operator can see (and fix) which models lack a price.
 */
export function costUsd(modelId: string, usage: LlmResponse['usage'], overrides?: PriceOverrides): { costUsd: number; priced: boolean } {
  const price = priceOf(modelId, overrides);
  if (!price) return { costUsd: 0, priced: false };
  const usd = (usage.inputTokens * price.input + usage.outputTokens * price.output) / 1_000_000;
  // Rounded to 1e-10 USD so sums of many cells do not show float noise like 0.30000000000000004.
  return { costUsd: Math.round(usd * 1e10) / 1e10, priced: true };
}

/**
 * `anthropic:claude-sonnet-4-20250514` and `openai:gpt-4o-mini-2024-07-18` are dated snapshots of the
 * same priced model (so is `-latest`); only such suffixes are stripped, never a variant name like
 * `-audio-preview`, which is priced differently.
 */
function candidateKeys(modelId: string): string[] {
  const id = modelId.trim();
  const at = id.indexOf(':');
  const provider = at > 0 ? id.slice(0, at).toLowerCase() : '';
  const model = at > 0 ? id.slice(at + 1) : id;
  const keys = [`${provider}:${model}`];
  const undated = model.replace(/-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$/, '');
  if (undated !== model) keys.push(`${provider}:${undated}`);
  keys.push(`${provider}:*`);
  return keys;
}
