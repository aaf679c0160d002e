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
import { registerAlerts } from './commands/alerts.js';
import { registerBackupHealth } from './commands/backup-health.js';
import { registerServiceStart } from './commands/service-start.js';
import { registerServiceStatus } from './commands/service-status.js';
import { registerServiceStop } from './commands/service-stop.js';
import { registerTasks } from './commands/tasks.js';
import { registerDbList } from './commands/db-list.js';
import { registerDbRestore } from './commands/db-restore.js';
import { registerRecover } from './commands/recover.js';
import { configureImport, registerImport } from './commands/import.js';
import { registerMysql } from './commands/mysql-commands.js';
import { registerPg } from './commands/pg-commands.js';
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
  registerBackupHealth(backup);
  registerHealth(program);
  registerAlerts(program);
  registerServiceStart(program);
  registerServiceStop(program);
  registerServiceStatus(program);
  registerTasks(program);
  const db = program.command('db').description('databases in backups: list, restore');
  registerDbList(db);
  registerDbRestore(db);
  registerRecover(program);
  registerImport(program);
  registerPg(program);
  registerMysql(program);
  registerDrill(program);
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const c of all(program)) {
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
  await runProgram(buildProgram(), argv);
}

/** `import_data …`: the same command as `prism import …`. */
export async function importMain(argv: string[]): Promise<void> {
  const program = configureImport(new Command('import_data'));
  program.exitOverride();
  program.configureOutput({ outputError: () => {} });
  await runProgram(program, argv);
}

async function runProgram(program: Command, argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') {
        process.exitCode = 0;
        return;
      }
      const json = argv.includes('--json');
      const message = `${e.message.replace(/^error: /, '')} (run \`${[program.name(), ...argv.slice(2).filter((a) => !a.startsWith('-')).slice(0, 2)].join(' ').replace(/^import_data .*/, 'import_data')} --help\` for usage)`;
      process.exitCode = reportError(new PrismError('INVALID_ARGUMENT', message), json, false);
      return;
    }
    process.exitCode = reportError(e, argv.includes('--json'), false);
  }
}
