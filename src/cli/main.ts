import { Command, CommanderError } from 'commander';
import { PrismError } from '../errors/index.js';
import { registerBackupCreate } from './commands/backup-create.js';
import { registerBackupInfo } from './commands/backup-info.js';
import { registerBackupList } from './commands/backup-list.js';
import { registerBackupRestore } from './commands/backup-restore.js';
import { registerBackupVerify } from './commands/backup-verify.js';
import { registerBackupStats } from './commands/backup-stats.js';
import { registerInit } from './commands/init.js';
import { registerBackupBrowse } from './commands/backup-browse.js';
import { registerBackupLineage } from './commands/backup-lineage.js';
import { registerBackupMaintenance } from './commands/backup-maintenance.js';
import { registerHealth } from './commands/health-check.js';
import { registerDrill } from './commands/drill.js';
import { reportError } from './output.js';

export function buildProgram(): Command {
  const program = new Command('prism').description('prism: backup and recovery for a service data directory and its databases').version('0.1.0');
  registerInit(program);
  const backup = program.command('backup').description('create, inspect and manage backups');
  registerBackupCreate(backup);
  registerBackupList(backup);
  registerBackupInfo(backup);
  registerBackupStats(backup);
  registerBackupRestore(backup);
  registerBackupVerify(backup);
  registerBackupLineage(backup);
  registerBackupBrowse(backup);
  registerBackupMaintenance(backup);
  registerHealth(program);
  registerDrill(program);
  for (const c of [program, backup, ...backup.commands, ...program.commands, ...program.commands.flatMap((p) => p.commands)]) {
    c.exitOverride();
    c.configureOutput({ outputError: () => {} });
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // `prism backup list | head`: a reader that goes away is not an error
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') {
        process.exitCode = 0;
        return;
      }
      const json = argv.includes('--json');
      const message = `${e.message.replace(/^error: /, '')} (run \`prism ${argv.slice(2).filter((a) => !a.startsWith('-')).slice(0, 2).join(' ')} --help\` for usage)`;
      process.exitCode = reportError(new PrismError('INVALID_ARGUMENT', message), json, false);
      return;
    }
    process.exitCode = reportError(e, argv.includes('--json'), false);
  }
}
