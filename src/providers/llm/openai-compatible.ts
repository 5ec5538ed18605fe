import { z } from 'zod';
import { DEFAULT_TIMEOUT_MS, postJson } from './http.ts';
import { completeWithSchema, isStrictCompatible, objectRoot, schemaName } from './json-schema.ts';
import type { ChatMessage, LlmProvider, LlmRequest, LlmResponse, TokenLogprob } from './llm.ts';

/**
 * Any server speaking OpenAI's `/chat/completions`: OpenAI itself, vLLM, llama.cpp's server,
 * LM Studio, OpenRouter, Ollama's `/v1`. Only fields all of them accept are sent unless asked for.
 */
export type OpenAiCompatibleOptions = {
  /** Base URL including the version path, e.g. `http://127.0.0.1:8000/v1`. */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer <key>`; local servers usually need none. */
  apiKey?: string;
  /** Per HTTP call, body included. Default 60 s. */
  timeoutMs?: number;
  /** The provider part of model ids; `openai` unless registered under another name. */
  name?: string;
  /**
   * OpenAI's current models reject `max_tokens` in favour of `max_completion_tokens`, which older
   * llama.cpp/LM Studio builds ignore. Default: `max_completion_tokens` for api.openai.com, else `max_tokens`.
   */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
  fetch?: typeof fetch;
};

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

const TopLogprob = z.object({ token: z.string(), logprob: z.number() });
const ContentLogprob = TopLogprob.extend({ top_logprobs: z.array(TopLogprob).nullish() });

/** The subset of a chat completion we read; nullish because compatible servers omit or null fields. */
const ChatCompletion = z.object({
  model: z.string().nullish(),
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.string().nullish(),
          refusal: z.string().nullish(),
          tool_calls: z
            .array(
              z.object({
                // Some compatible servers send arguments as an object instead of a JSON string.
                function: z.object({ name: z.string().nullish(), arguments: z.union([z.string(), z.record(z.string(), z.unknown())]) }),
              }),
            )
            .nullish(),
        }),
        finish_reason: z.string().nullish(),
        logprobs: z.object({ content: z.array(ContentLogprob).nullish() }).nullish(),
      }),
    )
    .min(1),
  usage: z.object({ prompt_tokens: z.number().nullish(), completion_tokens: z.number().nullish() }).nullish(),
});
type ChatCompletion = z.infer<typeof ChatCompletion>;

/**
 * Structured output goes as `response_format: json_schema`, `strict: true` when OpenAI's strict
 * subset accepts the schema (else strict would be a 400; see isStrictCompatible), non-object roots
 * wrapped (see objectRoot). Either way the answer is validated and re-asked once.
 */
export function createOpenAiCompatibleProvider(options: OpenAiCompatibleOptions = {}): LlmProvider {
  const name = options.name ?? 'openai';
  const baseUrl = (options.baseUrl ?? OPENAI_DEFAULT_BASE_URL).replace(/\/+$/, '');
  const url = `${baseUrl}/chat/completions`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const fetchImpl = options.fetch ?? fetch;
  const maxTokensField = options.maxTokensField ?? (/^https:\/\/api\.openai\.com\//.test(url) ? 'max_completion_tokens' : 'max_tokens');
  const headers: Record<string, string> = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};

  return {
    name,
    complete(req: LlmRequest): Promise<LlmResponse> {
      const root = req.jsonSchema ? objectRoot(req.jsonSchema.schema) : undefined;
      const strict = root ? isStrictCompatible(root.schema) : false;
      const send = async (messages: ChatMessage[]): Promise<LlmResponse> => {
        const body: Record<string, unknown> = { model: req.model, messages };
        if (req.temperature !== undefined) body.temperature = req.temperature;
        if (req.maxTokens !== undefined) body[maxTokensField] = req.maxTokens;
        if (req.jsonSchema && root) {
          body.response_format = { type: 'json_schema', json_schema: { name: schemaName(req.jsonSchema.name), schema: root.schema, strict } };
        }
        if (req.logprobs) {
          body.logprobs = true;
          body.top_logprobs = req.topLogprobs ?? 5;
        }
        const answer = await postJson({ provider: name, url, headers, body, timeoutMs, signal: req.signal, fetch: fetchImpl }, ChatCompletion);
        return toResponse(answer, req.model);
      };
      return completeWithSchema(name, req, send, root?.wrapped ?? false);
    },
  };
}

function toResponse(answer: ChatCompletion, requestedModel: string): LlmResponse {
  const choice = answer.choices[0]!;
  const { content, tool_calls: toolCalls, refusal } = choice.message;
  // A server may answer a structured request with a tool call instead of content (some vLLM/
  // llama.cpp chat templates do): its arguments are the answer.
  const args = toolCalls?.[0]?.function.arguments;
  let text = content ?? '';
  if (!text && args !== undefined) text = typeof args === 'string' ? args : JSON.stringify(args);
  // A refusal becomes the text: with a schema it then fails validation like any other non-answer.
  if (!text && refusal) text = refusal;
  const response: LlmResponse = {
    text,
    usage: { inputTokens: answer.usage?.prompt_tokens ?? 0, outputTokens: answer.usage?.completion_tokens ?? 0 },
    model: answer.model || requestedModel,
  };
  if (choice.finish_reason) response.finishReason = choice.finish_reason;
  const logprobs = choice.logprobs?.content;
  if (logprobs) response.logprobs = logprobs.map(toTokenLogprob);
  return response;
}

function toTokenLogprob(entry: z.infer<typeof ContentLogprob>): TokenLogprob {
  const out: TokenLogprob = { token: entry.token, logprob: entry.logprob };
  if (entry.top_logprobs) out.top = entry.top_logprobs.map((t) => ({ token: t.token, logprob: t.logprob }));
  return out;
}
