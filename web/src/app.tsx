import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { useSession } from './auth/use-session';
import { session } from './api/session';
import { SignIn } from './auth/sign-in';
import { DatasetsPage } from './features/datasets/datasets-page';
import { DatasetPage } from './features/grid/dataset-page';
import { DatasourcesPage } from './features/datasources/datasources-page';
import { KeysPage } from './features/keys/keys-page';
import { WebhooksPage } from './features/webhooks/webhooks-page';
import { linkProps, usePath } from './router';
import { useIsAdmin } from './auth/use-is-admin';


export function App() {
  const { key } = useSession();
  const client = useQueryClient();
  useEffect(() => {
    if (!key) client.clear();
  }, [key, client]);
  if (!key) return <SignIn />;
  return <Shell />;
}

function Shell() {
  const path = usePath();
  const admin = useIsAdmin();
  const dataset = path.match(/^\/datasets\/([^/]+)$/);
  let page;
  if (path === '/' || path === '/datasets') page = <DatasetsPage />;
  else if (dataset) page = <DatasetPage datasetId={decodeURIComponent(dataset[1]!)} />;
  else if (path === '/datasources') page = <DatasourcesPage />;
  else if (path === '/admin/keys') page = <KeysPage />;
  else if (path === '/admin/webhooks') page = <WebhooksPage />;
  else page = <NotFound what="page" />;
  const nav = (to: string, label: string, active: boolean) => (
    <a {...linkProps(to)} aria-current={active ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" {...linkProps('/')}>
          cellwise
        </a>
        <nav aria-label="Main">
          {nav('/', 'Datasets', path === '/' || path.startsWith('/datasets'))}
          {nav('/datasources', 'Datasources', path === '/datasources')}
          {admin && nav('/admin/keys', 'API keys', path === '/admin/keys')}
          {admin && nav('/admin/webhooks', 'Webhooks', path === '/admin/webhooks')}
        </nav>
        <button type="button" className="link" onClick={() => session.signOut()}>
          Sign out
        </button>
      </header>
      <UnreachableBanner />
      <main id="main">{page}</main>
    </div>
  );
}

function UnreachableBanner() {
  const { unreachable } = useSession();
  const client = useQueryClient();
  if (!unreachable) return null;
  return (
    <div className="banner" role="alert">
      The server cannot be reached. Nothing you typed is lost.
      <button
        type="button"
        onClick={() => {
          session.setUnreachable(false);
          void client.refetchQueries({ type: 'active' });
        }}
      >
        Retry
      </button>
    </div>
  );
}

export function NotFound({ what }: { what: string }) {
  return (
    <div className="state empty">
      <h1>Not found</h1>
      <p>This {what} does not exist, or your key cannot see it.</p>
      <a {...linkProps('/')}>Back to datasets</a>
    </div>
  );
}
