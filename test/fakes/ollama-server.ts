import { echoText, fakeLogprobs, schemaAnswer, replyText, startFakeServer, type FakeLlmServer, type FakeProtocol, type FakeReply, type FakeServerOptions } from './fake-llm-server.ts';

export type { FakeLlmServer, FakeReply, FakeServerOptions, RecordedRequest } from './fake-llm-server.ts';

/**
 * A fake Ollama native API: `POST /api/chat` with `stream: false` (give adapters `server.baseUrl`,
 * the bare origin). Default answers are deterministic from the request:
 * - `format` a JSON Schema: a minimal valid value as the message content; `format: "json"`: `{}`;
 * - otherwise `fake answer <sha1 of the last user message>`;
 * - `logprobs: true` adds synthetic log-probabilities (newer Ollama's shape).
 * Usage comes back as `prompt_eval_count` / `eval_count`; errors as `{error: "..."}`.
 */
export function startFakeOllama(options: FakeServerOptions = {}): Promise<FakeLlmServer> {
  return startFakeServer(ollamaProtocol, options);
}

const ollamaProtocol: FakeProtocol = {
  path: '/api/chat',
  basePath: '',
  defaultReply(req): FakeReply {
    const format = req.body.format;
    if (format === 'json') return { kind: 'json', value: {} };
    if (format && typeof format === 'object') return { kind: 'json', value: schemaAnswer(format, req.body) };
    return { kind: 'text', text: echoText(req.body) };
  },
  render(reply, req, usage, omitLogprobs) {
    const text = replyText(reply);
    const message: Record<string, unknown> = { role: 'assistant', content: reply.kind === 'tool-call' ? '' : text };
    if (reply.kind === 'tool-call') {
      message.tool_calls = [{ function: { name: reply.name ?? 'output', arguments: toObject(reply.arguments) } }];
    }
    const answer: Record<string, unknown> = {
      model: req.body.model ?? 'fake',
      created_at: new Date(req.at).toISOString(),
      message,
      done: true,
      done_reason: reply.kind === 'text' && reply.finishReason ? reply.finishReason : 'stop',
      total_duration: 1_000_000,
      prompt_eval_count: usage.input,
      eval_count: usage.output,
    };
    if (req.body.logprobs === true && reply.kind !== 'tool-call' && !omitLogprobs) {
      const entries = (reply.kind === 'text' ? reply.logprobs : undefined) ?? fakeLogprobs(text, Number(req.body.top_logprobs ?? 0));
      answer.logprobs = entries.map((e) => ({ token: e.token, logprob: e.logprob, top_logprobs: e.top ?? [] }));
    }
    return answer;
  },
  renderError(_status, message) {
    return { error: message };
  },
};

/** Ollama sends tool arguments as an object; a scripted string is parsed when it is JSON. */
function toObject(args: unknown): unknown {
  if (typeof args !== 'string') return args;
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}
