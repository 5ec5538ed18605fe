import { z } from 'zod';
import { DEFAULT_TIMEOUT_MS, postJson } from './http.ts';
import { completeWithSchema, objectRoot, schemaName } from './json-schema.ts';
import type { ChatMessage, LlmProvider, LlmRequest, LlmResponse } from './llm.ts';

/** Anthropic's Messages API (`POST /v1/messages`). */
export type AnthropicOptions = {
  /** Without the version path, e.g. `https://api.anthropic.com`. */
  baseUrl?: string;
  /** Sent as `x-api-key`. */
  apiKey?: string;
  /** Per HTTP call, body included. Default 60 s. */
  timeoutMs?: number;
  /** Anthropic requires max_tokens on every request; used when the request sets none. Default 4096. */
  defaultMaxTokens?: number;
  fetch?: typeof fetch;
};

export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';
const ANTHROPIC_VERSION = '2023-06-01';

const Message = z.object({
  model: z.string().nullish(),
  // Loose blocks: newer block types (thinking, server tools) must not break parsing of the rest.
  content: z.array(z.looseObject({ type: z.string(), text: z.string().optional(), name: z.string().optional(), input: z.unknown().optional() })),
  stop_reason: z.string().nullish(),
  usage: z.object({
    input_tokens: z.number(),
    output_tokens: z.number(),
    cache_creation_input_tokens: z.number().nullish(),
    cache_read_input_tokens: z.number().nullish(),
  }),
});
type Message = z.infer<typeof Message>;

export function createAnthropicProvider(options: AnthropicOptions = {}): LlmProvider {
  const name = 'anthropic';
  const url = `${(options.baseUrl ?? ANTHROPIC_DEFAULT_BASE_URL).replace(/\/+$/, '')}/v1/messages`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const fetchImpl = options.fetch ?? fetch;
  const defaultMaxTokens = options.defaultMaxTokens ?? 4096;
  const headers: Record<string, string> = { 'anthropic-version': ANTHROPIC_VERSION };
  if (options.apiKey) headers['x-api-key'] = options.apiKey;

  return {
    name,
    complete(req: LlmRequest): Promise<LlmResponse> {
      const root = req.jsonSchema ? objectRoot(req.jsonSchema.schema) : undefined;
      const toolName = req.jsonSchema ? schemaName(req.jsonSchema.name) : undefined;
      const send = async (messages: ChatMessage[]): Promise<LlmResponse> => {
        // Anthropic has no system role inside `messages`: every system turn goes to the top level.
        const system = messages.filter((m) => m.role === 'system').map((m) => m.content);
        const body: Record<string, unknown> = {
          model: req.model,
          max_tokens: req.maxTokens ?? defaultMaxTokens,
          messages: messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role, content: m.content })),
        };
        if (system.length) body.system = system.join('\n\n');
        if (req.temperature !== undefined) body.temperature = req.temperature;
        if (root && toolName) {
          // Anthropic has no JSON mode: forcing a single tool makes its `input` the structured answer.
          body.tools = [{ name: toolName, description: 'Record the answer in the required structure.', input_schema: root.schema }];
          body.tool_choice = { type: 'tool', name: toolName };
        }
        const answer = await postJson({ provider: name, url, headers, body, timeoutMs, signal: req.signal, fetch: fetchImpl }, Message);
        return toResponse(answer, req.model, toolName);
      };
      return completeWithSchema(name, req, send, root?.wrapped ?? false);
    },
  };
}

function toResponse(answer: Message, requestedModel: string, toolName: string | undefined): LlmResponse {
  const tool = toolName ? answer.content.find((b) => b.type === 'tool_use') : undefined;
  const text =
    tool && tool.input !== undefined
      ? JSON.stringify(tool.input)
      : answer.content
          .filter((b) => b.type === 'text')
          .map((b) => b.text ?? '')
          .join('');
  const u = answer.usage;
  const response: LlmResponse = {
    text,
    // Prompt-cache reads/writes are input too; cellwise sets no cache breakpoints, so they are rare.
    usage: { inputTokens: u.input_tokens + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0), outputTokens: u.output_tokens },
    model: answer.model || requestedModel,
  };
  if (answer.stop_reason) response.finishReason = answer.stop_reason;
  return response;
}
