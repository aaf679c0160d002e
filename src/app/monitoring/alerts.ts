import { existsSync } from 'node:fs';
import { alertConditions, type AlertCondition } from '../../policy/alert-rules.js';
import { groupByReceiver, routeAlerts, type AlertDecision, type RoutedAlert } from '../../policy/alert-routing.js';
import { alertReceiverNames } from '../../config/schema.js';
import { ALERT_RULES, gatherRecords, type GatheredRecords } from './alert-records.js';
import {
  readAlertsFile,
  RESOLVED_KEPT,
  setAsideDamaged,
  tryLockAlerts,
  writeAlertsFile,
  type Alert,
  type AlertsFile,
  type NotificationKind,
} from './alert-state.js';
import type { AppContext } from '../context.js';
import { recordEvent } from './events.js';
import { notifyReceiver, type DeliveryOutcome } from './receivers/index.js';
import { listSilences, type SilenceView } from './alert-controls.js';

export interface DeliveryReport {
  key: string;
  kind: NotificationKind;
  target: string;
  ok: boolean;
  error?: string;
}

export interface AlertsReport {
  evaluated_at: string;
  active: Alert[];
  /** Recently resolved alerts, newest first. */
  resolved: Alert[];
  /** Keys that changed in this evaluation. */
  raised: string[];
  repeated: string[];
  resolved_now: string[];
  deliveries: DeliveryReport[];
  /** Per alert: held back by a silence (its id) or by another alert (its key), and when its next escalation step falls due. */
  routing: Array<Pick<AlertDecision, 'key' | 'silenced_by' | 'inhibited_by' | 'next_step_at'>>;
  /** The silences (`prism alerts silence`), expired ones of the last 7 days included. */
  silences: SilenceView[];
  /** False when another process was evaluating at the same time (or PRISM_HOME does not exist): this report was not saved or delivered. */
  saved: boolean;
}

/**
 * Applies the SOP §5.2 rules to the current records and keeps state/alerts.json: a new condition
 * is raised (notified once), repeated every `repeat_interval_minutes` while it holds, and
 * resolved (notified once) when it clears. With `deliver: false` nothing is sent; notifications
 * due stay pending for the next delivering evaluation. Delivery failures never throw: they are
 * logged, kept in the alert's `pending` and retried at the next evaluation.
 */
export async function evaluateAlerts(ctx: AppContext, opts: { deliver?: boolean } = {}): Promise<AlertsReport> {
  return evaluateGathered(ctx, await gatherRecords(ctx), opts);
}

/**
 * evaluateAlerts over records already gathered (prism backup health reads them once for both).
 * With `save: false` the state is neither changed nor written (the health of a copy, `--repo`:
 * the saved alerts are the primary's).
 */
export async function evaluateGathered(ctx: AppContext, { records }: GatheredRecords, opts: { deliver?: boolean; save?: boolean } = {}): Promise<AlertsReport> {
  const deliver = opts.deliver ?? true;
  const now = ctx.clock.now();
  const conditions = alertConditions(records, ALERT_RULES, now);
  const home = ctx.config.home;
  // a PRISM_HOME that does not exist is not created (a mistyped one stays visible)
  const release = existsSync(home) && opts.save !== false ? tryLockAlerts(home, ctx.clock) : undefined;
  const state = readAlertsFile(home, (message) => {
    ctx.logger.warn({ event: 'alerts.state_damaged', message }, 'alert state file damaged; starting afresh (kept as alerts.json.damaged)');
    if (release) setAsideDamaged(home);
  });
  const report: AlertsReport = {
    evaluated_at: now.toISOString(),
    active: [],
    resolved: [],
    raised: [],
    repeated: [],
    resolved_now: [],
    deliveries: [],
    routing: [],
    silences: silencesOrNone(ctx),
    saved: release !== undefined,
  };
  try {
    // another evaluator holds the state: show what holds now, change nothing
    applyConditions(ctx, state, conditions, now, report, { deliver: deliver && release !== undefined, log: release !== undefined });
    if (release) {
      if (deliver) await deliverPending(ctx, state, now, report);
      else clearLogOnly(state, now);
      state.updated_at = now.toISOString();
      writeAlertsFile(home, state);
    }
  } finally {
    release?.();
  }
  report.active = state.active;
  report.resolved = state.resolved;
  return report;
}

export { activeAlerts, savedAlerts } from './alert-state.js';

function applyConditions(
  ctx: AppContext,
  state: AlertsFile,
  conditions: AlertCondition[],
  now: Date,
  report: AlertsReport,
  o: { deliver: boolean; log: boolean },
): void {
  const t = now.toISOString();
  const cfg = ctx.config.backup.alerts;
  const byKey = new Map(state.active.map((a) => [a.key, a]));
  const receivers = alertReceiverNames(cfg);
  const active: Alert[] = [];
  for (const c of conditions) {
    const a = byKey.get(c.key);
    byKey.delete(c.key);
    if (!a) {
      const alert: Alert = {
        ...c,
        state: 'active',
        raised_at: t,
        last_seen_at: t,
        resolved_at: null,
        notified_at: null,
        notifications: 0,
        // with no receiver the log line is the notification
        pending: receivers.length === 0 ? { kind: 'raised', since: t, targets: [], attempts: 0, last_attempt_at: null, last_error: null } : null,
        escalation_since: t,
        episode_told: [],
        told: [],
        acknowledged: null,
      };
      active.push(alert);
      report.raised.push(c.key);
      if (o.log) logTransition(ctx, alert, 'raised', now);
      continue;
    }
    const escalated = a.severity !== c.severity;
    Object.assign(a, { severity: c.severity, rule: c.rule, message: c.message, fix: c.fix, details: c.details, last_seen_at: t });
    if (escalated) {
      // a new escalation: its route's steps from the start, an acknowledgement of the old severity no longer holds
      Object.assign(a, { escalation_since: t, episode_told: [], acknowledged: null });
      if (receivers.length === 0) addPending(a, 'raised', [], t);
      report.raised.push(c.key);
      if (o.log) logTransition(ctx, a, 'raised', now);
    }
    active.push(a);
  }
  const resolved: Alert[] = [];
  for (const a of byKey.values()) {
    a.state = 'resolved';
    a.resolved_at = t;
    // everyone told hears of it (nobody told: nothing to take back); what was still waiting is dropped
    const told = a.told ?? (a.notified_at ? receivers : []);
    a.pending =
      a.notified_at || told.length > 0 ? { kind: 'resolved', since: t, targets: [...told], attempts: 0, last_attempt_at: null, last_error: null } : null;
    resolved.push(a);
    report.resolved_now.push(a.key);
    if (o.log) logTransition(ctx, a, 'resolved', now);
  }
  state.active = active;
  state.resolved = [...resolved, ...state.resolved].slice(0, RESOLVED_KEPT);
  if (receivers.length === 0) {
    // today's behaviour without receivers: the log line is the reminder
    const repeatMs = cfg.repeat_interval_minutes * 60_000;
    for (const a of active) {
      if (o.deliver && !a.pending && a.notified_at && now.getTime() - Date.parse(a.notified_at) >= repeatMs) {
        addPending(a, 'repeat', [], t);
        report.repeated.push(a.key);
        logTransition(ctx, a, 'repeat', now);
      }
    }
    return;
  }
  const decisions = routeAlerts({
    alerts: active.map((a) => routed(a, receivers)),
    routes: cfg.routes,
    receivers,
    repeatMinutes: cfg.repeat_interval_minutes,
    silences: report.silences,
    inhibit: cfg.inhibit,
    now,
  });
  report.routing = decisions.map(({ key, silenced_by, inhibited_by, next_step_at }) => ({ key, silenced_by, inhibited_by, next_step_at }));
  for (const [i, d] of decisions.entries()) {
    const a = active[i]!;
    const raised = d.due.filter((n) => n.kind === 'raised').map((n) => n.receiver);
    // reminders only when delivering (`prism alerts` alone does not start one)
    const repeat = o.deliver ? d.due.filter((n) => n.kind === 'repeat').map((n) => n.receiver) : [];
    if (raised.length > 0) {
      addPending(a, 'raised', raised, t);
      if (o.log && a.episode_told && a.episode_told.length > 0) {
        ctx.logger.warn(
          { event: 'alert.escalated', key: a.key, severity: a.severity, receivers: raised },
          `alert escalated to ${raised.join(', ')}: ${a.message}`,
        );
        recordEvent(ctx.config.home, { event: 'alert.escalated', key: a.key, severity: a.severity, receivers: raised, time: t });
      }
    }
    if (repeat.length > 0) {
      addPending(a, 'repeat', repeat, t);
      report.repeated.push(a.key);
      logTransition(ctx, a, 'repeat', now);
    }
  }
}

/** A damaged silences file silences nothing (notifications still go out) and is logged. */
function silencesOrNone(ctx: AppContext): SilenceView[] {
  try {
    return listSilences(ctx);
  } catch (e) {
    ctx.logger.error({ event: 'alerts.silences_damaged', error: (e as Error).message }, `silences not applied: ${(e as Error).message}`);
    return [];
  }
}

/** The alert as the routing policy reads it. */
function routed(a: Alert, receivers: string[]): RoutedAlert {
  // an alert saved before routes existed was told to every receiver when it was notified
  const before = a.notified_at ? receivers : [];
  return {
    key: a.key,
    severity: a.severity,
    rule: a.rule,
    state: a.state,
    escalation_since: a.escalation_since ?? a.raised_at,
    episode_told: a.episode_told ?? before,
    told: a.told ?? before,
    notified_at: a.notified_at,
    acknowledged: a.acknowledged ?? null,
    waiting: a.pending?.targets ?? [],
  };
}

const KIND_RANK: Record<NotificationKind, number> = { repeat: 0, raised: 1, resolved: 2 };

/** Adds receivers to the alert's waiting notification (the weightier kind wins: a reminder joining a new step is sent as raised). */
function addPending(a: Alert, kind: NotificationKind, targets: string[], t: string): void {
  if (!a.pending) {
    a.pending = { kind, since: t, targets: [...targets], attempts: 0, last_attempt_at: null, last_error: null };
    return;
  }
  if (KIND_RANK[kind] > KIND_RANK[a.pending.kind]) a.pending.kind = kind;
  a.pending.targets = [...new Set([...a.pending.targets, ...targets])];
}

function logTransition(ctx: AppContext, a: Alert, kind: NotificationKind, now: Date): void {
  const fields = { event: `alert.${kind}`, key: a.key, severity: a.severity, rule: a.rule, message: a.message };
  if (kind === 'resolved') ctx.logger.info(fields, `alert resolved: ${a.key}`);
  else ctx.logger.warn(fields, `alert ${kind}: ${a.message}`);
  recordEvent(ctx.config.home, { ...fields, time: now.toISOString(), severity: kind === 'resolved' ? 'info' : a.severity });
}

/** A notification with no target configured is delivered by the log line alone. */
function markDelivered(a: Alert, now: Date): void {
  a.pending = null;
  a.notified_at = now.toISOString();
  a.notifications++;
}

function clearLogOnly(state: AlertsFile, now: Date): void {
  for (const a of [...state.active, ...state.resolved]) if (a.pending && a.pending.targets.length === 0) markDelivered(a, now);
}

/**
 * Delivers every pending notification, one message per receiver with every alert waiting for it
 * (grouping); a receiver that fails is not tried again in this evaluation, and its alerts stay pending.
 */
async function deliverPending(ctx: AppContext, state: AlertsFile, now: Date, report: AlertsReport): Promise<void> {
  const cfg = ctx.config.backup.alerts;
  const configured = alertReceiverNames(cfg);
  const waiting = [...state.active, ...state.resolved].filter((a) => a.pending);
  const items: Array<{ receiver: string; severity: Alert['severity']; alert: Alert; kind: NotificationKind }> = [];
  for (const a of waiting) {
    const p = a.pending!;
    // a receiver removed from the configuration since is not waited for
    p.targets = p.targets.filter((t) => configured.includes(t));
    for (const receiver of p.targets) items.push({ receiver, severity: a.severity, alert: a, kind: p.kind });
  }
  const failed = new Map<Alert, string[]>();
  for (const [receiver, group] of groupByReceiver(items)) {
    const outcome = await deliverGroup(ctx, receiver, group, now);
    for (const { alert: a, kind } of group) {
      report.deliveries.push({ key: a.key, kind, target: receiver, ok: outcome.ok, ...(outcome.ok ? {} : { error: outcome.error }) });
      if (outcome.ok) {
        a.pending!.targets = a.pending!.targets.filter((t) => t !== receiver);
        if (kind !== 'resolved') {
          a.told = [...new Set([...(a.told ?? []), receiver])];
          a.episode_told = [...new Set([...(a.episode_told ?? []), receiver])];
        }
      } else failed.set(a, [...(failed.get(a) ?? []), outcome.error]);
    }
    const keys = group.map((g) => g.alert.key);
    if (outcome.ok) {
      ctx.logger.info({ event: 'alert.delivered', keys, target: receiver }, `alert notification delivered (${receiver}, ${keys.length} alert(s))`);
    } else {
      ctx.logger.error(
        { event: 'alert.delivery_failed', keys, target: receiver, error: outcome.error },
        `alert delivery failed (${receiver}); retried at the next evaluation`,
      );
    }
  }
  for (const a of waiting) {
    const p = a.pending!;
    const errors = failed.get(a);
    if (!errors) {
      markDelivered(a, now);
      continue;
    }
    Object.assign(p, { attempts: p.attempts + 1, last_attempt_at: now.toISOString(), last_error: errors.join('; ') });
  }
}

/** One message per notification kind in the group (raised and resolved alerts of one evaluation go as two); failed if any failed. */
async function deliverGroup(ctx: AppContext, receiver: string, group: Array<{ alert: Alert; kind: NotificationKind }>, now: Date): Promise<DeliveryOutcome> {
  const o = { home: ctx.config.home, now, clock: ctx.clock };
  let attempts = 0;
  for (const kind of [...new Set(group.map((g) => g.kind))]) {
    const r = await notifyReceiver(
      ctx.config.backup.alerts,
      receiver,
      group.filter((g) => g.kind === kind).map((g) => g.alert),
      kind,
      o,
    );
    attempts += r.attempts;
    if (!r.ok) return { ...r, attempts };
  }
  return { ok: true, attempts };
}
