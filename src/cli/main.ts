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
  await runProgram(await buildProgram(argv), argv);
}

/** `import_data …`: the same command as `prism import …`. */
export async function importMain(argv: string[]): Promise<void> {
  const { configureImport } = await import('./commands/import.js');
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
