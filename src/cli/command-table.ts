import type { Command } from 'commander';

/** A file of commands/: the command names it adds to its parent, and its register function, loaded on demand. */
interface CommandFile {
  names: readonly string[];
  load: () => Promise<(parent: Command) => void>;
}

/** A command that only groups subcommands: `prism backup …`, `prism db …`. */
interface CommandGroup {
  group: string;
  description: string;
  commands: readonly CommandFile[];
}

type Entry = CommandFile | CommandGroup;

const BACKUP: readonly CommandFile[] = [
  { names: ['create'], load: async () => (await import('./commands/backup-create.js')).registerBackupCreate },
  { names: ['list'], load: async () => (await import('./commands/backup-list.js')).registerBackupList },
  { names: ['info'], load: async () => (await import('./commands/backup-info.js')).registerBackupInfo },
  { names: ['stats'], load: async () => (await import('./commands/backup-stats.js')).registerBackupStats },
  { names: ['restore'], load: async () => (await import('./commands/backup-restore.js')).registerBackupRestore },
  { names: ['copy'], load: async () => (await import('./commands/backup-copy.js')).registerBackupCopy },
  { names: ['verify'], load: async () => (await import('./commands/backup-verify.js')).registerBackupVerify },
  { names: ['chain', 'dependencies'], load: async () => (await import('./commands/backup-lineage.js')).registerBackupLineage },
  { names: ['ls', 'diff', 'dump'], load: async () => (await import('./commands/backup-browse.js')).registerBackupBrowse },
  {
    names: ['policy', 'cleanup', 'delete', 'prune', 'failures'],
    load: async () => (await import('./commands/backup-maintenance.js')).registerBackupMaintenance,
  },
  { names: ['health'], load: async () => (await import('./commands/backup-health.js')).registerBackupHealth },
  { names: ['repair'], load: async () => (await import('./commands/backup-repair.js')).registerBackupRepair },
];

const DB: readonly CommandFile[] = [
  { names: ['list'], load: async () => (await import('./commands/db-list.js')).registerDbList },
  { names: ['restore'], load: async () => (await import('./commands/db-restore.js')).registerDbRestore },
];

const KEY: readonly CommandFile[] = [
  { names: ['list', 'add', 'remove', 'passwd', 'export', 'import'], load: async () => (await import('./commands/key.js')).registerKey },
  { names: ['rotate'], load: async () => (await import('./commands/key-rotate.js')).registerKeyRotate },
];

/** prism's commands, in the order `prism --help` lists them. */
const COMMANDS: readonly Entry[] = [
  { names: ['init'], load: async () => (await import('./commands/init.js')).registerInit },
  { group: 'backup', description: 'create, inspect and manage backups', commands: BACKUP },
  { names: ['health'], load: async () => (await import('./commands/health-check.js')).registerHealth },
  { names: ['alerts'], load: async () => (await import('./commands/alerts.js')).registerAlerts },
  { names: ['start'], load: async () => (await import('./commands/service-start.js')).registerServiceStart },
  { names: ['stop'], load: async () => (await import('./commands/service-stop.js')).registerServiceStop },
  { names: ['status'], load: async () => (await import('./commands/service-status.js')).registerServiceStatus },
  { names: ['ui'], load: async () => (await import('./commands/ui.js')).registerUi },
  { names: ['tasks'], load: async () => (await import('./commands/tasks.js')).registerTasks },
  { group: 'db', description: 'databases in backups: list, restore', commands: DB },
  { names: ['recover'], load: async () => (await import('./commands/recover.js')).registerRecover },
  { names: ['import'], load: async () => (await import('./commands/import.js')).registerImport },
  { names: ['pg'], load: async () => (await import('./commands/pg-commands.js')).registerPg },
  { names: ['mysql'], load: async () => (await import('./commands/mysql-commands.js')).registerMysql },
  { names: ['drill'], load: async () => (await import('./commands/drill.js')).registerDrill },
  { group: 'key', description: 'keys of an encrypted repository: list, add, remove, passwd, export, import, rotate', commands: KEY },
];

/**
 * Adds to `program` the command definitions that parsing `argv` needs, loading only their files:
 * - `--version` anywhere before `--`: none (commander prints the version before anything else);
 * - a command line that names a command (`backup list …`): that command; of a group, the subcommand
 *   named next (or all of them: `backup --help`, `backup help list`, an unknown subcommand);
 * - no command named (`prism`, `prism --help`): every command, a group without its subcommands
 *   (the help lists only the top level);
 * - an unknown command (or `help …`): everything, for its suggestion or the help of any command.
 */
export async function addCommands(program: Command, argv: readonly string[]): Promise<void> {
  const args = argv.slice(2);
  const end = args.indexOf('--');
  if ((end < 0 ? args : args.slice(0, end)).some((a) => a === '-V' || a === '--version')) return;
  const words = commandWords(args);
  await add(program, COMMANDS, words, words.length === 0 ? 'top-level' : 'all');
}

/**
 * The words commander reads as command names: the arguments before the first option (and all after
 * `--`). Past an unknown option commander reads no command name, and -h/--help count as unknown there;
 * no command above a leaf has options of its own besides --version.
 */
function commandWords(args: readonly string[]): string[] {
  const words: string[] = [];
  for (const [i, a] of args.entries()) {
    if (a === '--') return [...words, ...args.slice(i + 1)];
    if (a.length > 1 && a.startsWith('-')) return words;
    words.push(a);
  }
  return words;
}

/** Adds the entry of `table` that `words[0]` names (given the words after it), else every entry. */
async function add(parent: Command, table: readonly Entry[], words: readonly string[], unnamed: 'all' | 'top-level'): Promise<void> {
  const named = table.find((e) => ('group' in e ? [e.group] : e.names).includes(words[0] ?? ''));
  const entries = named ? [named] : table;
  const registers = await Promise.all(entries.map((e) => ('group' in e ? undefined : e.load())));
  for (const [i, e] of entries.entries()) {
    if (!('group' in e)) {
      registers[i]!(parent);
      continue;
    }
    const group = parent.command(e.group).description(e.description);
    if (named || unnamed === 'all') await add(group, e.commands, named ? words.slice(1) : [], 'all');
  }
}
