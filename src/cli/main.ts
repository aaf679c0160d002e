import { Command, CommanderError } from 'commander';
import { PrismError } from '../errors/index.js';
import { addCommands } from './command-table.js';
import { reportError } from './output.js';

/** The program with the commands that parsing `argv` needs (the others are not loaded). */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('prism').description('prism: backup and recovery for a service data directory and its databases').version('0.1.0');
  await addCommands(program, argv);
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const c of all(program)) {
    c.exitOverride(throwWithCommand(c));
    c.configureOutput({ outputError: () => {} });
  }
  return program;
}

/** commander's errors, with the command that raised them: its help is the one to point at. */
const raisedBy = new WeakMap<CommanderError, Command>();

function throwWithCommand(c: Command): (e: CommanderError) => never {
  return (e) => {
    if (!raisedBy.has(e)) raisedBy.set(e, c);
    throw e;
  };
}

/**
 * `prism help backup create` as `prism backup create --help` (commander's help command reads only
 * the word after it, and shows the help of `backup`); up to an unknown name, so that commander
 * refuses it with its suggestion.
 */
function helpAsOption(program: Command, argv: readonly string[]): readonly string[] {
  const [first, ...words] = argv.slice(2);
  if (first !== 'help' || words.length === 0 || program.commands.length === 0) return argv;
  let command = program;
  for (const [i, word] of words.entries()) {
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) return [...argv.slice(0, 2), ...words.slice(0, i + 1)];
    command = sub;
  }
  return [...argv.slice(0, 2), ...words, '--help'];
}

export async function main(argv: string[]): Promise<void> {
  // `prism backup list | head`: a reader that goes away is not an error
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  await runProgram(await buildProgram(argv), argv);
}

/** `import_data …`: the same command as `prism import …`. */
export async function importMain(argv: string[]): Promise<void> {
  const { configureImport } = await import('./commands/import.js');
  const program = configureImport(new Command('import_data'));
  program.exitOverride(throwWithCommand(program));
  program.configureOutput({ outputError: () => {} });
  await runProgram(program, argv);
}

async function runProgram(program: Command, argv: string[]): Promise<void> {
  try {
    await program.parseAsync(helpAsOption(program, argv));
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') {
        process.exitCode = 0;
        return;
      }
      const json = argv.includes('--json');
      process.exitCode = reportError(new PrismError('INVALID_ARGUMENT', usageMessage(e, raisedBy.get(e) ?? program)), json, false);
      return;
    }
    process.exitCode = reportError(e, argv.includes('--json'), false);
  }
}

/**
 * commander's message on one line, and the help of the command that refused the line: `prism backup
 * --help` for an unknown subcommand of backup, `prism backup list --help` for a flag of list.
 */
function usageMessage(e: CommanderError, command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  const message = e.message
    .replace(/^error: /, '')
    .replace(/\s*\(Did you mean (.*)\?\)\s*$/s, ' (did you mean $1?)')
    .replace(/\s*\n\s*/g, ' ');
  return `${message}; run \`${names.join(' ')} --help\` for usage`;
}
