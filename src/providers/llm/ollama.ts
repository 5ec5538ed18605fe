import { z } from 'zod';
import { DEFAULT_TIMEOUT_MS, postJson } from './http.ts';
import { completeWithSchema } from './json-schema.ts';
import type { ChatMessage, LlmProvider, LlmRequest, LlmResponse, TokenLogprob } from './llm.ts';

/**
 * Ollama's native `POST /api/chat`. Preferred over its OpenAI-compatible `/v1` because `format`
 * takes a JSON Schema directly (grammar-constrained decoding) on every Ollama version since 0.5.
 */
export type OllamaOptions = {
  /** e.g. `http://127.0.0.1:11434` (no path). */
  baseUrl?: string;
  /** Per HTTP call, body included. Default 60 s (a cold model load can take longer: raise it). */
  timeoutMs?: number;
  fetch?: typeof fetch;
};

export const OLLAMA_DEFAULT_BASE_URL = 'http://127.0.0.1:11434';

const TopLogprob = z.object({ token: z.string(), logprob: z.number() });

const ChatAnswer = z.object({
  model: z.string().nullish(),
  message: z.object({ content: z.string().nullish() }),
  done_reason: z.string().nullish(),
  // Absent when the prompt was fully served from Ollama's KV cache.
  prompt_eval_count: z.number().nullish(),
  eval_count: z.number().nullish(),
  // Newer Ollama versions return these when `logprobs: true`; older ones ignore the flag.
  logprobs: z.array(TopLogprob.extend({ top_logprobs: z.array(TopLogprob).nullish() })).nullish(),
});
type ChatAnswer = z.infer<typeof ChatAnswer>;

export function createOllamaProvider(options: OllamaOptions = {}): LlmProvider {
  const name = 'ollama';
  const url = `${(options.baseUrl ?? OLLAMA_DEFAULT_BASE_URL).replace(/\/+$/, '')}/api/chat`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const fetchImpl = options.fetch ?? fetch;

  return {
    name,
    complete(req: LlmRequest): Promise<LlmResponse> {
      const send = async (messages: ChatMessage[]): Promise<LlmResponse> => {
        const body: Record<string, unknown> = { model: req.model, messages, stream: false };
        // Ollama's format accepts any schema root, so no object wrapping is needed here.
        if (req.jsonSchema) body.format = req.jsonSchema.schema;
        const modelOptions: Record<string, number> = {};
        if (req.temperature !== undefined) modelOptions.temperature = req.temperature;
        if (req.maxTokens !== undefined) modelOptions.num_predict = req.maxTokens;
        if (Object.keys(modelOptions).length) body.options = modelOptions;
        if (req.logprobs) {
          body.logprobs = true;
          body.top_logprobs = req.topLogprobs ?? 5;
        }
        const answer = await postJson({ provider: name, url, body, timeoutMs, signal: req.signal, fetch: fetchImpl }, ChatAnswer);
        return toResponse(answer, req.model);
      };
      return completeWithSchema(name, req, send);
    },
  };
}

function toResponse(answer: ChatAnswer, requestedModel: string): LlmResponse {
  const response: LlmResponse = {
    text: answer.message.content ?? '',
    usage: { inputTokens: answer.prompt_eval_count ?? 0, outputTokens: answer.eval_count ?? 0 },
    model: answer.model || requestedModel,
  };
  if (answer.done_reason) response.finishReason = answer.done_reason;
  if (answer.logprobs) {
    response.logprobs = answer.logprobs.map((entry) => {
      const out: TokenLogprob = { token: entry.token, logprob: entry.logprob };
      if (entry.top_logprobs) out.top = entry.top_logprobs.map((t) => ({ token: t.token, logprob: t.logprob }));
      return out;
    });
  }
  return response;
}
