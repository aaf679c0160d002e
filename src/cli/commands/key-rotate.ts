import type { Command } from 'commander';
import type { RotationProgress, RotationResult } from '../../app/keys/rotate-key.js';
import { formatBytes } from '../../core/format.js';
import { cliContext } from '../context.js';
import { out, printJson } from '../output.js';
import { withInterruptSignal } from '../on-signal.js';
import { parseDuration } from '../parse-duration.js';
import { runAction } from '../run-action.js';

/** `prism key rotate`: a new master key for everything from now on (and, with --rewrite-data, for the data already stored). */
export function registerKeyRotate(key: Command): void {
  key
    .command('rotate')
    .description('make a new master key: metadata is sealed again at once, data packs with --rewrite-data (resumable) or when prune rewrites them')
    .option('--rewrite-data', 'also rewrite every data pack with the new key (then nothing in the repository opens with the old one)')
    .option('--lock-wait <duration>', 'wait this long for other prism processes (e.g. 5m)')
    .option('--json', 'print as JSON')
    .action(
      runAction(async (opts: { rewriteData?: boolean; lockWait?: string; json?: boolean }) => {
        const lockWaitMs = opts.lockWait !== undefined ? parseDuration('--lock-wait', opts.lockWait) : undefined;
        const ctx = await cliContext();
        const { rotateKey } = await import('../../app/keys/rotate-key.js');
        const onProgress = process.stderr.isTTY && !opts.json ? progressLine() : undefined;
        const r = await withInterruptSignal((signal) =>
          rotateKey(ctx, {
            rewriteData: opts.rewriteData ?? false,
            signal,
            ...(lockWaitMs !== undefined ? { lockWaitMs } : {}),
            ...(onProgress ? { onProgress } : {}),
          }),
        );
        if (opts.json) return printJson(r);
        out(render(r));
      }),
    );
}

function render(r: RotationResult): string {
  const lines = [
    r.started
      ? `New master key: generation ${r.generation} (key ${r.key_id ?? '-'} opens it with the password in use)`
      : `Finished the rotation to generation ${r.generation}`,
    `  metadata sealed again: ${r.metadata_resealed} object(s)`,
  ];
  if (r.packs_rewritten > 0) lines.push(`  data packs rewritten: ${r.packs_rewritten}`);
  if (r.packs_left > 0)
    lines.push(`  ${r.packs_left} data pack(s) still sealed with an older key: \`prism key rotate --rewrite-data\` rewrites them (prune does as it repacks)`);
  if (r.older_generations.length === 0) lines.push('  no older master key is kept: nothing in the repository opens with one');
  if (r.retired_keys.length > 0)
    lines.push(
      `  retired key file(s), whose passwords no longer open the repository: ${r.retired_keys.join(', ')}`,
      '  add those passwords again with `prism key add`, then `prism key remove` the retired files',
    );
  lines.push('  export the new key now (`prism key export`): an export made before this rotation no longer opens the repository');
  return lines.join('\n');
}

/** Progress on stderr, at most a few lines a second. */
function progressLine(): (p: RotationProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 250 && p.done < p.total) return;
    last = now;
    const what = p.phase === 'metadata' ? 'sealing metadata again' : `rewriting data packs (${formatBytes(p.bytes ?? 0)})`;
    process.stderr.write(`\r${what}: ${p.done}/${p.total}${p.done === p.total ? '\n' : ''}`);
  };
}
