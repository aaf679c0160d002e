import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import * as v from 'valibot';
import type { ResolvedConfig } from '../../config/index.js';
import { isRemoteLocation } from '../../core/remote-location.js';
import { displayName } from '../../core/byte-names.js';
import { restoreBackup } from '../../app/restore/restore-backup.js';
import { route } from './errors.js';
import { parseInput, queryDate, strict } from './input.js';
import { ApiError, json, type ApiRoute } from './route.js';

const pathText = v.pipe(v.string(), v.minLength(1, 'a path'), v.maxLength(4096, 'at most 4,096 characters'));

const restoreBody = strict({
  backup: v.optional(v.pipe(v.string('a backup id'), v.minLength(1, 'a backup id'))),
  /** Instead of `backup`: the latest completed backup at or before this time. */
  at: queryDate('end'),
  paths: v.optional(v.pipe(v.array(pathText, 'a list of paths inside the backup'), v.maxLength(10_000, 'at most 10,000 paths'))),
  target: v.pipe(
    v.string('an absolute directory path'),
    v.check((t) => isAbsolute(t), 'an absolute directory path'),
    v.check((t) => !t.includes('\0'), 'a path without NUL'),
  ),
  dry_run: v.boolean('true or false'),
});

/** Whether `a` is `b` or inside it (both absolute, resolved). */
function within(a: string, b: string): boolean {
  const r = relative(b, a);
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r));
}

/** The path with every existing part's symlinks resolved: the directory a restore would really write into. */
function realTarget(path: string): string {
  let head = resolve(path);
  const rest: string[] = [];
  while (!existsSync(head) && dirname(head) !== head) {
    rest.unshift(basename(head));
    head = dirname(head);
  }
  try {
    return join(realpathSync(head), ...rest);
  } catch {
    return resolve(path);
  }
}

/**
 * Refuses a target that is the live data directory (PRISM_HOME, where backup.sources live), inside it,
 * or above it, and likewise the repository: restoring there needs the service stopped, which the
 * dashboard cannot do for the one who asks: 409 saying how to do it from the command line.
 */
export function refuseLiveTarget(config: ResolvedConfig, target: string): void {
  const t = realTarget(target);
  const home = realTarget(config.home);
  if (within(t, home) || within(home, t)) {
    throw new ApiError(
      409,
      'LIVE_DATA_DIRECTORY',
      `${target} is the live data directory (${config.home})${t === home ? '' : within(t, home) ? ' or inside it' : ' or holds it'}: the dashboard restores only elsewhere. To restore over the live data, stop the service (\`prism stop\`) and run \`prism backup restore\` from the command line.`,
    );
  }
  if (!isRemoteLocation(config.storagePath)) {
    const repo = realTarget(config.storagePath);
    if (within(t, repo) || within(repo, t))
      throw new ApiError(
        409,
        'REPOSITORY_DIRECTORY',
        `${target} is the repository (${config.storagePath}), inside it or holds it: choose another target directory.`,
      );
  }
}

/** A path as the dashboard gives it (exact names, as `backup ls --json` prints them) in the form --include reads (names as `ls` shows them). */
function includeForm(path: string): string {
  const parts = path.split('/').filter((s) => s.length > 0 && s !== '.');
  if (parts.some((s) => s === '..' || s.includes('\0')))
    throw new ApiError(400, 'INVALID_ARGUMENT', `paths: "${path}" must be a path inside the backup, without "..".`);
  return parts.map(displayName).join('/');
}

const restore = route(
  'POST',
  '/api/restore',
  'restore a backup (or the latest at or before a time: at; paths: only these) into an absolute target directory that is not the live data; dry_run: the plan only; as `backup restore --json`',
  async (req) => {
    const b = parseInput(restoreBody, req.body, 'body');
    if ((b.backup === undefined) === (b.at === undefined)) throw new ApiError(400, 'INVALID_ARGUMENT', 'backup: give a backup id, or at (a time), not both.');
    const include = (b.paths ?? []).map(includeForm);
    refuseLiveTarget(req.ctx.config, b.target);
    const r = await restoreBackup(req.ctx, {
      id: b.backup,
      at: b.at,
      target: resolve(b.target),
      dryRun: b.dry_run,
      // the request without dry_run is the confirmation (the page shows the dry run first)
      confirm: !b.dry_run,
      force: false,
      safetyBackup: false,
      include,
      exclude: [],
      incremental: false,
      signal: req.signal,
    });
    return json(r);
  },
);

export const restoreRoutes: ApiRoute[] = [restore];
