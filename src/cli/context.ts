import type { AppContext } from '../app/index.js';
import { systemClock } from '../core/clock.js';

/**
 * Builds the app context for one command: config from env + file, the system clock, a log file.
 * The config schema (valibot) and the logger (pino) are loaded here, by the commands that run,
 * not by `--help`.
 */
export async function cliContext(logFile = 'backup.log', opts: { ignoreConfigFile?: boolean } = {}): Promise<AppContext> {
  const [{ loadConfig }, { fileLogger }] = await Promise.all([import('../config/index.js'), import('./logger.js')]);
  const config = loadConfig(process.env, { ignoreFile: opts.ignoreConfigFile ?? false });
  return {
    config,
    clock: systemClock,
    logger: fileLogger(config.home, logFile, config.verbose),
    onLockWait: (h) => process.stderr.write(`Waiting for the repository lock held by \`${h.command}\` (pid ${h.pid} on ${h.host}, since ${h.created})…\n`),
  };
}
