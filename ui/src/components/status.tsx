/** Status shown as text with a colour and a symbol (never colour alone). */
import type { ComponentChildren } from 'preact';

export type Tone = 'ok' | 'warn' | 'bad' | 'info' | 'muted';

const SYMBOL: Record<Tone, string> = { ok: '✓', warn: '!', bad: '✕', info: '•', muted: '–' };

export function Badge({ tone, children, title, symbol = true }: { tone: Tone; children: ComponentChildren; title?: string; symbol?: boolean }) {
  return (
    <span class={`badge badge-${tone}`} title={title}>
      {symbol && (
        <span aria-hidden="true" class="badge-symbol">
          {SYMBOL[tone]}
        </span>
      )}
      {children}
    </span>
  );
}

export function statusTone(status: string): Tone {
  switch (status) {
    case 'completed':
    case 'ok':
    case 'passed':
    case 'delivered':
    case 'verified':
      return 'ok';
    case 'partial':
    case 'skipped':
    case 'aborted':
    case 'interrupted':
    case 'high':
      return 'warn';
    case 'medium':
      return 'info';
    case 'failed':
    case 'corrupted':
    case 'damaged':
    case 'critical':
      return 'bad';
    case 'running':
      return 'info';
    default:
      return 'muted';
  }
}

export function StatusBadge({ status }: { status: string }) {
  return <Badge tone={statusTone(status)}>{status}</Badge>;
}

export function OkBadge({ ok, yes = 'OK', no = 'Not OK' }: { ok: boolean; yes?: string; no?: string }) {
  return <Badge tone={ok ? 'ok' : 'bad'}>{ok ? yes : no}</Badge>;
}

export function TypeBadge({ type }: { type: string }) {
  return <span class={`type type-${type}`}>{type}</span>;
}
