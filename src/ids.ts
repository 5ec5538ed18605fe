import { randomBytes } from 'node:crypto';

/** Public ids carry a readable prefix so a stray id in a log says what it is. */
export const ID_PREFIX = {
  workspace: 'ws',
  key: 'key',
  dataset: 'ds',
  column: 'col',
  row: 'row',
  cell: 'cell',
  datasource: 'dsrc',
  task: 'task',
  export: 'exp',
  webhook: 'whk',
  delivery: 'dlv',
} as const;
export type IdKind = keyof typeof ID_PREFIX;

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 14; // 36^14 ~ 2^72: collisions are not a practical concern.
let pool = Buffer.alloc(0);
let offset = 0;

/** Random id body; draws from a pooled buffer because imports mint millions of ids. */
function body(): string {
  if (offset + BODY_LENGTH > pool.length) {
    pool = randomBytes(BODY_LENGTH * 4096);
    offset = 0;
  }
  let out = '';
  for (let i = 0; i < BODY_LENGTH; i++) out += ALPHABET[pool[offset + i]! % 36];
  offset += BODY_LENGTH;
  return out;
}

export function newId(kind: IdKind): string {
  return `${ID_PREFIX[kind]}_${body()}`;
}

/**
 * A cell is the meeting of a row and a column, so its id is derived from both: no id to store or
 * index for the million cells of a large import, and a stable id across value resets.
 */
export function cellId(rowId: string, columnId: string): string {
  return `cell_${rowId.slice(4)}${columnId.slice(4)}`;
}

export function parseCellId(id: string): { rowId: string; columnId: string } | null {
  const m = /^cell_([0-9a-z]{14})([0-9a-z]{14})$/.exec(id);
  return m ? { rowId: `row_${m[1]}`, columnId: `col_${m[2]}` } : null;
}
