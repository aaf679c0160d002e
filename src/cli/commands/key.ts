import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { KeyListReport } from '../../app/keys/list-keys.js';
import { PrismError, fromSystemError } from '../../errors/index.js';
import { REPO_OPTION, repoContext } from '../context.js';
import { newPasswordSource } from '../new-password.js';
import { err, out, printJson, table } from '../output.js';
import { runAction } from '../run-action.js';

const NEW_PASSWORD_FILE = ['--new-password-file <file>', 'read the new password from FILE (else asked twice on the terminal)'] as const;

/** `prism key list|add|remove|passwd|export|import`: the keys of an encrypted repository. */
export function registerKey(key: Command): void {
  key
    .command('list')
    .description('the key files of the repository: state, key-derivation cost, the one in use')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (opts: { json?: boolean; repo?: string }) => {
        const { listKeys } = await import('../../app/keys/list-keys.js');
        const r = await listKeys(await repoContext(opts));
        if (opts.json) printJson(r);
        else out(renderKeys(r));
      }),
    );

  key
    .command('add')
    .description('add a key file (a new password) for the current master key')
    .option(...NEW_PASSWORD_FILE)
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (opts: { newPasswordFile?: string; json?: boolean; repo?: string }) => {
        const newPassword = await newPasswordSource(opts.newPasswordFile);
        const { addKey } = await import('../../app/keys/add-key.js');
        const r = await addKey(await repoContext(opts), { newPassword });
        if (opts.json) printJson(r);
        else out(`Added key ${r.id} (master key generation ${r.generation}) to ${r.repository}.`);
      }),
    );

  key
    .command('remove')
    .description('remove a key file (not the one in use, not the last one)')
    .argument('<id>', 'a key id from `prism key list`')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (id: string, opts: { json?: boolean; repo?: string }) => {
        const { removeKey } = await import('../../app/keys/remove-key.js');
        const r = await removeKey(await repoContext(opts), { id });
        if (opts.json) printJson(r);
        else out(`Removed key ${r.removed} from ${r.repository}.`);
      }),
    );

  key
    .command('passwd')
    .description('change the password of the key in use (a new key file replaces it)')
    .option(...NEW_PASSWORD_FILE)
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (opts: { newPasswordFile?: string; json?: boolean; repo?: string }) => {
        const newPassword = await newPasswordSource(opts.newPasswordFile);
        const { changePassword } = await import('../../app/keys/change-password.js');
        const r = await changePassword(await repoContext(opts), { newPassword });
        if (opts.json) printJson(r);
        else out(`Password changed: key ${r.added} added, key ${r.removed} removed.`);
      }),
    );

  key
    .command('export')
    .description('print (or write) the master key: the way back in when every password is lost')
    .option('--paper', 'as text to print and type back, each line with its checksum')
    .option('--output <file>', 'write it to a new file (0600; never replaces one)')
    .option('--json', 'with --output: print the result as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (opts: { paper?: boolean; output?: string; json?: boolean; repo?: string }) => {
        const { exportKey } = await import('../../app/keys/export-key.js');
        const r = await exportKey(await repoContext(opts), {
          ...(opts.paper ? { paper: true } : {}),
          ...(opts.output !== undefined ? { output: opts.output } : {}),
        });
        err(`Warning: ${r.warning}`);
        if (r.text !== undefined) process.stdout.write(r.text);
        else if (opts.json) printJson({ repository: r.repository, repository_id: r.repository_id, generation: r.generation, form: r.form, file: r.file });
        else
          out(
            `Wrote the ${r.form === 'paper' ? 'paper key' : 'key export'} of master key generation ${r.generation} to ${r.file}. Export again after each \`prism key rotate\`.`,
          );
      }),
    );

  key
    .command('import')
    .description('add a key file (a new password) from a key export, JSON or paper (`-`: stdin)')
    .argument('<file>', 'the export (`prism key export`), or - for stdin')
    .option(...NEW_PASSWORD_FILE)
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (file: string, opts: { newPasswordFile?: string; json?: boolean; repo?: string }) => {
        const newPassword = await newPasswordSource(opts.newPasswordFile);
        const text = readExport(file);
        const { importKey } = await import('../../app/keys/import-key.js');
        const r = await importKey(await repoContext(opts), { text, source: file === '-' ? 'from stdin' : file, newPassword });
        if (opts.json) printJson(r);
        else out(`Added key ${r.id} (master key generation ${r.generation}) to ${r.repository} from the key export; its password opens the repository.`);
      }),
    );
}

/** The export's text; more than 64 KiB is not a key export. */
function readExport(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file === '-' ? 0 : file);
  } catch (e) {
    throw fromSystemError(e, `reading the key export ${file === '-' ? 'from stdin' : file}`);
  }
  if (bytes.length > 64 * 1024)
    throw new PrismError('KEY_FILE_INVALID', `${file === '-' ? 'stdin' : file} holds ${bytes.length} bytes: that is not a key export.`);
  return bytes.toString('utf8');
}

function renderKeys(r: KeyListReport): string {
  const rows = r.keys.map((k) => [
    `${k.in_use ? '*' : ' '}${k.id}`,
    k.state,
    k.generation !== undefined ? String(k.generation) : '-',
    k.kdf ? `scrypt N=2^${Math.log2(k.kdf.N)} r=${k.kdf.r} p=${k.kdf.p}` : '-',
    k.created ?? '-',
    k.error ?? '',
  ]);
  const lines = [
    `Repository ${r.repository}, current master key generation ${r.generation}`,
    table([' ID', 'State', 'Gen', 'Key derivation', 'Created', 'Problem'], rows),
  ];
  if (r.keys.some((k) => k.in_use)) lines.push('* the key this command opened the repository with');
  return lines.join('\n');
}
