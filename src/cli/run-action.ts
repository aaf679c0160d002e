import type { Command } from 'commander';
import { closeConnections } from '../core/open-connections.js';
import { reportError } from './output.js';

/**
 * Wraps a command action: runs it, turns a thrown error into its message, code and exit code.
 * The action returns the exit code (0 when it returns nothing).
 */
export function runAction<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const opts = cmd.opts() as { json?: boolean };
    try {
      process.exitCode = (await fn(...(args.slice(0, -1) as A))) ?? 0;
    } catch (e) {
      const verbose = /^(1|true|yes|on)$/i.test(process.env.PRISM_BACKUP_VERBOSE ?? '');
      process.exitCode = reportError(e, Boolean(opts.json), verbose, `running \`${commandLine(cmd)}\``);
    } finally {
      await closeConnections();
    }
  };
}

/** `prism backup list`: the command's name and those of the groups above it. */
function commandLine(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}
