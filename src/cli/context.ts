import type { AppContext } from '../app/index.js';
import { loadConfig } from '../config/index.js';
import { systemClock } from '../core/clock.js';
import { fileLogger } from './logger.js';

/** Builds the app context for one command: config from env + file, the system clock, a log file. */
export function cliContext(logFile = 'backup.log', opts: { ignoreConfigFile?: boolean } = {}): AppContext {
  const config = loadConfig(process.env, { ignoreFile: opts.ignoreConfigFile ?? false });
  return {
    config,
    clock: systemClock,
    logger: fileLogger(config.home, logFile, config.verbose),
    onLockWait: (h) => process.stderr.write(`Waiting for the repository lock held by \`${h.command}\` (pid ${h.pid} on ${h.host}, since ${h.created})…\n`),
  };
}
