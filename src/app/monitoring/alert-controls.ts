import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { mkdirPrivate, replacePrivateFile } from '../../core/private-files.js';
import { PrismError } from '../../errors/index.js';
import { keyMatches, parseDurationMinutes, silenceExpired, type Acknowledgement, type Silence } from '../../policy/alert-routing.js';
import type { AppContext } from '../context.js';
import { alertsStateDir, readAlertsFile, tryLockAlerts, writeAlertsFile, type Alert } from './alert-state.js';
import { recordEvent } from './events.js';

/**
 * `prism alerts ack` and `prism alerts silence`: acknowledgements are kept on the alert in
 * state/alerts.json (under the evaluation's lock), silences in state/silences.json. Both are read
 * by every evaluation (app/monitoring/alerts.ts) and applied by policy/alert-routing.ts.
 */

interface SilencesFile {
  version: 1;
  silences: Silence[];
}

/** Expired silences are kept this long (listed as expired), then dropped. */
const EXPIRED_KEPT_MS = 7 * 24 * 3_600_000;

export function silencesFile(home: string): string {
  return join(alertsStateDir(home), 'silences.json');
}

/** The saved silences; a missing file is none. A damaged one is an error (a silence must not vanish unnoticed). */
export function readSilences(home: string): Silence[] {
  let raw: string;
  try {
    raw = readFileSync(silencesFile(home), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  try {
    const v = JSON.parse(raw) as SilencesFile;
    if (v?.version !== 1 || !Array.isArray(v.silences)) throw new Error('not a silences file (version 1)');
    return v.silences;
  } catch (e) {
    throw new PrismError('CONFIG_INVALID', `${silencesFile(home)} is damaged (${(e as Error).message}); fix or remove it, then set the silences again.`, {
      file: silencesFile(home),
    });
  }
}

function writeSilences(home: string, silences: Silence[]): void {
  mkdirPrivate(alertsStateDir(home));
  const file = silencesFile(home);
  replacePrivateFile(file, JSON.stringify({ version: 1, silences } satisfies SilencesFile, null, 2) + '\n', `${file}.${process.pid}.tmp`);
}

function who(): string | null {
  try {
    return userInfo().username;
  } catch {
    return null;
  }
}

export interface SilenceView extends Silence {
  state: 'active' | 'pending' | 'expired';
}

export function listSilences(ctx: AppContext): SilenceView[] {
  const now = ctx.clock.now();
  return readSilences(ctx.config.home).map((s) => ({
    ...s,
    state: silenceExpired(s, now) ? 'expired' : Date.parse(s.starts_at) > now.getTime() ? 'pending' : 'active',
  }));
}

/** Adds a silence of `duration` (`2h`, `90m`, `1d`) from now over the keys matching `match`. */
export function addSilence(ctx: AppContext, opts: { match: string; duration: string; comment?: string | undefined }): Silence {
  const minutes = parseDurationMinutes(opts.duration);
  if (minutes === undefined) {
    throw new PrismError('INVALID_ARGUMENT', `--for "${opts.duration}" is not a duration: use minutes, hours or days such as 90m, 2h, 1d or 1h30m.`, {
      flag: '--for',
      value: opts.duration,
    });
  }
  if (opts.match.trim() === '')
    throw new PrismError('INVALID_ARGUMENT', '--match needs an alert key or a pattern such as "backup_failed:*".', { flag: '--match' });
  const now = ctx.clock.now();
  const silence: Silence = {
    id: randomBytes(4).toString('hex'),
    match: opts.match,
    starts_at: now.toISOString(),
    ends_at: new Date(now.getTime() + minutes * 60_000).toISOString(),
    comment: opts.comment ?? null,
    created_by: who(),
  };
  const kept = readSilences(ctx.config.home).filter((s) => now.getTime() - Date.parse(s.ends_at) < EXPIRED_KEPT_MS);
  writeSilences(ctx.config.home, [...kept, silence]);
  recordEvent(ctx.config.home, { event: 'alert.silenced', severity: 'info', time: now.toISOString(), ...silence });
  ctx.logger.info({ event: 'alert.silenced', ...silence }, `alerts matching ${silence.match} silenced until ${silence.ends_at}`);
  return silence;
}

export function removeSilence(ctx: AppContext, id: string): Silence {
  const silences = readSilences(ctx.config.home);
  const found = silences.find((s) => s.id === id);
  if (!found) {
    throw new PrismError(
      'INVALID_ARGUMENT',
      `No silence "${id}"; \`prism alerts silence list\` shows them${silences.length ? ` (${silences.map((s) => s.id).join(', ')})` : ''}.`,
      { id },
    );
  }
  writeSilences(
    ctx.config.home,
    silences.filter((s) => s !== found),
  );
  recordEvent(ctx.config.home, { event: 'alert.unsilenced', severity: 'info', time: ctx.clock.now().toISOString(), id, match: found.match });
  return found;
}

/**
 * Acknowledges an active alert: its route escalates no further (reminders still go to those told,
 * and say who acknowledged it). Waits for an evaluation running at the same time.
 */
export async function acknowledgeAlert(ctx: AppContext, key: string, comment?: string): Promise<Alert> {
  const home = ctx.config.home;
  let release: (() => void) | undefined;
  for (let waited = 0; !(release = tryLockAlerts(home, ctx.clock)); waited += 200) {
    if (waited >= 60_000)
      throw new PrismError('REPO_LOCKED', 'Alerts are being evaluated by another prism process for over a minute; run the command again.', {});
    await ctx.clock.sleep(200);
  }
  try {
    const state = readAlertsFile(home, (message) => {
      throw new PrismError(
        'CONFIG_INVALID',
        `The alert state file is damaged (${message}); run \`prism alerts\` to start it afresh, then acknowledge again.`,
        {},
      );
    });
    const matches = state.active.filter((a) => a.key === key || (key.includes('*') && keyMatches(key, a.key)));
    if (matches.length === 0) {
      throw new PrismError(
        'INVALID_ARGUMENT',
        `No active alert "${key}"; the active ones: ${state.active.map((a) => a.key).join(', ') || 'none'} (\`prism alerts\`).`,
        { key },
      );
    }
    const ack: Acknowledgement = { at: ctx.clock.now().toISOString(), comment: comment ?? null, by: who() };
    for (const a of matches) {
      a.acknowledged = ack;
      recordEvent(home, { event: 'alert.acknowledged', key: a.key, severity: 'info', time: ack.at, comment: ack.comment, by: ack.by });
      ctx.logger.info({ event: 'alert.acknowledged', key: a.key, by: ack.by, comment: ack.comment }, `alert acknowledged: ${a.key}`);
    }
    writeAlertsFile(home, state);
    return matches[0]!;
  } finally {
    release();
  }
}
