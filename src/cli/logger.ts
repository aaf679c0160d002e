import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { logsDir } from '../config/index.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { mkdirPrivate, PRIVATE_FILE_MODE } from '../core/private-files.js';

/**
 * JSON lines in $PRISM_HOME/logs/<file>; debug level when verbose. Nothing is logged (and
 * nothing created) while PRISM_HOME itself does not exist, so a wrong PRISM_HOME stays visible.
 */
export function fileLogger(home: string, file: string, verbose: boolean): Logger {
  if (!existsSync(home)) return silentLogger;
  const dir = logsDir(home);
  try {
    mkdirPrivate(dir);
    const log = pino(
      { level: verbose ? 'debug' : 'info', base: { pid: process.pid } },
      pino.destination({ dest: join(dir, file), sync: true, mode: PRIVATE_FILE_MODE }),
    );
    return {
      debug: (o, m) => log.debug(ownKeys(o), m),
      info: (o, m) => log.info(ownKeys(o), m),
      warn: (o, m) => log.warn(ownKeys(o), m),
      error: (o, m) => log.error(ownKeys(o), m),
    };
  } catch {
    return silentLogger;
  }
}

/** The keys every line has already; pino would write a second one (`"pid":…,"pid":…`). */
const LINE_KEYS = ['level', 'time', 'pid', 'msg'];

/** An object with none of the line's own keys: this process's pid is dropped, any other value kept as `<key>_field`. */
function ownKeys(o: Record<string, unknown>): Record<string, unknown> {
  if (!LINE_KEYS.some((k) => k in o)) return o;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (!LINE_KEYS.includes(k)) out[k] = v;
    else if (!(k === 'pid' && v === process.pid)) out[`${k}_field`] = v;
  }
  return out;
}
