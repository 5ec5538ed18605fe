import type { MiddlewareHandler } from 'hono';
import { InvalidParametersError, type Issue } from './errors.ts';

/**
 * Rules every piece of input meets on both backends (issue 11).
 *
 * Text the server stores as text (names, descriptions, ids, URLs, file names, query and path
 * parameters, column names from a file's header) must be well-formed Unicode without NUL:
 * PostgreSQL refuses NUL in text, and a lone surrogate cannot be encoded as UTF-8 (SQLite stored
 * it as U+FFFD, so two different names collided). Such text is refused with INVALID_PARAMETERS
 * naming the field, on SQLite and PostgreSQL alike.
 *
 * Cell values are different: they are stored as JSON, whose escapes (`\u0000`, `\ud800`) carry
 * every UTF-16 code unit, so a value comes back exactly as it was sent; nothing is refused or
 * replaced there.
 *
 * JSON (request bodies, JSON and JSONL uploads) may nest at most MAX_JSON_DEPTH levels: deeper
 * values overflow the stack of recursive code (JSON.stringify, validators) long before they are
 * useful data.
 */
export const MAX_JSON_DEPTH = 64;

/** Why a text cannot be stored as text, or undefined when it can. */
export function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain the NUL character (U+0000)';
  // With the u flag a surrogate pair is one code point, so only a lone surrogate matches.
  if (/\p{Surrogate}/u.test(text)) return 'must be well-formed Unicode (it holds a lone surrogate such as \\ud800)';
  return undefined;
}

/** The nesting depth of a JSON value (a scalar is 0, `[]` is 1), counted without recursion; stops counting past `limit`. */
export function jsonDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    max = Math.max(max, depth + 1);
    if (max > limit) return max;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return max;
}

/**
 * Where cell values sit in request bodies (`rows[i].<column>`, a cell's `value`): their strings
 * are kept as sent. Everything else in a body (keys included: row keys are column names) is text.
 */
const isCellValue = (path: readonly (string | number)[]) => (path.length >= 3 && path[0] === 'rows' && typeof path[1] === 'number') || (path.length >= 1 && path[0] === 'value');

/**
 * The issues of a parsed JSON body: too deep, or text that breaks the rules above. Iterative, so
 * any depth is safe. Nothing inside a cell value is text to check, so the walk does not go into
 * one: a body of 1,000 rows x 10 columns visits the 1,000 rows' keys, not 10,000 values.
 */
export function jsonBodyIssues(body: unknown): Issue[] {
  const depth = jsonDepth(body);
  if (depth > MAX_JSON_DEPTH) return [{ path: 'body', message: `JSON nests deeper than ${MAX_JSON_DEPTH} levels` }];
  const issues: Issue[] = [];
  const stack: [unknown, (string | number)[]][] = [[body, []]];
  while (stack.length && issues.length < 20) {
    const [v, path] = stack.pop()!;
    if (isCellValue(path)) continue; // e.g. an array where a row object belongs: its items are values
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) issues.push({ path: path.join('.'), message: problem });
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push([item, [...path, i]]));
    } else if (typeof v === 'object' && v !== null) {
      // A row's values (rows[i].<column>) and a cell's `value` are cell values: not walked.
      const rowObject = path.length === 2 && path[0] === 'rows' && typeof path[1] === 'number';
      for (const [key, item] of Object.entries(v)) {
        // Keys inside a cell value are part of the value; a row's own keys are column names.
        const problem = textProblem(key);
        // The key is named JSON-escaped: as is, it could not be printed.
        if (problem) issues.push({ path: [...path, JSON.stringify(key)].join('.'), message: `key ${problem}` });
        if (!rowObject && !(path.length === 0 && key === 'value')) stack.push([item, [...path, key]]);
      }
    }
  }
  return issues;
}

const decoded = (part: string) => {
  try {
    return decodeURIComponent(part);
  } catch {
    return part; // not percent-encoded UTF-8: routing and validation answer for it
  }
};

/**
 * Applies the text rules to the path and query of every API request, and to JSON bodies (which
 * it reads once; later readers get the cached text). Malformed JSON is left to the route's
 * validator, which answers it with its own 400.
 */
export function inputRulesMiddleware(): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    const issues: Issue[] = [];
    for (const segment of url.pathname.split('/')) {
      const problem = textProblem(decoded(segment));
      if (problem) issues.push({ path: 'path', message: `${JSON.stringify(decoded(segment).slice(0, 100))} ${problem}` });
    }
    for (const [name, value] of url.searchParams) {
      const problem = textProblem(name) ?? textProblem(value);
      if (problem) issues.push({ path: JSON.stringify(name).slice(1, -1), message: problem });
    }
    if (issues.length) throw new InvalidParametersError(issues);
    if (/^application\/json/i.test(c.req.header('content-type') ?? '') && c.req.raw.body) {
      let body: unknown;
      try {
        body = JSON.parse(await c.req.text());
      } catch {
        return next();
      }
      const found = jsonBodyIssues(body);
      if (found.length) throw new InvalidParametersError(found, found[0]!.path === 'body' ? { maxDepth: MAX_JSON_DEPTH } : {});
    }
    return next();
  };
}
