import { Ajv, type ValidateFunction } from 'ajv';
import { LlmError, type ChatMessage, type LlmRequest, type LlmResponse } from './llm.ts';

/**
 * Structured output shared by every adapter: compile the caller's JSON Schema once, parse the model's
 * text leniently, validate, and re-ask once with the validation error. Vendors that "guarantee" the
 * schema still get validated: local servers ignore unknown `response_format`s and tools get truncated.
 */

// strict:false because user schemas carry keywords Ajv does not know (`format: email` without
// ajv-formats, vendor hints such as `propertyOrdering`); refusing them would refuse the column.
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const compiled = new Map<string, { validate: ValidateFunction; schema: object }>();
const MAX_COMPILED = 500;

/** A validator for `schema`, compiled once per distinct schema (a task sends the same one per cell). */
export function compileSchema(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  const hit = compiled.get(key);
  if (hit) return hit.validate;
  // `$schema` would make Ajv look up a meta-schema by URL (2020-12 is not loaded by default); the
  // keywords LLM schemas use are the same in draft-07 and 2020-12, so validate without it. `$id` would
  // register the schema globally, and a second schema with the same `$id` would then fail to compile.
  const { $schema: _s, $id: _i, ...rest } = schema;
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(rest);
  } catch (err) {
    throw new LlmError(`invalid JSON Schema: ${err instanceof Error ? err.message : String(err)}`, 'LLM_BAD_REQUEST', false, undefined, undefined, { cause: err });
  }
  if (compiled.size >= MAX_COMPILED) {
    // Ajv keeps its own cache keyed by schema object: drop it there too, or it grows without bound.
    const [oldestKey, oldest] = compiled.entries().next().value!;
    ajv.removeSchema(oldest.schema);
    compiled.delete(oldestKey);
  }
  compiled.set(key, { validate, schema: rest });
  return validate;
}

/**
 * Parses model text as JSON: the whole text, else the first ```json fenced block, else the span from
 * the first `{`/`[` to the last `}`/`]` (models like to say "Here is the JSON:" first).
 */
export function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const candidates = [text];
  const fenced = /```(?:json)?\s*\n?([\s\S]*?)```/i.exec(text);
  if (fenced?.[1] !== undefined) candidates.push(fenced[1]);
  const start = text.search(/[{[]/);
  const end = Math.max(text.lastIndexOf('}'), text.lastIndexOf(']'));
  if (start >= 0 && end > start) candidates.push(text.slice(start, end + 1));
  for (const candidate of candidates) {
    try {
      return { ok: true, value: JSON.parse(candidate) };
    } catch {
      // try the next reading
    }
  }
  return { ok: false, error: text.trim() === '' ? 'the answer was empty' : 'the answer is not valid JSON' };
}

/**
 * OpenAI's strict json_schema and Anthropic's tool input_schema accept only an object at the root.
 * Other roots (an array of labels, a bare string) are wrapped as `{ value: <schema> }` and unwrapped
 * from the answer, so callers can ask for any JSON.
 */
export function objectRoot(schema: Record<string, unknown>): { schema: Record<string, unknown>; wrapped: boolean } {
  if (schema.type === 'object') return { schema, wrapped: false };
  const { $schema: _s, $defs, definitions, ...inner } = schema;
  // $defs stay at the root so `#/$defs/...` references still resolve after wrapping.
  const root: Record<string, unknown> = { type: 'object', properties: { value: inner }, required: ['value'], additionalProperties: false };
  if ($defs !== undefined) root.$defs = $defs;
  if (definitions !== undefined) root.definitions = definitions;
  return { schema: root, wrapped: true };
}

/**
 * Whether OpenAI's strict mode would accept `schema`: every object closed (`additionalProperties:
 * false`) with all its properties required, and no `allOf`/`oneOf`/`not`. Users rarely write schemas
 * that way, and OpenAI answers a strict request with a non-conforming schema by a 400; such schemas
 * are sent with `strict: false` (still guided, and validated here with one re-ask) instead.
 */
export function isStrictCompatible(schema: unknown, depth = 0): boolean {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return true;
  if (depth > 30) return false;
  const s = schema as Record<string, unknown>;
  if ('allOf' in s || 'oneOf' in s || 'not' in s) return false;
  const isObject = s.type === 'object' || (Array.isArray(s.type) && s.type.includes('object')) || 'properties' in s;
  if (isObject) {
    const keys = Object.keys((s.properties ?? {}) as object);
    const required = Array.isArray(s.required) ? s.required : [];
    if (s.additionalProperties !== false || !keys.every((k) => required.includes(k))) return false;
  }
  const children: unknown[] = [
    ...Object.values((s.properties ?? {}) as object),
    ...Object.values((s.$defs ?? {}) as object),
    ...Object.values((s.definitions ?? {}) as object),
    ...(Array.isArray(s.anyOf) ? s.anyOf : []),
    ...(Array.isArray(s.items) ? s.items : [s.items]),
  ];
  return children.every((child) => isStrictCompatible(child, depth + 1));
}

/** Vendors want schema/tool names matching `^[a-zA-Z0-9_-]{1,64}$`. */
export function schemaName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64) || 'output';
}

/** One HTTP call of an adapter, with the conversation to send (the re-ask extends it). */
export type SendOnce = (messages: ChatMessage[]) => Promise<LlmResponse>;

/**
 * Runs `send` and, with `req.jsonSchema`, validates the answer; on invalid output asks once more with
 * the problem appended as a user turn, then gives up with LLM_INVALID_OUTPUT. Usage of both calls is
 * summed so cost stays honest. `wrapped` says the adapter sent objectRoot's wrapper schema.
 */
export async function completeWithSchema(provider: string, req: LlmRequest, send: SendOnce, wrapped = false): Promise<LlmResponse> {
  if (!req.jsonSchema) return send(req.messages);
  const validate = compileSchema(req.jsonSchema.schema);
  const first = await send(req.messages);
  const firstCheck = check(first.text, validate, wrapped);
  if (firstCheck.ok) return { ...first, text: wrapped ? JSON.stringify(firstCheck.value) : first.text, json: firstCheck.value };

  const reask: ChatMessage[] = [...req.messages];
  // Anthropic rejects empty assistant turns; an empty answer is described in the user turn instead.
  if (first.text.trim() !== '') reask.push({ role: 'assistant', content: first.text });
  reask.push({
    role: 'user',
    content: `Your previous answer was invalid: ${firstCheck.error}. Reply again with only a JSON value that matches the required JSON Schema, without any other text.`,
  });
  const second = await send(reask);
  const usage = {
    inputTokens: first.usage.inputTokens + second.usage.inputTokens,
    outputTokens: first.usage.outputTokens + second.usage.outputTokens,
  };
  const secondCheck = check(second.text, validate, wrapped);
  if (secondCheck.ok) {
    return { ...second, text: wrapped ? JSON.stringify(secondCheck.value) : second.text, json: secondCheck.value, usage, requests: 2 };
  }
  const err = new LlmError(`${provider}: output does not match the JSON Schema after one re-ask: ${secondCheck.error}`, 'LLM_INVALID_OUTPUT', false);
  // Both answers were paid for: usage counts every request the vendor received (engine/cache.ts).
  err.spent = { requests: 2, usage };
  throw err;
}

function check(text: string, validate: ValidateFunction, wrapped: boolean): { ok: true; value: unknown } | { ok: false; error: string } {
  const parsed = parseJsonText(text);
  if (!parsed.ok) return parsed;
  let value = parsed.value;
  if (wrapped) {
    if (!value || typeof value !== 'object' || !('value' in value)) return { ok: false, error: 'the answer must be an object with a "value" property' };
    value = (value as { value: unknown }).value;
  }
  if (validate(value)) return { ok: true, value };
  const errors = ajv.errorsText(validate.errors, { dataVar: wrapped ? 'value' : 'answer', separator: '; ' });
  return { ok: false, error: errors.length > 500 ? `${errors.slice(0, 500)}…` : errors };
}
