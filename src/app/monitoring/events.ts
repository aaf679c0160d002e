import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { logsDir } from '../../config/index.js';
import { appendPrivateFile, mkdirPrivate } from '../../core/private-files.js';
import type { AppContext } from '../context.js';

export type EventSeverity = 'critical' | 'high' | 'medium' | 'info';

/** One line of $PRISM_HOME/logs/events.log: what alerting (the service) picks up. */
export interface PrismEvent {
  time: string;
  severity: EventSeverity;
  event: string;
  [key: string]: unknown;
}

export function eventsFile(home: string): string {
  return join(logsDir(home), 'events.log');
}

/** Appends an event (JSON line); nothing is written while PRISM_HOME does not exist. */
export function recordEvent(home: string, e: PrismEvent): void {
  if (!existsSync(home)) return;
  mkdirPrivate(logsDir(home));
  appendPrivateFile(eventsFile(home), JSON.stringify(e) + '\n');
}

/**
 * recordEvent for what a command found in the repository of `ctx`: in a copy (`--repo`) the event
 * names it (`repository`), so that the alert rules keep the copy's findings apart from the primary's.
 */
export function recordRepositoryEvent(ctx: AppContext, e: PrismEvent): void {
  recordEvent(ctx.config.home, ctx.copy === undefined ? e : { ...e, repository: ctx.copy });
}
