import type { Command } from 'commander';
import { cliContext } from '../context.js';
import { out, printJson } from '../output.js';
import { runAction } from '../run-action.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create the data directory (PRISM_HOME) with its folders and a default config/backup.json; with --encrypt also the encrypted repository')
    .option('--encrypt', 'also create the repository at the storage path, encrypted (its password from PRISM_PASSWORD_FILE … or asked twice)')
    .option('--json', 'print as JSON')
    .action(
      runAction(async (opts: { encrypt?: boolean; json?: boolean }) => {
        const { initHome } = await import('../../app/backups/init-home.js');
        const ctx = await cliContext();
        const r = initHome(ctx);
        let repo: Awaited<ReturnType<typeof import('../../app/keys/init-encrypted.js').initEncryptedRepository>> | undefined;
        if (opts.encrypt) {
          const { initEncryptedRepository } = await import('../../app/keys/init-encrypted.js');
          repo = await initEncryptedRepository(ctx);
        }
        let state: string | undefined;
        if (opts.json) return printJson(repo ? { ...r, repository: repo } : r);
        out(`Data directory: ${r.home}`);
        for (const c of r.created) out(`  created ${c}`);
        out(r.configWritten ? `  wrote ${r.configFile}` : `  kept existing ${r.configFile}`);
        if (repo?.created) {
          out(`Repository: created ${repo.path}, encrypted (key ${repo.key_id})`);
          out('  Keep a copy of its key offline: prism key export --paper (a lost password cannot be recovered otherwise)');
        } else if (repo) {
          out(
            `Repository: ${repo.path} exists already (${repo.encrypted ? 'encrypted' : 'not encrypted: encryption is chosen when a repository is created'}); nothing changed`,
          );
        } else if ((state = await (await import('../../app/keys/init-encrypted.js')).repositoryState(ctx)) === 'encrypted' || state === 'unencrypted') {
          out(
            `Repository: ${ctx.config.storagePath} (${state === 'encrypted' ? 'encrypted' : 'not encrypted: encryption is chosen when a repository is created'})`,
          );
        } else if (ctx.config.encryption.enabled) {
          out('Encryption: on (backup.encryption.enabled): the first backup creates the repository encrypted');
        } else {
          out('Encryption: to encrypt the repository run `prism init --encrypt` before the first backup (or set backup.encryption.enabled in backup.json)');
        }
        out('Next: prism backup create --type full');
      }),
    );
}
