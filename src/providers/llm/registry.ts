import { keepAliveFetch } from './keep-alive-fetch.ts';
import { createAnthropicProvider } from './anthropic.ts';
import { LlmError, type LlmProvider } from './llm.ts';
import { createOllamaProvider } from './ollama.ts';
import { createOpenAiCompatibleProvider } from './openai-compatible.ts';

/** LLM endpoints, as read by config.ts (OPENAI_BASE_URL ...). Unset values take the vendor defaults. */
export type LlmConfig = {
  openaiBaseUrl?: string;
  openaiApiKey?: string;
  anthropicBaseUrl?: string;
  anthropicApiKey?: string;
  ollamaBaseUrl?: string;
  /** Per HTTP call, for every provider. Default 60 s. */
  timeoutMs?: number;
};

/** A `provider:model` id split and bound to the adapter that serves it. */
export type ResolvedModel = {
  provider: LlmProvider;
  /** The part after `provider:`, as the vendor names it (may itself contain `:`, e.g. `llama3.1:8b`). */
  model: string;
  providerName: KnownProvider;
};

export type LlmRegistry = {
  /** Resolves `openai:gpt-4o-mini`; throws LlmError LLM_BAD_REQUEST (not retryable) for a bad id. */
  resolve(modelId: string): ResolvedModel;
};

export const KNOWN_PROVIDERS = ['openai', 'anthropic', 'ollama'] as const;
export type KnownProvider = (typeof KNOWN_PROVIDERS)[number];

/** Splits at the first `:` only, so Ollama tags survive. Throws LLM_BAD_REQUEST when malformed. */
export function parseModelId(modelId: string): { providerName: KnownProvider; model: string } {
  const at = modelId.indexOf(':');
  const providerName = (at > 0 ? modelId.slice(0, at) : '').trim().toLowerCase();
  const model = at > 0 ? modelId.slice(at + 1).trim() : '';
  if (!(KNOWN_PROVIDERS as readonly string[]).includes(providerName)) {
    const what = at > 0 ? `unknown LLM provider "${providerName}"` : `model "${modelId}" has no provider`;
    throw new LlmError(`${what}: use provider:model with one of ${KNOWN_PROVIDERS.join(', ')} (e.g. openai:gpt-4o-mini)`, 'LLM_BAD_REQUEST', false);
  }
  if (!model) throw new LlmError(`model id "${modelId}" names no model after "${providerName}:"`, 'LLM_BAD_REQUEST', false);
  return { providerName: providerName as KnownProvider, model };
}

/**
 * One adapter per provider, built up front (they hold only configuration). Config is passed in,
 * never read from process.env, so tests point every provider at local fakes.
 */
export function createLlmRegistry(config: LlmConfig, fetchImpl: typeof fetch = keepAliveFetch): LlmRegistry {
  const timeoutMs = config.timeoutMs;
  const providers: Record<KnownProvider, LlmProvider> = {
    openai: createOpenAiCompatibleProvider({ baseUrl: config.openaiBaseUrl, apiKey: config.openaiApiKey, timeoutMs, fetch: fetchImpl }),
    anthropic: createAnthropicProvider({ baseUrl: config.anthropicBaseUrl, apiKey: config.anthropicApiKey, timeoutMs, fetch: fetchImpl }),
    ollama: createOllamaProvider({ baseUrl: config.ollamaBaseUrl, timeoutMs, fetch: fetchImpl }),
  };
  return {
    resolve(modelId) {
      const { providerName, model } = parseModelId(modelId);
      return { provider: providers[providerName], model, providerName };
    },
  };
}
