import { open } from 'node:fs/promises';
import { getManyValues, isMany, none } from 'stream-chain/defs.js';
import Assembler from 'stream-json/assembler.js';
import { verifyFile } from 'stream-json/file/verifier.js';
import { jsonParser, type Token } from 'stream-json/parser.js';
import { jsonDepth, MAX_JSON_DEPTH } from '../../http/input-rules.ts';
import { columnNames, fileError, MAX_RECORD_CHARS, tabular, type Tabular } from './tabular-common.ts';
import { encodingOf, readText } from './tabular-text.ts';

type Row = Record<string, unknown>;

/**
 * JSON and JSONL tables: the columns are the union of every object's keys in first-seen order,
 * which takes a full pass before the first row can be shaped; that pass also counts the rows.
 */
export async function openJson(path: string, format: 'json' | 'jsonl', maxColumns: number): Promise<Tabular> {
  const objects = format === 'json' ? () => arrayElements(path) : () => jsonlObjects(path);
  const keys = new Set<string>();
  let rowCount = 0;
  for await (const value of objects()) {
    for (const key of Object.keys(value)) keys.add(key);
    // Checked as we go so a file of ever-new keys fails before the set grows without bound.
    if (keys.size > maxColumns) throw fileError(`the objects have more than ${maxColumns} distinct keys; at most ${maxColumns} columns are allowed`, { maxColumns });
    rowCount++;
  }
  const sourceKeys = [...keys];
  // Keys are kept exactly (no trimming): each one must still find its value in every object.
  const columns = columnNames(sourceKeys, maxColumns);
  return tabular(
    columns,
    async function* () {
      for await (const value of objects()) yield sourceKeys.map((key) => (Object.hasOwn(value, key) ? value[key] : null));
    },
    rowCount,
  );
}

const tooDeep = (where: string, extra: Record<string, unknown>) => fileError(`${where} nests deeper than ${MAX_JSON_DEPTH} levels`, { ...extra, maxDepth: MAX_JSON_DEPTH });

const isObject = (v: unknown): v is Row => typeof v === 'object' && v !== null && !Array.isArray(v);

async function* jsonlObjects(path: string): AsyncGenerator<Row> {
  for await (const { line, text } of lines(path)) {
    if (!text.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw fileError(`line ${line} is not valid JSON: ${(err as Error).message}`, { line });
    }
    if (!isObject(value)) throw fileError(`line ${line} is not a JSON object`, { line });
    if (jsonDepth(value) > MAX_JSON_DEPTH) throw tooDeep(`line ${line}`, { line });
    yield value;
  }
}

async function* lines(path: string): AsyncGenerator<{ line: number; text: string }> {
  let buffer = '';
  let line = 0;
  for await (const chunk of readText(path)) {
    buffer += chunk;
    let start = 0;
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n', start)) {
      yield { line: ++line, text: buffer.slice(start, nl) };
      start = nl + 1;
    }
    buffer = buffer.slice(start);
    if (buffer.length > MAX_RECORD_CHARS) throw fileError(`line ${line + 1} is longer than ${MAX_RECORD_CHARS} characters; a JSONL file holds one object per line`, { line: line + 1 });
  }
  if (buffer) yield { line: ++line, text: buffer };
}

/**
 * Streams the objects of a top-level array, or of the one array-valued property of a top-level
 * object (`{"data": [...]}`, as many APIs wrap their results). Only one element is assembled at a
 * time, so a file far larger than memory streams through.
 */
async function* arrayElements(path: string): AsyncGenerator<Row> {
  let started = false;
  let inRows = false;
  let rowsKey: string | null | undefined; // null: the top-level array itself
  let key = '';
  let skipDepth = 0;
  let index = 0;
  let element: Assembler | undefined;
  let depth = 0; // of the element being assembled; deeper than the limit is refused as it streams
  const where = () => (rowsKey ? `element ${index} of "${rowsKey}"` : `element ${index}`);

  for await (const tokens of tokenChunks(path)) {
    const ready: Row[] = [];
    for (const token of tokens) {
      if (element) {
        if (token.name === 'startObject' || token.name === 'startArray') {
          if (++depth > MAX_JSON_DEPTH) throw tooDeep(where(), { index });
        } else if (token.name === 'endObject' || token.name === 'endArray') depth--;
        element.consume(token);
        if (element.done) {
          ready.push(element.current as Row);
          element = undefined;
          index++;
        }
      } else if (skipDepth) {
        if (token.name === 'startObject' || token.name === 'startArray') skipDepth++;
        else if (token.name === 'endObject' || token.name === 'endArray') skipDepth--;
      } else if (inRows) {
        if (token.name === 'startObject') {
          element = new Assembler().consume(token);
          depth = 1;
        }
        else if (token.name === 'endArray') inRows = false;
        else throw fileError(`${where()} is not an object; each element must be an object whose keys are the columns`, { index });
      } else if (!started) {
        started = true;
        if (token.name === 'startArray') {
          rowsKey = null;
          inRows = true;
        } else if (token.name !== 'startObject') {
          throw fileError('the file must hold a JSON array of objects');
        }
      } else if (token.name === 'keyValue') {
        key = token.value;
      } else if (token.name === 'startArray') {
        if (rowsKey !== undefined) throw fileError(`the top-level object has more than one array ("${rowsKey}" and "${key}"); upload the array of rows itself`);
        rowsKey = key;
        inRows = true;
      } else if (token.name === 'startObject') {
        skipDepth = 1;
      } else if (token.name === 'endObject' && rowsKey === undefined) {
        throw fileError('the file must hold a JSON array of objects, or an object with one array of objects');
      }
    }
    yield* ready;
  }
}

/** Tokens in packed form only (whole keys, strings and numbers), one array per decoded chunk. */
async function* tokenChunks(path: string): AsyncGenerator<Token[]> {
  // Typed for text only, but flushing with `none` is how the tokenizer reports truncated input.
  const parse = jsonParser({ streamValues: false }) as (input: string | typeof none) => ReturnType<ReturnType<typeof jsonParser>>;
  const feed = async (input: string | typeof none): Promise<Token[]> => {
    let out: ReturnType<typeof parse>;
    try {
      out = parse(input);
    } catch (err) {
      throw await syntaxError(path, err);
    }
    return isMany(out) ? getManyValues(out) : [];
  };
  for await (const text of readText(path)) yield await feed(text);
  yield await feed(none);
}

/** The streaming tokenizer names no position; the verifier does, so it is run on failure only. */
async function syntaxError(path: string, err: unknown) {
  const message = `the file is not valid JSON: ${(err as Error).message}`;
  const handle = await open(path);
  let head: Uint8Array;
  try {
    head = (await handle.read(new Uint8Array(2), 0, 2, 0)).buffer;
  } finally {
    await handle.close();
  }
  // The verifier reads UTF-8 only; positions in a UTF-16 file would be wrong.
  if (encodingOf(head) !== 'utf-8') return fileError(message);
  try {
    await verifyFile(path);
  } catch (found) {
    const { line, pos } = found as { line?: unknown; pos?: unknown };
    if (typeof line === 'number' && typeof pos === 'number') return fileError(`the file is not valid JSON at line ${line}, column ${pos}: ${(err as Error).message}`, { line, column: pos });
  }
  return fileError(message);
}
