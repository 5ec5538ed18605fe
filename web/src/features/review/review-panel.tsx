import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import type { DatasetDetail } from '../../api/client';
import { ErrorText, Loading } from '../../ui/states';
import { Sources } from '../cells/sources';
import { valueText } from '../grid/cell-style';
import { reviewCell } from '../views/views-api';
import { sortParam, type ViewState } from '../views/view-state';
import { fetchReviewPage, reviewFilter, type ReviewItem } from './review-queue';

type Decision = 'approved' | 'rejected' | 'skipped';

type Props = {
  dataset: DatasetDetail;
  /** The view whose rows are reviewed (its filter, sort and search). */
  view: ViewState;
  /** How many cells need review in the whole dataset, when the server says. */
  needsReview?: number;
  onDecided(item: ReviewItem, decision: 'approved' | 'rejected'): void;
  onClose(): void;
};

const KEYS = 'A approve · R reject with a note · N or → next · P or ← previous · Esc close';

/**
 * Review mode: the cells that need review, one at a time, with their evidence (value, confidence,
 * the row's other cells, sources and quotes), to approve or reject (with a note for the next run)
 * from the keyboard. The cells are read from GET /data with the view's filter and "needs review",
 * a page at a time; a decided cell leaves that filter, so the page is read again after each one.
 */
export function ReviewPanel({ dataset, view, needsReview, onDecided, onClose }: Props) {
  const client = useQueryClient();
  const datasetId = dataset.datasetId;
  const filter = reviewFilter(view.filter);
  const sort = view.sort.length ? sortParam(view.sort) : undefined;
  const q = view.q.trim() || undefined;
  const narrowed = Boolean(view.filter || q);
  const [page, setPage] = useState(1);
  const [passed, setPassed] = useState<Map<string, Decision>>(() => new Map());
  const [history, setHistory] = useState<ReviewItem[]>([]);
  const [back, setBack] = useState(0);
  const [noting, setNoting] = useState(false);
  const [note, setNote] = useState('');
  const [said, setSaid] = useState('');
  const region = useRef<HTMLElement>(null);
  const noteRef = useRef<HTMLTextAreaElement>(null);

  const queueKey = ['review-queue', datasetId, JSON.stringify([filter, sort, q])];
  const queue = useQuery({
    queryKey: [...queueKey, page],
    queryFn: () => fetchReviewPage(datasetId, filter, sort, q, page, dataset.columns),
    placeholderData: keepPreviousData,
    staleTime: 0,
  });
  const pending = queue.data?.items.filter((i) => !passed.has(i.cellId)) ?? [];
  const current: ReviewItem | undefined = back > 0 ? history[history.length - back] : pending[0];
  const exhausted = queue.isSuccess && !queue.isPlaceholderData && pending.length === 0;
  useEffect(() => {
    // Every cell of this page was decided or skipped: the next page holds the rest.
    if (exhausted && !queue.isFetching && page < queue.data.totalPages) setPage((p) => p + 1);
  }, [exhausted, queue.isFetching, page, queue.data?.totalPages]);

  const focusRegion = () => void requestAnimationFrame(() => region.current?.focus());
  useEffect(focusRegion, []);

  const column = (id: string) => dataset.columns.find((c) => c.columnId === id);
  const describeItem = (i: ReviewItem) => `${column(i.columnId)?.name ?? i.columnId}, ${rowLabel(i)}`;
  const rowLabel = (i: ReviewItem) => {
    const first = i.columns.findIndex((c) => c.taskType === 'raw');
    const text = first >= 0 ? valueText(i.row[first]?.value) : '';
    return text ? `row “${text.length > 40 ? text.slice(0, 40) + '…' : text}”` : `row ${i.rowId}`;
  };

  const advance = (item: ReviewItem, d: Decision) => {
    setPassed((old) => new Map(old).set(item.cellId, d));
    if (back > 0) setBack((b) => b - 1);
    else setHistory((h) => [...h, item]);
    setNoting(false);
    setNote('');
    focusRegion();
  };

  const decide = useMutation({
    mutationFn: ({ item, decision, note }: { item: ReviewItem; decision: 'approved' | 'rejected'; note?: string }) => reviewCell(datasetId, item.cellId, decision, note),
    onSuccess: (_r, { item, decision }) => {
      advance(item, decision);
      setSaid(`${decision === 'approved' ? 'Approved' : 'Rejected'}: ${describeItem(item)}.`);
      onDecided(item, decision);
      void client.invalidateQueries({ queryKey: queueKey });
    },
  });

  const approve = () => current && !decide.isPending && decide.mutate({ item: current, decision: 'approved' });
  const startReject = () => {
    if (!current) return;
    setNoting(true);
    requestAnimationFrame(() => noteRef.current?.focus());
  };
  const reject = () => current && !decide.isPending && decide.mutate({ item: current, decision: 'rejected', note: note.trim() || undefined });
  const skip = () => {
    if (!current) return;
    if (back > 0) setBack((b) => b - 1);
    else advance(current, 'skipped');
    setSaid(`Skipped: ${describeItem(current)}.`);
  };
  const previous = () => {
    if (back < history.length) {
      setBack((b) => b + 1);
      setNoting(false);
    }
  };

  const onKeyDown = (e: React.KeyboardEvent) => {
    const t = e.target as HTMLElement;
    if (e.key === 'Escape') {
      e.preventDefault();
      if (noting) {
        setNoting(false);
        focusRegion();
      } else onClose();
      return;
    }
    if (e.altKey || e.ctrlKey || e.metaKey || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)) return;
    const k = e.key.toLowerCase();
    const act = k === 'a' ? approve : k === 'r' ? startReject : k === 'n' || k === 'arrowright' ? skip : k === 'p' || k === 'arrowleft' ? previous : undefined;
    if (act) {
      e.preventDefault();
      act();
    }
  };

  const decided = [...passed.values()];
  const count = (d: Decision) => decided.filter((x) => x === d).length;
  const m = (current?.cell.metadata ?? {}) as Record<string, unknown>;
  const decidedHere = current ? passed.get(current.cellId) : undefined;
  const pretty = current && current.cell.value !== null && typeof current.cell.value === 'object' ? JSON.stringify(current.cell.value, null, 2) : valueText(current?.cell.value);

  return (
    <aside ref={region} className="side-panel review-panel" aria-label="Review" tabIndex={-1} onKeyDown={onKeyDown} aria-keyshortcuts="A R N P ArrowRight ArrowLeft Escape">
      <header className="panel-head">
        <h2>Review</h2>
        <button type="button" className="icon" aria-label="Close review" onClick={onClose}>
          ×
        </button>
      </header>
      <p className="muted small" data-testid="review-progress">
        {narrowed
          ? queue.data
            ? `${queue.data.totalRows.toLocaleString()} rows of this view to review${needsReview !== undefined ? ` (${needsReview.toLocaleString()} cells in the dataset)` : ''}`
            : ''
          : needsReview !== undefined
            ? `${needsReview.toLocaleString()} left to review`
            : queue.data
              ? `${queue.data.totalRows.toLocaleString()} rows to review`
              : ''}
        {decided.length ? ` · this session: ${count('approved')} approved, ${count('rejected')} rejected, ${count('skipped')} skipped` : ''}
      </p>
      <p className="sr-only" role="status" aria-live="polite">
        {said}
      </p>
      <ErrorText error={queue.error ?? decide.error} />
      {!current ? (
        queue.isPending || queue.isFetching || (queue.data && page < queue.data.totalPages) ? (
          <Loading label="Finding cells to review…" />
        ) : (
          <div className="state empty">
            <h3>Nothing left to review{narrowed ? ' in this view' : ''}</h3>
            <p>Every cell that needed review has been approved, rejected or skipped.</p>
            <button type="button" onClick={onClose}>
              Back to the table
            </button>
          </div>
        )
      ) : (
        <section aria-label={`Cell ${describeItem(current)}`} className="review-item">
          <h3>
            {column(current.columnId)?.name ?? current.columnId} <span className="muted">· {rowLabel(current)}</span>
          </h3>
          {decidedHere && decidedHere !== 'skipped' && <p className="badge">You {decidedHere} this cell</p>}
          <pre className="value" data-testid="review-value">
            {pretty || '(empty)'}
          </pre>
          <dl className="facts">
            <dt>Confidence</dt>
            <dd data-testid="review-confidence">{typeof m.confidence === 'number' ? `${Math.round(m.confidence * 100)}%${typeof m.confidenceSource === 'string' ? ` (${m.confidenceSource})` : ''}` : 'not given'}</dd>
            {typeof m.model === 'string' && (
              <>
                <dt>Model</dt>
                <dd>{m.model}</dd>
              </>
            )}
          </dl>
          <RowContext item={current} />
          <Sources sources={m.sources} metadata={m} />
          {noting ? (
            <form
              className="reject-form"
              onSubmit={(e) => {
                e.preventDefault();
                reject();
              }}
            >
              <label htmlFor="review-note">Why is it wrong? (optional: the next run gets this note)</label>
              <textarea
                id="review-note"
                ref={noteRef}
                rows={3}
                value={note}
                onChange={(e) => setNote(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' && !e.shiftKey) {
                    e.preventDefault();
                    reject();
                  }
                }}
              />
              <p className="hint">Enter rejects, Shift+Enter starts a new line, Esc cancels.</p>
              <div className="actions">
                <button type="button" onClick={() => { setNoting(false); focusRegion(); }}>
                  Cancel
                </button>
                <button type="submit" className="danger" disabled={decide.isPending}>
                  Reject
                </button>
              </div>
            </form>
          ) : (
            <div className="actions review-actions">
              <button type="button" onClick={previous} disabled={back >= history.length} aria-keyshortcuts="P ArrowLeft">
                ← Previous
              </button>
              <button type="button" onClick={skip} aria-keyshortcuts="N ArrowRight">
                Skip →
              </button>
              <button type="button" className="danger" onClick={startReject} disabled={decide.isPending} aria-keyshortcuts="R">
                Reject… (R)
              </button>
              <button type="button" className="primary" onClick={approve} disabled={decide.isPending} aria-keyshortcuts="A">
                Approve (A)
              </button>
            </div>
          )}
        </section>
      )}
      <p className="hint">{KEYS}</p>
    </aside>
  );
}

/** The row's other cells, the context the answer was made from (raw columns first). */
function RowContext({ item }: { item: ReviewItem }) {
  const cells = item.columns
    .map((c, k) => ({ c, cell: item.row[k] }))
    .filter(({ c }) => c.columnId !== item.columnId)
    .sort((a, b) => Number(b.c.taskType === 'raw') - Number(a.c.taskType === 'raw'))
    .slice(0, 8);
  if (!cells.length) return null;
  return (
    <>
      <h4 className="small">Row</h4>
      <dl className="facts row-context">
        {cells.map(({ c, cell }) => (
          <div key={c.columnId} className="contents">
            <dt>{c.name}</dt>
            <dd>{valueText(cell?.value) || <span className="muted">(empty)</span>}</dd>
          </div>
        ))}
      </dl>
    </>
  );
}
