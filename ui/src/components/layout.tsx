/** The frame of every page: skip link, sidebar navigation (a top bar on narrow screens), main content. */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { href } from '../router.js';
import { timeZone } from '../format.js';
import { useLive } from '../live.js';

const NAV: { id: string; label: string }[] = [
  { id: 'overview', label: 'Overview' },
  { id: 'backups', label: 'Backups' },
  { id: 'history', label: 'History' },
  { id: 'restore', label: 'Restore' },
  { id: 'databases', label: 'Databases' },
  { id: 'copies', label: 'Copies' },
  { id: 'activity', label: 'Tasks & alerts' },
  { id: 'config', label: 'Configuration' },
];

export function Shell({ current, onLogout, version, children }: { current: string; onLogout: () => void; version?: string; children: ComponentChildren }) {
  const [open, setOpen] = useState(false);
  const live = useLive();
  return (
    <div class="shell">
      <a class="skip-link" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="sidebar">
        <div class="brand">
          <a href={href('overview')} class="brand-link">
            <span class="logo" aria-hidden="true" />
            prism
          </a>
          <button type="button" class="btn btn-ghost menu-toggle" aria-expanded={open} aria-controls="nav" onClick={() => setOpen(!open)}>
            Menu
          </button>
        </div>
        <nav id="nav" aria-label="Main" class={open ? 'open' : ''}>
          <ul>
            {NAV.map((n) => (
              <li key={n.id}>
                <a href={href(n.id)} aria-current={current === n.id ? 'page' : undefined} onClick={() => setOpen(false)}>
                  {n.label}
                  {n.id === 'overview' && live.running.length > 0 && <span class="pill">{live.running.length} running</span>}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="sidebar-foot">
          <span class="live-state small">
            <span class={`live-dot ${live.connected ? 'on' : ''}`} aria-hidden="true" />
            {live.connected ? 'Live updates on' : 'Live updates off (reconnecting)'}
          </span>
          <span class="small muted">Times in {timeZone}</span>
          {version && <span class="small muted">prism {version}</span>}
          <button type="button" class="btn btn-ghost btn-small" onClick={onLogout}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}

export function PageHeader({ title, children, lead }: { title: string; lead?: ComponentChildren; children?: ComponentChildren }) {
  return (
    <div class="page-header">
      <div>
        <h1>{title}</h1>
        {lead && <p class="lead">{lead}</p>}
      </div>
      {children && <div class="page-actions">{children}</div>}
    </div>
  );
}

export function Card({
  title,
  children,
  class: cls,
  actions,
}: {
  title?: ComponentChildren;
  children: ComponentChildren;
  class?: string;
  actions?: ComponentChildren;
}) {
  return (
    <section class={`card ${cls ?? ''}`}>
      {(title || actions) && (
        <div class="card-head">
          {title && <h2>{title}</h2>}
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}

/** A table that scrolls sideways on narrow screens (focusable, so the keyboard can scroll it). */
export function TableWrap({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
