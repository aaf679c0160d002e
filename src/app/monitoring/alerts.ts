import { existsSync } from 'node:fs';
import { alertConditions, type AlertCondition } from '../../policy/alert-rules.js';
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
import { alertPayload, alertTargets, deliverTo } from './notify.js';

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
  const repeatMs = ctx.config.backup.alerts.repeat_interval_minutes * 60_000;
  const byKey = new Map(state.active.map((a) => [a.key, a]));
  const targets = alertTargets(ctx.config.backup.alerts);
  const pending = (kind: NotificationKind) => ({ kind, since: t, targets: [...targets], attempts: 0, last_attempt_at: null, last_error: null });
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
        pending: pending('raised'),
      };
      active.push(alert);
      report.raised.push(c.key);
      if (o.log) logTransition(ctx, alert, 'raised', now);
      continue;
    }
    const escalated = a.severity !== c.severity;
    Object.assign(a, { severity: c.severity, rule: c.rule, message: c.message, fix: c.fix, details: c.details, last_seen_at: t });
    if (escalated) {
      a.pending = pending('raised');
      report.raised.push(c.key);
      if (o.log) logTransition(ctx, a, 'raised', now);
    } else if (o.deliver && !a.pending && a.notified_at && now.getTime() - Date.parse(a.notified_at) >= repeatMs) {
      a.pending = pending('repeat');
      report.repeated.push(c.key);
      logTransition(ctx, a, 'repeat', now);
    }
    active.push(a);
  }
  const resolved: Alert[] = [];
  for (const a of byKey.values()) {
    a.state = 'resolved';
    a.resolved_at = t;
    // nobody was told of it: nothing to take back
    a.pending = a.notified_at ? pending('resolved') : null;
    resolved.push(a);
    report.resolved_now.push(a.key);
    if (o.log) logTransition(ctx, a, 'resolved', now);
  }
  state.active = active;
  state.resolved = [...resolved, ...state.resolved].slice(0, RESOLVED_KEPT);
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

/** Delivers every pending notification; a target that fails is not tried again in this evaluation. */
async function deliverPending(ctx: AppContext, state: AlertsFile, now: Date, report: AlertsReport): Promise<void> {
  const cfg = ctx.config.backup.alerts;
  const failing = new Map<string, string>();
  const configured = alertTargets(cfg);
  for (const a of [...state.active, ...state.resolved]) {
    const p = a.pending;
    if (!p) continue;
    // a target removed from the configuration since is not waited for
    p.targets = p.targets.filter((t) => configured.includes(t));
    const payload = alertPayload(a, p.kind, ctx.config.home, now);
    const left = [];
    const errors = [];
    for (const target of p.targets) {
      const outcome = failing.has(target)
        ? { ok: false as const, error: `not tried: ${failing.get(target)}` }
        : await deliverTo(target, cfg, payload, ctx.clock);
      report.deliveries.push({ key: a.key, kind: p.kind, target, ok: outcome.ok, ...(outcome.ok ? {} : { error: outcome.error }) });
      if (outcome.ok) {
        ctx.logger.info({ event: 'alert.delivered', key: a.key, kind: p.kind, target }, `alert ${p.kind} delivered (${target})`);
        continue;
      }
      if (!failing.has(target)) failing.set(target, outcome.error);
      left.push(target);
      errors.push(outcome.error);
      ctx.logger.error(
        { event: 'alert.delivery_failed', key: a.key, kind: p.kind, target, error: outcome.error },
        `alert delivery failed (${target}); retried at the next evaluation`,
      );
    }
    if (left.length === 0) markDelivered(a, now);
    else Object.assign(p, { targets: left, attempts: p.attempts + 1, last_attempt_at: now.toISOString(), last_error: errors.join('; ') });
  }
}
