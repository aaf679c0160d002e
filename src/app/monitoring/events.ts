import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { logsDir } from '../../config/index.js';
import { appendPrivateFile, mkdirPrivate } from '../../core/private-files.js';

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
