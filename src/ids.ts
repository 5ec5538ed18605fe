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
  view: 'view',
} as const;
export type IdKind = keyof typeof ID_PREFIX;

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 16;
let pool = Buffer.alloc(0);
let offset = 0;
let lastMs = 0;
let counter = 0;

function base36(n: number, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = ALPHABET[n % 36]! + out;
    n = Math.floor(n / 36);
  }
  return out;
}

function random36(width: number): string {
  if (offset + width > pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  let out = '';
  for (let i = 0; i < width; i++) out += ALPHABET[pool[offset + i]! % 36];
  offset += width;
  return out;
}

/**
 * Id bodies sort by creation time (9 base-36 chars of milliseconds, 3 of a per-process counter,
 * 4 random), like a ULID. Rows are appended in id order, so a page of
 * rows is one contiguous range of the cells B-tree, and bulk inserts append instead of scattering.
 */
function body(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    counter = Number.parseInt(random36(2), 36);
  } else counter++;
  return base36(ms, 9) + base36(counter % 36 ** 3, 3) + random36(BODY_LENGTH - 12);
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
  const m = /^cell_([0-9a-z]{16})([0-9a-z]{16})$/.exec(id);
  return m ? { rowId: `row_${m[1]}`, columnId: `col_${m[2]}` } : null;
}
