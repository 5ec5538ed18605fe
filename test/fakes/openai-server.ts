import {
  echoText,
  exampleFor,
  fakeLogprobs,
  schemaAnswer,
  replyText,
  startFakeServer,
  type FakeLlmServer,
  type FakeLogprob,
  type FakeProtocol,
  type FakeReply,
  type FakeServerOptions,
} from './fake-llm-server.ts';

export type { FakeBody, FakeLlmServer, FakeReply, FakeServerOptions, RecordedRequest } from './fake-llm-server.ts';

/**
 * A fake OpenAI-compatible server: `POST /v1/chat/completions` (give adapters `server.baseUrl`,
 * which ends in `/v1`). Default answers are deterministic from the request:
 * - `response_format.type === 'json_schema'`: a minimal object valid for the schema (the self-rating
 *   wrapper `{value, confidence}`: the echo text below, rated 0.9; see schemaAnswer);
 * - a forced tool (`tool_choice: {type:'function', function:{name}}` or `'required'`): a tool call
 *   whose arguments are a minimal object for the tool's parameters;
 * - otherwise `fake answer <sha1 of the last user message>`;
 * - `logprobs: true` adds synthetic log-probabilities with `top_logprobs` alternatives, unless the
 *   server was started with `omitLogprobs` (a server that ignores the request, as many do).
 */
export function startFakeOpenAI(options: FakeServerOptions = {}): Promise<FakeLlmServer> {
  return startFakeServer(openAiProtocol, options);
}

type ResponseFormat = { type?: string; json_schema?: { schema?: unknown } };
type Tool = { function?: { name?: string; parameters?: unknown } };
type ToolChoice = string | { type?: string; function?: { name?: string } };

const openAiProtocol: FakeProtocol = {
  path: '/v1/chat/completions',
  basePath: '/v1',
  defaultReply(req): FakeReply {
    const body = req.body;
    const format = body.response_format as ResponseFormat | undefined;
    if (format?.type === 'json_schema') return { kind: 'json', value: schemaAnswer(format.json_schema?.schema ?? {}, body) };
    const tools = (body.tools as Tool[] | undefined) ?? [];
    const choice = body.tool_choice as ToolChoice | undefined;
    const forced = typeof choice === 'object' ? choice.function?.name : choice === 'required' ? tools[0]?.function?.name : undefined;
    const tool = forced ? tools.find((t) => t.function?.name === forced) : undefined;
    if (tool) return { kind: 'tool-call', name: forced, arguments: exampleFor(tool.function?.parameters ?? {}) };
    if (format?.type === 'json_object') return { kind: 'json', value: { answer: echoText(body) } };
    return { kind: 'text', text: echoText(body) };
  },
  render(reply, req, usage, omitLogprobs) {
    const body = req.body;
    const text = replyText(reply);
    const isTool = reply.kind === 'tool-call';
    const message: Record<string, unknown> = { role: 'assistant', content: isTool ? null : text };
    if (isTool) {
      message.tool_calls = [{ id: `call_${req.index}`, type: 'function', function: { name: reply.name ?? 'output', arguments: text } }];
    }
    const choice: Record<string, unknown> = {
      index: 0,
      message,
      finish_reason: reply.kind === 'text' && reply.finishReason ? reply.finishReason : isTool ? 'tool_calls' : 'stop',
      logprobs: null,
    };
    if (body.logprobs === true && !isTool && !omitLogprobs) {
      const scripted = reply.kind === 'text' ? reply.logprobs : undefined;
      choice.logprobs = { content: toOpenAiLogprobs(scripted ?? fakeLogprobs(text, Number(body.top_logprobs ?? 0))) };
    }
    return {
      id: `chatcmpl-fake-${req.index}`,
      object: 'chat.completion',
      created: Math.floor(req.at / 1000),
      model: body.model ?? 'fake',
      choices: [choice],
      usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output },
    };
  },
  renderError(status, message) {
    const type = status === 429 ? 'rate_limit_exceeded' : status === 401 ? 'invalid_api_key' : status === 404 ? 'model_not_found' : status >= 500 ? 'server_error' : 'invalid_request_error';
    return { error: { message, type, param: null, code: type } };
  },
};

function toOpenAiLogprobs(entries: FakeLogprob[]): unknown[] {
  return entries.map((e) => ({
    token: e.token,
    logprob: e.logprob,
    bytes: null,
    top_logprobs: (e.top ?? []).map((t) => ({ token: t.token, logprob: t.logprob, bytes: null })),
  }));
}

