import type { Command } from 'commander';
import type { Alert } from '../../app/index.js';
import { formatDateTime } from '../../core/format.js';
import { PrismError } from '../../errors/index.js';
import { cliContext } from '../context.js';
import { out, printJson, reportError, table } from '../output.js';
import { runAction } from '../run-action.js';
import { registerAlertControls, renderSilences } from './alerts-controls.js';

/** SEVERITY, KEY, SINCE (or RESOLVED), MESSAGE; the fix under each. */
export function renderAlerts(alerts: Alert[]): string {
  const lines: string[] = [];
  const rows = alerts.map((a) => [a.severity.toUpperCase(), a.key, formatDateTime(new Date(a.resolved_at ?? a.raised_at)), a.message]);
  lines.push(table(['SEVERITY', 'KEY', alerts[0]?.state === 'resolved' ? 'RESOLVED' : 'SINCE', 'MESSAGE'], rows));
  for (const a of alerts) {
    if (a.state === 'active') lines.push(`  ${a.key}: Fix: ${a.fix}`);
    if (a.state === 'active' && a.acknowledged) {
      const k = a.acknowledged;
      lines.push(`  ${a.key}: acknowledged ${formatDateTime(new Date(k.at))}${k.by ? ` by ${k.by}` : ''}${k.comment ? `: ${k.comment}` : ''}`);
    }
    if (a.pending?.last_error) lines.push(`  ${a.key}: ${a.pending.kind} notification not delivered yet: ${a.pending.last_error}`);
  }
  return lines.join('\n');
}

export function registerAlerts(program: Command): void {
  const alerts = program.command('alerts');
  registerAlertControls(alerts);
  alerts
    .description('evaluate the SOP alert rules and list active alerts (nothing is sent unless --notify)')
    .option('--all', 'also the recently resolved alerts')
    .option('--notify', 'deliver due notifications (webhook / command) as the service does')
    .option('--json', 'print as JSON')
    .action(
      runAction(async (opts: { all?: boolean; notify?: boolean; json?: boolean }) => {
        const { evaluateAlerts } = await import('../../app/monitoring/alerts.js');
        const r = await evaluateAlerts(await cliContext(), { deliver: opts.notify ?? false });
        const { alertsView } = await import('../../app/monitoring/alerts-view.js');
        const { json, error } = alertsView(r, { all: opts.all ?? false });
        if (opts.json) {
          printJson(json);
          return error?.exitCode ?? 0;
        }
        out(r.active.length === 0 ? 'No active alerts.' : renderAlerts(r.active));
        for (const d of r.routing) {
          if (d.silenced_by) out(`  ${d.key}: silenced (${d.silenced_by})`);
          else if (d.inhibited_by) out(`  ${d.key}: held back while ${d.inhibited_by} is active`);
          if (d.next_step_at) out(`  ${d.key}: next escalation step ${formatDateTime(new Date(d.next_step_at))}`);
        }
        const running = r.silences.filter((s) => s.state !== 'expired');
        if (running.length > 0) out(`\nSilences:\n${renderSilences(running)}`);
        if (opts.all) {
          out('');
          out(r.resolved.length === 0 ? 'No recently resolved alerts.' : `Recently resolved:\n${renderAlerts(r.resolved)}`);
        }
        if (opts.notify) out(`${r.deliveries.filter((d) => d.ok).length} notification(s) delivered.`);
        if (!r.saved) out('(another prism process was evaluating alerts: shown, not saved)');
        return error ? reportError(error, false, false) : 0;
      }),
    );
  registerAlertsTest(alerts);
}

/** `prism alerts test [--receiver NAME] [--json]`: a test notification through each receiver, delivered or the exact error. */
function registerAlertsTest(alerts: Command): void {
  const test = alerts
    .command('test')
    .description('send a test notification through each receiver (or one) and report, per receiver, delivered or the error')
    .option('--receiver <name>', 'only this receiver')
    .option('--json', 'print as JSON')
    .action(
      runAction(async () => {
        // `--json` after `test` is parsed as the parent's flag (the same name): read both
        const opts = test.optsWithGlobals<{ receiver?: string; json?: boolean }>();
        const { testReceivers } = await import('../../app/monitoring/receivers/index.js');
        const ctx = await cliContext();
        const results = await testReceivers(ctx.config.backup.alerts, { home: ctx.config.home, clock: ctx.clock, only: opts.receiver });
        if (results === undefined) {
          throw new PrismError('INVALID_ARGUMENT', `No receiver is named ${opts.receiver}; \`prism alerts test\` without --receiver tests them all.`, {
            receiver: opts.receiver,
          });
        }
        const failed = results.filter((r) => !r.ok);
        const error =
          failed.length > 0
            ? new PrismError('ALERT_DELIVERY_FAILED', `${failed.length} of ${results.length} receiver(s) failed: ${failed.map((f) => f.error).join('; ')}`)
            : undefined;
        if (opts.json) {
          printJson({ receivers: results, ...(error ? { error: error.toJSON() } : {}) });
          return error?.exitCode ?? 0;
        }
        if (results.length === 0) {
          out('No receivers configured (backup.alerts.receivers, webhook_url or command): alerts go to the logs only.');
          return 0;
        }
        out(
          table(
            ['RECEIVER', 'KIND', 'RESULT'],
            results.map((r) => [r.receiver, r.kind, r.ok ? `delivered${r.attempts > 1 ? ` (after ${r.attempts} attempts)` : ''}` : `FAILED: ${r.error}`]),
          ),
        );
        return error ? reportError(error, false, false) : 0;
      }),
    );
}
