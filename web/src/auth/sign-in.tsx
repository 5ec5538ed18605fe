import { useState, type FormEvent } from 'react';
import { session } from '../api/session';
import { useSession } from './use-session';

/** Paste an API key; it is checked against the API before it is kept (in sessionStorage). */
export function SignIn() {
  const { reason } = useSession();
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) return setError('Paste an API key.');
    setBusy(true);
    setError(null);
    try {
      const res = await fetch('/api/v2/me', { headers: { authorization: `Bearer ${trimmed}` } });
      if (res.ok) return session.signIn(trimmed);
      const body = (await res.json().catch(() => ({}))) as { error?: string; code?: string };
      setError(`${body.error ?? `The server answered ${res.status}`}${body.code ? ` (${body.code})` : ''}`);
    } catch {
      setError('The server cannot be reached. Check that cellwise is running, then try again.');
    } finally {
      setBusy(false);
    }
  }
  const message = error ?? reason;
  return (
    <main className="sign-in" id="main">
      <form onSubmit={submit} className="card" noValidate>
        <h1>Sign in to cellwise</h1>
        <p className="muted">Paste an API key. It is kept in this tab only and forgotten when you close it.</p>
        <label htmlFor="api-key">API key</label>
        <input id="api-key" type="password" autoComplete="off" spellCheck={false} value={key} onChange={(e) => setKey(e.target.value)} aria-describedby={message ? 'sign-in-error' : undefined} aria-invalid={message ? true : undefined} />
        {message && (
          <p id="sign-in-error" className="error-text" role="alert">
            {message}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="muted small">The server printed an admin key when it first started (or set CELLWISE_ADMIN_KEY).</p>
      </form>
    </main>
  );
}
