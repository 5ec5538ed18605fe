import type { Context } from 'hono';
import type { ZodError } from 'zod';
import { InvalidParametersError, type Issue } from './errors.ts';

/** zod issues as the API's `details.issues`: a dotted path (with the request part) and a message. */
export function zodIssues(error: ZodError, prefix = ''): Issue[] {
  return error.issues.map((issue) => {
    const parts = [prefix, ...issue.path.map(String)].filter(Boolean);
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') message = `unknown field(s): ${issue.keys.join(', ')}`;
    return { path: parts.join('.'), message };
  });
}

const TARGET_PREFIX: Record<string, string> = { json: '', query: '', param: '', form: '', header: 'header' };

/** The defaultHook of every OpenAPI route: a failed validation becomes INVALID_PARAMETERS. */
export function validationHook(result: { success: boolean; error?: unknown; target?: string }, _c: Context): void {
  if (!result.success) throw new InvalidParametersError(zodIssues(result.error as ZodError, TARGET_PREFIX[result.target ?? ''] ?? ''));
}
