import type { Theme } from '@glideapps/glide-data-grid';
import type { GridCellData } from './grid-window';

/** The states a cell is shown in: the API's statuses plus "needs review" from its metadata. */
export const CELL_STATES = ['empty', 'queued', 'processing', 'done', 'error', 'stale', 'needs review'] as const;
export type CellState = (typeof CELL_STATES)[number];

export function cellState(c: GridCellData): CellState {
  if (c.status === 'done' && c.metadata?.needsReview === true) return 'needs review';
  return (CELL_STATES as readonly string[]).includes(c.status) ? (c.status as CellState) : 'empty';
}

/** Colours per state; the legend and the grid read the same table. */
const LIGHT: Record<CellState, { bg?: string; fg?: string }> = {
  empty: {},
  queued: { bg: '#eef2ff', fg: '#4b5563' },
  processing: { bg: '#dbeafe', fg: '#1e3a8a' },
  done: {},
  error: { bg: '#fee2e2', fg: '#991b1b' },
  stale: { bg: '#f3f4f6', fg: '#6b7280' },
  'needs review': { bg: '#fef3c7', fg: '#78350f' },
};
const DARK: Record<CellState, { bg?: string; fg?: string }> = {
  empty: {},
  queued: { bg: '#1e2340', fg: '#c7d2fe' },
  processing: { bg: '#172a46', fg: '#bfdbfe' },
  done: {},
  error: { bg: '#3b1a1a', fg: '#fecaca' },
  stale: { bg: '#262626', fg: '#a3a3a3' },
  'needs review': { bg: '#3a2f12', fg: '#fde68a' },
};

export function stateColors(state: CellState, dark: boolean) {
  return (dark ? DARK : LIGHT)[state];
}

export function stateTheme(state: CellState, dark: boolean): Partial<Theme> | undefined {
  const c = stateColors(state, dark);
  if (!c.bg && !c.fg) return undefined;
  return { ...(c.bg ? { bgCell: c.bg } : {}), ...(c.fg ? { textDark: c.fg } : {}) };
}

/** A value as one line of text (objects as compact JSON). Never HTML: the canvas draws it as text. */
export function valueText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value && 'fileName' in value && 'datasourceId' in value) return String((value as { fileName: unknown }).fileName);
  return JSON.stringify(value);
}

export function displayText(c: GridCellData): string {
  const state = cellState(c);
  if (state === 'queued') return 'queued…';
  if (state === 'processing') return 'processing…';
  if (state === 'error') {
    const err = c.metadata?.error as { code?: string } | undefined;
    return `⚠ error${err?.code ? ` ${err.code}` : ''}`;
  }
  return valueText(c.value);
}

export const LIGHT_THEME: Partial<Theme> = {};
export const DARK_THEME: Partial<Theme> = {
  accentColor: '#60a5fa',
  accentLight: 'rgba(96, 165, 250, 0.2)',
  textDark: '#e5e7eb',
  textMedium: '#b8bcc4',
  textLight: '#9ca3af',
  textBubble: '#ffffff',
  bgIconHeader: '#b8bcc4',
  fgIconHeader: '#111827',
  textHeader: '#d1d5db',
  textHeaderSelected: '#111827',
  bgCell: '#111827',
  bgCellMedium: '#1f2937',
  bgHeader: '#1f2937',
  bgHeaderHasFocus: '#374151',
  bgHeaderHovered: '#374151',
  bgBubble: '#1f2937',
  bgBubbleSelected: '#374151',
  bgSearchResult: '#423c24',
  borderColor: 'rgba(255, 255, 255, 0.12)',
  drilldownBorder: 'rgba(255, 255, 255, 0.3)',
  linkColor: '#93c5fd',
  headerBottomBorderColor: 'rgba(255, 255, 255, 0.2)',
};
