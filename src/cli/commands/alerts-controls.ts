import type { Command } from 'commander';
import { formatDateTime } from '../../core/format.js';
import { cliContext } from '../context.js';
import { out, printJson, table } from '../output.js';
import { runAction } from '../run-action.js';

/** `prism alerts ack KEY` and `prism alerts silence …` (list, remove), under `prism alerts`. */
export function registerAlertControls(alerts: Command): void {
  // `--json` after the subcommand is taken by `prism alerts`, which has it too
  const asJson = (opts: { json?: boolean }) => opts.json === true || alerts.opts().json === true || silence.opts().json === true;
  alerts
    .command('ack <key>')
    .description('acknowledge an active alert (a key or a pattern with *): no further escalation steps; reminders say who acknowledged it')
    .option('--comment <text>', 'what is being done')
    .option('--json', 'print as JSON')
    .action(
      runAction(async (key: string, opts: { comment?: string; json?: boolean }) => {
        const { acknowledgeAlert } = await import('../../app/monitoring/alert-controls.js');
        const a = await acknowledgeAlert(await cliContext(), key, opts.comment);
        if (asJson(opts)) printJson({ key: a.key, acknowledged: a.acknowledged });
        else out(`Acknowledged ${a.key}${opts.comment ? ` (${opts.comment})` : ''}: no further escalation; it resolves when the cause is fixed.`);
        return 0;
      }),
    );

  const silence = alerts
    .command('silence')
    .description('hold back notifications of alerts whose key matches, for a time (maintenance windows); list, remove')
    .option('--match <pattern>', 'an alert key, or a pattern where * is any run of characters ("backup_failed:*", "*")')
    .option('--for <duration>', 'how long: 90m, 2h, 1d, 1h30m')
    .option('--comment <text>', 'why')
    .option('--json', 'print as JSON')
    .action(
      runAction(async (opts: { match?: string; for?: string; comment?: string; json?: boolean }) => {
        const { PrismError } = await import('../../errors/index.js');
        if (!opts.match || !opts.for) {
          throw new PrismError(
            'INVALID_ARGUMENT',
            'prism alerts silence needs --match PATTERN and --for DURATION (e.g. --match "backup_*" --for 2h); `prism alerts silence list` shows the silences.',
            {},
          );
        }
        const { addSilence } = await import('../../app/monitoring/alert-controls.js');
        const s = addSilence(await cliContext(), { match: opts.match, duration: opts.for, comment: opts.comment });
        if (asJson(opts)) printJson(s);
        else
          out(
            `Silence ${s.id}: alerts matching ${s.match} are not notified until ${formatDateTime(new Date(s.ends_at))} (\`prism alerts silence remove ${s.id}\` ends it).`,
          );
        return 0;
      }),
    );
  silence
    .command('list')
    .description('the silences: active, to come, and expired in the last 7 days')
    .option('--json', 'print as JSON')
    .action(
      runAction(async (opts: { json?: boolean }) => {
        const { listSilences } = await import('../../app/monitoring/alert-controls.js');
        const list = listSilences(await cliContext());
        if (asJson(opts)) printJson({ silences: list });
        else out(list.length === 0 ? 'No silences.' : renderSilences(list));
        return 0;
      }),
    );
  silence
    .command('remove <id>')
    .description('end a silence now')
    .action(
      runAction(async (id: string) => {
        const { removeSilence } = await import('../../app/monitoring/alert-controls.js');
        const s = removeSilence(await cliContext(), id);
        out(`Silence ${s.id} (${s.match}) removed.`);
        return 0;
      }),
    );
}

export function renderSilences(
  list: Array<{ id: string; match: string; state: string; ends_at: string; comment: string | null; created_by: string | null }>,
): string {
  return table(
    ['ID', 'MATCH', 'STATE', 'UNTIL', 'BY', 'COMMENT'],
    list.map((s) => [s.id, s.match, s.state, formatDateTime(new Date(s.ends_at)), s.created_by ?? '', s.comment ?? '']),
  );
}
