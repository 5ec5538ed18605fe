import { echoText, replyText, schemaAnswer, startFakeServer, type FakeLlmServer, type FakeProtocol, type FakeReply, type FakeServerOptions } from './fake-llm-server.ts';

export type { FakeLlmServer, FakeReply, FakeServerOptions, RecordedRequest } from './fake-llm-server.ts';

/**
 * A fake Anthropic Messages API: `POST /v1/messages` (give adapters `server.baseUrl`, the bare
 * origin). Default answers are deterministic from the request:
 * - a forced tool (`tool_choice: {type:'tool', name}`): a `tool_use` block whose input is a minimal
 *   object valid for the tool's `input_schema`;
 * - otherwise a text block `fake answer <sha1 of the last user message>`.
 * Errors use Anthropic's shape (`{type:'error', error:{type, message}}`); status 529 is "overloaded".
 * Log-probabilities do not exist in this API; scripted ones are ignored.
 */
export function startFakeAnthropic(options: FakeServerOptions = {}): Promise<FakeLlmServer> {
  return startFakeServer(anthropicProtocol, options);
}

type Tool = { name?: string; input_schema?: unknown };
type ToolChoice = { type?: string; name?: string };

const anthropicProtocol: FakeProtocol = {
  path: '/v1/messages',
  basePath: '',
  defaultReply(req): FakeReply {
    const choice = req.body.tool_choice as ToolChoice | undefined;
    const tools = (req.body.tools as Tool[] | undefined) ?? [];
    const forced = choice?.type === 'tool' ? choice.name : choice?.type === 'any' ? tools[0]?.name : undefined;
    const tool = forced ? tools.find((t) => t.name === forced) : undefined;
    if (tool) return { kind: 'tool-call', name: tool.name, arguments: schemaAnswer(tool.input_schema ?? {}, req.body) };
    return { kind: 'text', text: echoText(req.body) };
  },
  render(reply, req, usage) {
    let content: unknown[];
    // A structured ('json') answer to a forced tool comes back as that tool's input, as Claude does.
    const forced = (req.body.tool_choice as ToolChoice | undefined)?.name;
    const asTool = reply.kind === 'tool-call' || (reply.kind === 'json' && forced !== undefined);
    if (asTool) {
      const input = reply.kind === 'json' ? reply.value : typeof reply.arguments === 'string' ? safeParse(reply.arguments) : reply.arguments;
      const name = reply.kind === 'tool-call' && reply.name ? reply.name : (forced ?? 'output');
      content = [{ type: 'tool_use', id: `toolu_fake_${req.index}`, name, input }];
    } else {
      content = [{ type: 'text', text: replyText(reply) }];
    }
    return {
      id: `msg_fake_${req.index}`,
      type: 'message',
      role: 'assistant',
      model: req.body.model ?? 'fake',
      content,
      stop_reason: asTool ? 'tool_use' : reply.kind === 'text' && reply.finishReason ? reply.finishReason : 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: usage.input, output_tokens: usage.output },
    };
  },
  renderError(status, message) {
    const types: Record<number, string> = {
      400: 'invalid_request_error',
      401: 'authentication_error',
      403: 'permission_error',
      404: 'not_found_error',
      413: 'request_too_large',
      429: 'rate_limit_error',
      529: 'overloaded_error',
    };
    return { type: 'error', error: { type: types[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'), message } };
  },
};

/** A string tool input that is not JSON is passed through as a string (an invalid answer to test). */
function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
