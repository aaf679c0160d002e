import type { Command } from 'commander';

/** `prism pg …`: WAL archiving, base backups and point-in-time recovery for PostgreSQL. */
export function registerPg(program: Command): void {
  program.command('pg').description('PostgreSQL WAL archive, base backups and point-in-time recovery');
}
