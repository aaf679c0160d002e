/** Loading, error and empty states that say what to do next. */
import type { ComponentChildren } from 'preact';
import type { ApiFailure } from '../api.js';
import { RichText } from './rich-text.js';

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      {what}…
    </p>
  );
}

const HINTS: Record<string, string> = {
  NETWORK: 'Check that the service runs (`prism status`), then reload.',
  ERR_PRISM_NO_REPO: 'Create the repository with a first backup: `prism backup create --type full`.',
};

export function ErrorBox({ error, retry, title = 'Could not load this' }: { error: ApiFailure | Error; retry?: () => void; title?: string }) {
  const code = 'code' in error ? (error as ApiFailure).code : undefined;
  const hint = code ? HINTS[code] : undefined;
  const status = 'status' in error ? (error as ApiFailure).status : 0;
  return (
    <div class="callout callout-bad" role="alert">
      <strong>{title}</strong>
      <p>
        <RichText text={error.message} />
      </p>
      {hint && (
        <p>
          <RichText text={hint} />
        </p>
      )}
      {!hint && status >= 500 && (
        <p>
          The service log (<code>logs/</code> under PRISM_HOME) has the details; the same command from the CLI shows the error too.
        </p>
      )}
      {code && <p class="muted small">Error code: {code}</p>}
      {retry && (
        <button type="button" class="btn" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <strong>{title}</strong>
      {children && <div class="muted">{children}</div>}
    </div>
  );
}

export function Callout({ tone = 'info', children }: { tone?: 'info' | 'warn' | 'bad' | 'ok'; children: ComponentChildren }) {
  return <div class={`callout callout-${tone}`}>{children}</div>;
}
