/**
 * The LLM port: one method that turns a chat request into an answer. Every adapter (OpenAI-compatible,
 * Anthropic, Ollama) passes the shared suite in llm.contract.ts, so the engine never knows which
 * vendor answered. Adapters do one job each: speak the vendor's protocol, validate structured output
 * (one re-ask), and turn every failure into an LlmError the engine can act on.
 */

/** One turn of the conversation. System turns are moved to wherever the vendor wants them. */
export type ChatMessage = {
  /** Who speaks: instructions (`system`), the caller (`user`) or the model (`assistant`). */
  role: 'system' | 'user' | 'assistant';
  /** Plain text of the turn. */
  content: string;
};

/** What to ask. Only `model` and `messages` are required; everything else has the vendor's default. */
export type LlmRequest = {
  /** The vendor's model name: the part after `provider:` (`gpt-4o-mini`, `llama3.1:8b`). */
  model: string;
  /** The conversation, oldest first. */
  messages: ChatMessage[];
  /** Sampling temperature; omitted means the vendor's default. */
  temperature?: number;
  /** Upper bound on generated tokens (Anthropic requires one: its adapter defaults to 4096). */
  maxTokens?: number;
  /**
   * Ask for JSON matching this JSON Schema. The answer is parsed and validated into `json`; invalid
   * output is re-asked once, then fails with LLM_INVALID_OUTPUT. `name` labels the schema for vendors
   * that want one (it is sanitised to `[A-Za-z0-9_-]{1,64}`).
   */
  jsonSchema?: { name: string; schema: Record<string, unknown> };
  /** Ask for token log-probabilities where the vendor gives them. */
  logprobs?: boolean;
  /** With `logprobs`: alternatives per token (default 5; 0 when only the chosen tokens matter, a much smaller answer). */
  topLogprobs?: number;
  /** Cancels the call: the adapter then rejects with LLM_ABORTED (not retryable). */
  signal?: AbortSignal;
};

/** One token's log-probability, with the most likely alternatives at that position. */
export type TokenLogprob = {
  /** The token as the vendor spells it. */
  token: string;
  /** Natural log of its probability (0 is certain). */
  logprob: number;
  /** Alternatives at this position, most likely first (the chosen token is usually among them). */
  top?: { token: string; logprob: number }[];
};

/** The answer. Usage covers every HTTP call the request took (a re-ask is paid for too). */
export type LlmResponse = {
  /** The model's text; with `jsonSchema`, the JSON text of the answer. */
  text: string;
  /** With `jsonSchema`: the parsed answer, already validated against the schema. */
  json?: unknown;
  /** Tokens billed, summed over all calls made for this request. */
  usage: { inputTokens: number; outputTokens: number };
  /** Per-token log-probabilities of the answer, when asked for and given by the vendor. */
  logprobs?: TokenLogprob[];
  /** The model that answered, as the vendor names it (may carry a version suffix). */
  model: string;
  /** Why generation stopped, in the vendor's words (`stop`, `length`, `end_turn`, `tool_use` ...). */
  finishReason?: string;
  /** HTTP requests the vendor received for this answer when more than one (a structured-output re-ask: 2). */
  requests?: number;
};

/** A vendor behind the port. Implementations are stateless apart from their configuration. */
export interface LlmProvider {
  /** The provider part of `provider:model` ids: `openai`, `anthropic`, `ollama`. */
  readonly name: string;
  /** Sends the request; resolves with the answer or rejects with an LlmError, never anything else. */
  complete(req: LlmRequest): Promise<LlmResponse>;
}

/**
 * What went wrong, as a code the engine and cell metadata can rely on. Retryable codes are transient
 * (the engine backs off and tries again, honouring `retryAfterMs`); the others will fail again.
 */
export type LlmErrorCode =
  /** 429: slow down; `retryAfterMs` carries the vendor's Retry-After when sent. Retryable. */
  | 'LLM_RATE_LIMITED'
  /** 5xx (Anthropic 529 "overloaded" included), or an answer that is not the vendor's protocol. Retryable. */
  | 'LLM_SERVER_ERROR'
  /** No answer within the adapter's timeout, or a 408. Retryable. */
  | 'LLM_TIMEOUT'
  /** Connection refused or reset, DNS failure. Retryable. */
  | 'LLM_UNREACHABLE'
  /** 401/403: a missing or wrong API key. Not retryable. */
  | 'LLM_AUTH'
  /** Other 4xx, an unknown provider, a JSON Schema that does not compile. Not retryable. */
  | 'LLM_BAD_REQUEST'
  /** Structured output still invalid after one re-ask. Not retryable. */
  | 'LLM_INVALID_OUTPUT'
  /** 404: the model (or endpoint) does not exist on that server. Not retryable. */
  | 'LLM_MODEL_NOT_FOUND'
  /** The caller's AbortSignal fired (task cancelled). Not retryable: nobody wants the answer. */
  | 'LLM_ABORTED';

/** The one error type of the port: a failure of the outside system, never an HTTP 500 of ours. */
export class LlmError extends Error {
  override readonly name = 'LlmError';
  /** What the vendor billed before the failure, when it answered at all (an invalid answer re-asked and still invalid). */
  spent?: { requests: number; usage: { inputTokens: number; outputTokens: number } };
  constructor(
    message: string,
    /** Machine-readable reason; tests and the engine branch on this, never on the message. */
    readonly code: LlmErrorCode,
    /** Whether the same request may succeed later. */
    readonly retryable: boolean,
    /** How long the vendor asked us to wait before retrying (from Retry-After), in milliseconds. */
    readonly retryAfterMs?: number,
    /** The HTTP status of the vendor's answer, when there was one. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
