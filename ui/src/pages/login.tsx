/** Sign in with the password of `backup.dashboard.password_hash`, or by opening the URL `prism ui --print-url` prints. */
import { useState } from 'preact/hooks';
import { ApiFailure, login } from '../api.js';
import type { Session } from '../types.js';
import { RichText } from '../components/rich-text.js';

export function LoginPage({ onLogin, notice }: { onLogin: (s: Session) => void; notice?: string | null }) {
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!password) return setError('Type the dashboard password, or open the link `prism ui --print-url` prints.');
    setBusy(true);
    setError(null);
    try {
      onLogin(await login({ password }));
    } catch (err) {
      setError(
        err instanceof ApiFailure && err.status === 401
          ? 'That password is not right. Try again, or open the link `prism ui --print-url` prints on the server.'
          : (err as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login" id="main">
      <div class="login-card card">
        <div class="brand login-brand">
          <span class="logo" aria-hidden="true" />
          prism
        </div>
        <h1>Sign in to the dashboard</h1>
        {notice && (
          <div class="callout callout-warn" role="alert">
            <RichText text={notice} />
          </div>
        )}
        <p class="muted">
          On the server, run <code>prism ui --print-url</code> (or <code>prism status</code>) and open the link it prints: it signs you in. Or use the dashboard
          password, if one is set.
        </p>
        <form onSubmit={submit} class="form">
          <label for="password">Password</label>
          <input id="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          {error && (
            <p class="field-error" role="alert">
              <RichText text={error} />
            </p>
          )}
          <button class="btn btn-primary" type="submit" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}
