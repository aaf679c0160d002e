import type { AlertSeverity } from './alert-rules.js';

/**
 * Routing of alerts as a pure function of (alerts, routes, silences, inhibition rules, now): which
 * receiver is due which notification. Delivering them and keeping the state is
 * app/monitoring/alerts.ts. Prometheus Alertmanager is the model, kept small: the first route that
 * matches an alert names its steps (`{ receiver, after_minutes }`); an acknowledged alert escalates
 * no further; a silence or an inhibiting alert holds its notifications back; a resolution goes to
 * every receiver that was told.
 */

/** What a route, a silence or an inhibition rule selects: every listed condition holds. */
export interface AlertMatch {
  severity?: readonly AlertSeverity[] | undefined;
  /** A key pattern: `*` stands for any run of characters (`copy_*:offsite`, `backup_failed:*`). */
  key?: string | undefined;
}

export interface RouteStep {
  receiver: string;
  /** Minutes after the alert was raised (or changed severity); 0: at once. */
  after_minutes: number;
}

export interface AlertRoute {
  match?: AlertMatch | undefined;
  steps: readonly RouteStep[];
  /** Reminders to everyone told while the alert holds; default backup.alerts.repeat_interval_minutes. */
  repeat_minutes?: number | undefined;
}

/** An alert matching `target` is held back while an active alert (another one) matches `source` and has the same `equal` labels. */
export interface InhibitRule {
  source: AlertMatch;
  target: AlertMatch;
  /** Labels that must be equal in both: `key`, `rule`, `severity`, or `subject` (the key after its first ":"). */
  equal?: readonly InhibitLabel[] | undefined;
}

export const INHIBIT_LABELS = ['key', 'rule', 'severity', 'subject'] as const;
export type InhibitLabel = (typeof INHIBIT_LABELS)[number];

/** A critical storage alert holds back the lower storage ones (the default of backup.alerts.inhibit). */
export const DEFAULT_INHIBIT: readonly InhibitRule[] = [
  { source: { severity: ['critical'], key: 'storage*' }, target: { severity: ['high', 'medium'], key: 'storage*' } },
];

export interface Silence {
  id: string;
  /** A key pattern, as AlertMatch.key. */
  match: string;
  starts_at: string;
  ends_at: string;
  comment: string | null;
  created_by: string | null;
}

export interface Acknowledgement {
  at: string;
  comment: string | null;
  by: string | null;
}

/** An alert as routing needs it. */
export interface RoutedAlert {
  key: string;
  severity: AlertSeverity;
  rule: string;
  state: 'active' | 'resolved';
  /** When the current escalation started: raised, or its severity changed. */
  escalation_since: string;
  /** Receivers told of the current escalation (raised or repeated, delivered). */
  episode_told: readonly string[];
  /** Every receiver told of the alert since it was raised: they hear of its resolution. */
  told: readonly string[];
  /** The last notification delivered to anyone (for reminders). */
  notified_at: string | null;
  acknowledged: Acknowledgement | null;
  /** Receivers a notification is already waiting for (not due again). */
  waiting: readonly string[];
}

export type RoutedKind = 'raised' | 'repeat' | 'resolved';

export interface DueNotification {
  key: string;
  receiver: string;
  kind: RoutedKind;
}

export interface AlertDecision {
  key: string;
  due: DueNotification[];
  /** Why nothing is sent although something would be: silenced (the silence's id) or inhibited (by that key). */
  silenced_by: string | null;
  inhibited_by: string | null;
  /** When the next step falls due (for the service to wake), null if none is waiting. */
  next_step_at: string | null;
  route: AlertRoute;
}

export interface RoutingInput {
  alerts: readonly RoutedAlert[];
  routes: readonly AlertRoute[];
  /** Every receiver configured: an alert no route matches goes to all of them at once. */
  receivers: readonly string[];
  repeatMinutes: number;
  silences: readonly Silence[];
  inhibit: readonly InhibitRule[];
  now: Date;
}

const MIN = 60_000;

/** `*` matches any run of characters; everything else literally. */
export function keyMatches(pattern: string, key: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 's');
  return re.test(key);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function alertMatches(m: AlertMatch | undefined, a: { key: string; severity: AlertSeverity }): boolean {
  if (!m) return true;
  if (m.severity && m.severity.length > 0 && !m.severity.includes(a.severity)) return false;
  if (m.key !== undefined && !keyMatches(m.key, a.key)) return false;
  return true;
}

/** The route of an alert: the first that matches; without one, every receiver at once. */
export function routeFor(a: { key: string; severity: AlertSeverity }, routes: readonly AlertRoute[], receivers: readonly string[]): AlertRoute {
  return routes.find((r) => alertMatches(r.match, a)) ?? { steps: receivers.map((receiver) => ({ receiver, after_minutes: 0 })) };
}

export function activeSilence(key: string, silences: readonly Silence[], now: Date): Silence | undefined {
  const t = now.getTime();
  return silences.find((s) => Date.parse(s.starts_at) <= t && t < Date.parse(s.ends_at) && keyMatches(s.match, key));
}

/** A silence still to come or running. */
export function silenceExpired(s: Silence, now: Date): boolean {
  return Date.parse(s.ends_at) <= now.getTime();
}

function label(a: { key: string; rule: string; severity: string }, l: InhibitLabel): string {
  if (l === 'subject') {
    const i = a.key.indexOf(':');
    return i < 0 ? '' : a.key.slice(i + 1);
  }
  return a[l];
}

/** The active alert that holds `a` back, if any. */
export function inhibitedBy(a: RoutedAlert, active: readonly RoutedAlert[], rules: readonly InhibitRule[]): RoutedAlert | undefined {
  for (const r of rules) {
    if (!alertMatches(r.target, a)) continue;
    const source = active.find(
      (s) => s.key !== a.key && s.state === 'active' && alertMatches(r.source, s) && (r.equal ?? []).every((l) => label(s, l) === label(a, l)),
    );
    if (source) return source;
  }
  return undefined;
}

/**
 * What is due now for each alert. For an active alert that is neither silenced nor inhibited:
 * each step of its route whose time has come and whose receiver was not told yet (none once
 * acknowledged), and a reminder to everyone told once `repeat_minutes` passed since the last
 * notification. For a resolved alert: a resolution to everyone told.
 */
export function routeAlerts(input: RoutingInput): AlertDecision[] {
  const { now } = input;
  const t = now.getTime();
  const active = input.alerts.filter((a) => a.state === 'active');
  return input.alerts.map((a) => {
    const route = routeFor(a, input.routes, input.receivers);
    const decision: AlertDecision = { key: a.key, due: [], silenced_by: null, inhibited_by: null, next_step_at: null, route };
    const waiting = new Set(a.waiting);
    if (a.state === 'resolved') {
      decision.due = a.told.filter((r) => !waiting.has(r)).map((receiver) => ({ key: a.key, receiver, kind: 'resolved' }));
      return decision;
    }
    const silence = activeSilence(a.key, input.silences, now);
    const source = silence ? undefined : inhibitedBy(a, active, input.inhibit);
    decision.silenced_by = silence?.id ?? null;
    decision.inhibited_by = source?.key ?? null;
    const since = Date.parse(a.escalation_since);
    const told = new Set(a.episode_told);
    const raised = new Set<string>();
    if (!a.acknowledged) {
      for (const s of route.steps) {
        if (told.has(s.receiver) || waiting.has(s.receiver) || raised.has(s.receiver)) continue;
        const at = since + s.after_minutes * MIN;
        if (at <= t) raised.add(s.receiver);
        else if (decision.next_step_at === null || at < Date.parse(decision.next_step_at)) decision.next_step_at = new Date(at).toISOString();
      }
    }
    if (silence || source) return decision;
    for (const receiver of raised) decision.due.push({ key: a.key, receiver, kind: 'raised' });
    const repeatMs = (route.repeat_minutes ?? input.repeatMinutes) * MIN;
    if (a.notified_at && t - Date.parse(a.notified_at) >= repeatMs) {
      for (const receiver of a.episode_told) if (!waiting.has(receiver)) decision.due.push({ key: a.key, receiver, kind: 'repeat' });
    }
    return decision;
  });
}

/** One message per receiver: the notifications due to it, most severe first. */
export function groupByReceiver<N extends { receiver: string; severity: AlertSeverity }>(due: readonly N[]): Map<string, N[]> {
  const rank: Record<AlertSeverity, number> = { critical: 0, high: 1, medium: 2 };
  const out = new Map<string, N[]>();
  for (const n of due) {
    const list = out.get(n.receiver) ?? [];
    list.push(n);
    out.set(n.receiver, list);
  }
  for (const list of out.values()) list.sort((x, y) => rank[x.severity] - rank[y.severity]);
  return out;
}

/** A duration as the CLI takes it: `90m`, `2h`, `1d`, `1h30m`; minutes. */
export function parseDurationMinutes(text: string): number | undefined {
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$/.exec(text.trim());
  if (!m || text.trim() === '') return undefined;
  const minutes = Number(m[1] ?? 0) * 1440 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  return minutes > 0 ? minutes : undefined;
}
