import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ApiError, unwrap } from '../../api/client';
import { Confirm } from '../../ui/dialog';
import { ListTable } from '../../ui/list-table';
import { QueryView } from '../../ui/query-view';
import { ErrorText } from '../../ui/states';

const EVENTS = ['dataset.created', 'dataset.task.started', 'dataset.task.completed', 'dataset.task.failed', 'datasource.processed', 'dataset.deleted', 'dataset.exported'] as const;

/** Webhooks: create (URL, events, secret), send a test, delete. */
export function WebhooksPage() {
  const client = useQueryClient();
  const list = useQuery({ queryKey: ['webhooks'], queryFn: () => unwrap(api.GET('/api/v2/webhooks', {})) });
  const [form, setForm] = useState({ name: '', url: '', secret: '' });
  const [events, setEvents] = useState<(typeof EVENTS)[number][]>(['dataset.task.completed']);
  const [deleting, setDeleting] = useState<{ webhookId: string; name: string } | null>(null);
  const create = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v2/webhooks', { body: { ...form, events } })),
    onSuccess: () => {
      setForm({ name: '', url: '', secret: '' });
      void client.invalidateQueries({ queryKey: ['webhooks'] });
    },
  });
  const test = useMutation({ mutationFn: (webhookId: string) => unwrap(api.POST('/api/v2/webhooks/{webhookId}/test', { params: { path: { webhookId } } })) });
  const del = useMutation({
    mutationFn: (webhookId: string) => unwrap(api.DELETE('/api/v2/webhooks/{webhookId}', { params: { path: { webhookId } } })),
    onSuccess: () => {
      setDeleting(null);
      void client.invalidateQueries({ queryKey: ['webhooks'] });
    },
  });
  const issues = create.error instanceof ApiError ? create.error.issues() : [];
  const issue = (k: string) => issues.find((i) => i.path === k)?.message;
  const input = (k: keyof typeof form, label: string, type = 'text') => (
    <div className="field">
      <label htmlFor={`wh-${k}`}>{label}</label>
      <input id={`wh-${k}`} type={type} value={form[k]} onChange={(e) => setForm((f) => ({ ...f, [k]: e.target.value }))} aria-invalid={issue(k) ? true : undefined} />
      {issue(k) && <p className="field-error">{issue(k)}</p>}
    </div>
  );
  return (
    <div className="page">
      <h1>Webhooks</h1>
      <form className="card" onSubmit={(e) => { e.preventDefault(); create.mutate(); }}>
        {input('name', 'Name')}
        {input('url', 'URL', 'url')}
        {input('secret', 'Secret (at least 16 characters, signs each delivery)', 'password')}
        <fieldset>
          <legend>Events</legend>
          <div className="column-checks">
            {EVENTS.map((ev) => (
              <label key={ev} className="check">
                <input type="checkbox" checked={events.includes(ev)} onChange={(e) => setEvents((old) => (e.target.checked ? [...old, ev] : old.filter((x) => x !== ev)))} /> {ev}
              </label>
            ))}
          </div>
        </fieldset>
        {!issues.length && <ErrorText error={create.error} />}
        <button type="submit" className="primary" disabled={create.isPending}>
          Create webhook
        </button>
      </form>
      <ErrorText error={test.error} />
      {test.isSuccess && <p role="status">Test delivery sent.</p>}
      <QueryView query={list} loading="Loading webhooks…" isEmpty={(d) => d.webhooks.length === 0} empty={{ title: 'No webhooks' }}>
        {(data) => (
          <ListTable
            rows={data.webhooks}
            rowKey={(w) => w.webhookId}
            columns={[
              { label: 'Name', cell: (w) => w.name },
              { label: 'URL', cellClassName: 'wrap', cell: (w) => w.url },
              { label: 'Events', className: 'hide-narrow', cell: (w) => w.events.join(', ') },
              {
                label: 'Actions',
                hideLabel: true,
                cellClassName: 'row-actions',
                cell: (w) => (
                  <>
                    <button type="button" className="link" onClick={() => test.mutate(w.webhookId)}>
                      Test
                    </button>
                    <button type="button" className="link danger" onClick={() => setDeleting(w)} aria-label={`Delete ${w.name}`}>
                      Delete
                    </button>
                  </>
                ),
              },
            ]}
          />
        )}
      </QueryView>
      {deleting && <Confirm title="Delete webhook?" danger confirmLabel="Delete" busy={del.isPending} error={<ErrorText error={del.error} />} message={<p>Delete “{deleting.name}”?</p>} onClose={() => setDeleting(null)} onConfirm={() => del.mutate(deleting.webhookId)} />}
    </div>
  );
}
