import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { Confirm } from '../../ui/dialog';
import { ListTable } from '../../ui/list-table';
import { QueryView } from '../../ui/query-view';
import { ErrorText } from '../../ui/states';

const SCOPES = ['read', 'write', 'admin'] as const;

/** API keys of this workspace (admin keys only). A new key is shown once, never again. */
export function KeysPage() {
  const client = useQueryClient();
  const list = useQuery({ queryKey: ['keys'], queryFn: () => unwrap(api.GET('/api/v2/keys', {})) });
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<(typeof SCOPES)[number][]>(['read', 'write']);
  const [revoking, setRevoking] = useState<{ keyId: string; name: string } | null>(null);
  const create = useMutation({
    mutationFn: () => unwrap(api.POST('/api/v2/keys', { body: { name, scopes } })),
    onSuccess: () => {
      setName('');
      void client.invalidateQueries({ queryKey: ['keys'] });
    },
  });
  const revoke = useMutation({
    mutationFn: (keyId: string) => unwrap(api.DELETE('/api/v2/keys/{keyId}', { params: { path: { keyId } } })),
    onSuccess: () => {
      setRevoking(null);
      void client.invalidateQueries({ queryKey: ['keys'] });
    },
  });
  const created = create.data as { key?: string; name?: string } | undefined;
  return (
    <div className="page">
      <h1>API keys</h1>
      <form className="card inline-form" onSubmit={(e) => { e.preventDefault(); create.mutate(); }}>
        <div className="field">
          <label htmlFor="key-name">Name</label>
          <input id="key-name" value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <fieldset className="inline">
          <legend>Scopes</legend>
          {SCOPES.map((s) => (
            <label key={s} className="check">
              <input type="checkbox" checked={scopes.includes(s)} onChange={(e) => setScopes((old) => (e.target.checked ? [...old, s] : old.filter((x) => x !== s)))} /> {s}
            </label>
          ))}
        </fieldset>
        <button type="submit" className="primary" disabled={create.isPending}>
          Create key
        </button>
        <ErrorText error={create.error} />
      </form>
      {created?.key && (
        <div className="card notice" role="status">
          <p>
            <strong>Copy this key now: it is not shown again.</strong>
          </p>
          <code className="secret">{created.key}</code>
          <button type="button" onClick={() => void navigator.clipboard?.writeText(created.key!)}>
            Copy
          </button>
        </div>
      )}
      <QueryView query={list} loading="Loading keys…" isEmpty={(d) => d.keys.length === 0} empty={{ title: 'No keys' }}>
        {(data) => (
          <ListTable
            rows={data.keys}
            rowKey={(k) => k.keyId}
            columns={[
              { label: 'Name', cell: (k) => k.name },
              { label: 'Prefix', className: 'hide-narrow', cell: (k) => <code>{k.prefix}…</code> },
              { label: 'Scopes', cell: (k) => k.scopes.join(', ') },
              { label: 'Last used', className: 'hide-narrow', cell: (k) => (k.lastUsedAt ? new Date(k.lastUsedAt).toLocaleString() : 'never') },
              {
                label: 'Actions',
                hideLabel: true,
                cell: (k) => (
                  <button type="button" className="link danger" onClick={() => setRevoking(k)} aria-label={`Revoke ${k.name}`}>
                    Revoke
                  </button>
                ),
              },
            ]}
          />
        )}
      </QueryView>
      {revoking && <Confirm title="Revoke key?" danger confirmLabel="Revoke" busy={revoke.isPending} error={<ErrorText error={revoke.error} />} message={<p>Revoke “{revoking.name}”? Programs using it stop working at once.</p>} onClose={() => setRevoking(null)} onConfirm={() => revoke.mutate(revoking.keyId)} />}
    </div>
  );
}
