import fc from 'fast-check';

/** A JSON schema as found in the OpenAPI 3.1 document (only the keywords the generator reads). */
export type Schema = {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
};

const deep = (levels: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
};

/** Values no schema allows and every server must survive: wrong types, extremes, NUL, lone surrogates, huge and deep. */
export const hostileValue = fc.constantFrom<unknown>(
  null,
  true,
  0,
  -1,
  1.5,
  Number.MAX_SAFE_INTEGER,
  -1e308,
  1e308,
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00y',
  '😀'.repeat(50),
  '{{Name}}',
  '../../etc/passwd',
  "' OR 1=1 --",
  'x'.repeat(100_000),
  [],
  {},
  { __proto__: { polluted: true } },
  { constructor: { prototype: { polluted: true } } },
  deep(70),
  deep(300),
);

/** Strings that look like ids of every kind (and of no kind), mixed with the real ids of both workspaces. */
export function idArbitrary(ids: readonly string[]) {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ids) },
    { weight: 1, arbitrary: fc.constantFrom('ds_nope', 'col_0', 'row_', 'cell_x', 'dsrc_0000000000000000', 'task_1', 'exp_1', 'whk_1', 'key_1', 'del_1', '%00', '..', '%2e%2e', 'x'.repeat(300)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  );
}

/**
 * Values for a schema: mostly well-formed (so requests reach the services, not just the
 * validator), sometimes hostile at any depth, sometimes with an unknown field.
 */
export function valueFor(schema: Schema | undefined, resolve: (ref: string) => Schema, ids: fc.Arbitrary<string>, depth = 0): fc.Arbitrary<unknown> {
  const s = schema?.$ref ? resolve(schema.$ref) : (schema ?? {});
  const choices: fc.Arbitrary<unknown>[] = [];
  const alts = s.anyOf ?? s.oneOf;
  if (alts?.length) choices.push(fc.oneof(...alts.map((a) => valueFor(a, resolve, ids, depth + 1))));
  else if (s.enum?.length) choices.push(fc.constantFrom(...s.enum));
  else {
    const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : ['string', 'object'];
    for (const t of types) {
      if (t === 'string') choices.push(fc.oneof(ids, fc.string({ maxLength: 30 }), fc.constantFrom('Name', 'Company', 'extraction', 'analysis', 'raw', 'ai_enrich', 'csv', 'json', 'http://127.0.0.1:9/hook')));
      else if (t === 'integer') choices.push(fc.integer({ min: Math.max(-10, (s.minimum ?? 0) - 2), max: Math.min((s.maximum ?? 100) + 2, 1_000_000) }));
      else if (t === 'number') choices.push(fc.double({ noNaN: true, min: -10, max: 1000 }));
      else if (t === 'boolean') choices.push(fc.boolean());
      else if (t === 'null') choices.push(fc.constant(null));
      else if (t === 'array') choices.push(depth > 4 ? fc.constant([]) : fc.array(valueFor(s.items, resolve, ids, depth + 1), { maxLength: 3 }));
      else if (t === 'object') {
        if (depth > 4 || !s.properties) choices.push(fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 10 }), fc.integer()), { maxKeys: 3 }));
        else {
          const props = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, valueFor(v, resolve, ids, depth + 1)]));
          const known = fc.record(props, { requiredKeys: (s.required ?? []).filter((k) => k in props) });
          choices.push(known, fc.tuple(known, fc.string({ minLength: 1, maxLength: 12 }), hostileValue).map(([o, k, v]) => ({ ...(o as object), [k]: v })));
        }
      }
    }
  }
  return fc.oneof({ weight: 6, arbitrary: fc.oneof(...choices) }, { weight: 1, arbitrary: hostileValue });
}
