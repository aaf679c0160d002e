import type { Command } from 'commander';
import { formatBytes, formatDateTime } from '../../core/format.js';
import { REPO_OPTION, repoContext } from '../context.js';
import { out, printJson, table } from '../output.js';
import { runAction } from '../run-action.js';

function modeString(type: string, mode: number): string {
  const t = type === 'dir' ? 'd' : type === 'symlink' ? 'l' : '-';
  const bits = 'rwxrwxrwx';
  return t + [...bits].map((c, i) => (mode & (1 << (8 - i)) ? c : '-')).join('');
}

export function registerBackupBrowse(backup: Command): void {
  backup
    .command('ls')
    .description('list a directory (or file) inside a backup')
    .argument('<backup-id>')
    .argument('[path]', 'path inside the backup', '')
    .option('-r, --recursive', 'everything below PATH')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (id: string, path: string, opts: { json?: boolean; recursive?: boolean; repo?: string }) => {
        const { listBackupPath } = await import('../../app/backups/browse-backup.js');
        const entries = await listBackupPath(await repoContext(opts), id, path, opts.recursive ?? false);
        if (opts.json) return printJson(entries);
        out(
          table(
            ['MODE', 'SIZE', 'MODIFIED', 'PATH'],
            entries.map((e) => [
              modeString(e.type, e.mode),
              e.type === 'file' ? formatBytes(e.size) : '-',
              formatDateTime(new Date(e.mtime)),
              e.target !== undefined ? `${e.path} -> ${e.target}` : e.path,
            ]),
          ),
        );
      }),
    );
  backup
    .command('diff')
    .description('what changed between two backups: added, removed, modified (with sizes)')
    .argument('<backup-id-1>')
    .argument('<backup-id-2>')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (a: string, b: string, opts: { json?: boolean; repo?: string }) => {
        const { diffBackups } = await import('../../app/backups/browse-backup.js');
        const r = await diffBackups(await repoContext(opts), a, b);
        if (opts.json) return printJson(r);
        for (const x of r.added) out(`+ ${x.path}${x.type === 'file' ? ` (${formatBytes(x.size)})` : x.type === 'dir' ? '/' : ''}`);
        for (const x of r.removed) out(`- ${x.path}${x.type === 'file' ? ` (${formatBytes(x.size)})` : x.type === 'dir' ? '/' : ''}`);
        for (const x of r.modified) out(`M ${x.path} (${formatBytes(x.old_size)} -> ${formatBytes(x.new_size)})`);
        out(`${r.added.length} added, ${r.removed.length} removed, ${r.modified.length} modified`);
      }),
    );
  backup
    .command('dump')
    .description('write one file of a backup to stdout')
    .argument('<backup-id>')
    .argument('<file>', 'path inside the backup')
    .option(...REPO_OPTION)
    .action(
      runAction(async (id: string, file: string, opts: { repo?: string }) => {
        const { dumpFile } = await import('../../app/backups/browse-backup.js');
        await dumpFile(
          await repoContext(opts),
          id,
          file,
          (chunk) => new Promise((resolve, reject) => process.stdout.write(chunk, (e) => (e ? reject(e) : resolve()))),
        );
      }),
    );
}
