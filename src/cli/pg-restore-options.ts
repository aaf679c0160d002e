import { PrismError } from '../errors/index.js';
import type { PgRestoreOptions, RecoveryTarget } from '../app/pitr/postgres/pg-restore.js';
import { parseTargetTime } from './parse-date.js';
import { walLauncherPath } from './wal-launcher-path.js';

/** The flags of `prism pg restore`. */
export interface PgRestoreFlags {
  dataDir: string;
  at?: string;
  targetLsn?: string;
  targetXid?: string;
  targetName?: string;
  targetImmediate?: boolean;
  targetExclusive?: boolean;
  targetAction?: string;
  targetTimeline?: string;
  base?: string;
  archiveMode?: string;
  type?: string;
  primaryUrl?: string;
  url?: string;
  prefetch?: number;
}

const invalid = (msg: string) => new PrismError('INVALID_ARGUMENT', msg);

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw invalid(`${flag} ${value}: give one of ${allowed.join(', ')}.`);
  return value as T;
}

/** Command-line flags → the app's options (INVALID_ARGUMENT for anything it cannot take). */
export async function parsePgRestore(o: PgRestoreFlags, prismPath: string): Promise<PgRestoreOptions> {
  const given = (
    [
      ['--at', o.at],
      ['--target-lsn', o.targetLsn],
      ['--target-xid', o.targetXid],
      ['--target-name', o.targetName],
      ['--target-immediate', o.targetImmediate ? 'yes' : undefined],
    ] as const
  ).filter(([, v]) => v !== undefined);
  if (given.length > 1)
    throw invalid(
      `Give one recovery target, not ${given.map(([f]) => f).join(' and ')}: --at, --target-lsn, --target-xid, --target-name or --target-immediate (none: the end of the archive).`,
    );
  let target: RecoveryTarget = { kind: 'end' };
  if (o.at !== undefined) target = { kind: 'time', time: await parseTargetTime('--at', o.at, new Date()) };
  else if (o.targetLsn !== undefined) target = { kind: 'lsn', lsn: o.targetLsn.trim() };
  else if (o.targetXid !== undefined) target = { kind: 'xid', xid: o.targetXid.trim() };
  else if (o.targetName !== undefined) target = { kind: 'name', name: o.targetName };
  else if (o.targetImmediate) target = { kind: 'immediate' };

  let timeline: PgRestoreOptions['timeline'];
  if (o.targetTimeline !== undefined) {
    const t = o.targetTimeline.trim().toLowerCase();
    if (t === 'latest' || t === 'current') timeline = t;
    else if (/^\d{1,9}$/.test(t) && Number(t) >= 1) timeline = Number(t);
    else
      throw invalid(
        `--target-timeline ${o.targetTimeline}: give a timeline number (1, 2, …; \`prism pg wal list\` shows the .history files), latest or current.`,
      );
  }
  const type = oneOf('--type', o.type, ['recovery', 'standby'] as const) ?? 'recovery';
  if (o.primaryUrl !== undefined && o.url !== undefined) throw invalid('Give --primary-url or --url, not both.');
  const primary = o.primaryUrl ?? o.url;
  if (type === 'standby' && primary === undefined)
    throw invalid('--type standby needs the primary to follow: --primary-url postgres://user[:password]@host:port/db (a user with the REPLICATION attribute).');
  if (type !== 'standby' && primary !== undefined) throw invalid('--primary-url is for --type standby.');
  const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const launcher = walLauncherPath(prismPath);
  return {
    target,
    dataDir: o.dataDir,
    prismCommand: `${q(process.execPath)} ${q(prismPath)}`,
    ...(launcher ? { walCommand: q(launcher) } : {}),
    timeline,
    base: o.base,
    action: oneOf('--target-action', o.targetAction, ['pause', 'promote', 'shutdown'] as const),
    exclusive: o.targetExclusive ?? false,
    archiveMode: oneOf('--archive-mode', o.archiveMode, ['off', 'preserve'] as const) ?? 'off',
    standbyOf: type === 'standby' ? primary : undefined,
    prefetch: o.prefetch,
  };
}
