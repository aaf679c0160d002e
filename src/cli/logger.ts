import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { logsDir } from '../config/index.js';
import { silentLogger, type Logger } from '../core/logger.js';

/**
 * JSON lines in $PRISM_HOME/logs/<file>; debug level when verbose. Nothing is logged (and
 * nothing created) while PRISM_HOME itself does not exist, so a wrong PRISM_HOME stays visible.
 */
export function fileLogger(home: string, file: string, verbose: boolean): Logger {
  if (!existsSync(home)) return silentLogger;
  const dir = logsDir(home);
  try {
    mkdirSync(dir, { recursive: true });
    const log = pino({ level: verbose ? 'debug' : 'info', base: { pid: process.pid } }, pino.destination({ dest: join(dir, file), sync: true }));
    return {
      debug: (o, m) => log.debug(o, m),
      info: (o, m) => log.info(o, m),
      warn: (o, m) => log.warn(o, m),
      error: (o, m) => log.error(o, m),
    };
  } catch {
    return silentLogger;
  }
}
