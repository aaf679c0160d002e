import { PrismError } from '../errors/index.js';

/** A path the user gave prism (by a variable, a config key or a flag): what it is and where it is set. */
export interface NamedPath {
  /** `repository`, `data directory`, `restore target`, `configuration file`. */
  readonly role: string;
  readonly path: string;
  /** e.g. `PRISM_BACKUP_PATH`, `backup.storage_path in /home/x/config/backup.json`, `--target`. */
  readonly setting: string;
}

const named: NamedPath[] = [];

/** Tells the error output of this command where `path` comes from. */
export function namePath(p: NamedPath): void {
  named.push(p);
}

/**
 * The named path an error's path is in (the deepest; the latest named wins a tie), else the one it
 * leads to (creating a parent of the repository).
 */
function namedPathOf(path: string): NamedPath | undefined {
  let within: NamedPath | undefined;
  let above: NamedPath | undefined;
  for (const p of named) {
    if ((path === p.path || path.startsWith(`${p.path}/`)) && (!within || p.path.length >= within.path.length)) within = p;
    if (p.path.startsWith(`${path}/`) && (!above || p.path.length < above.path.length)) above = p;
  }
  return within ?? above;
}

/** A system error on a path (ENOTDIR, EACCES …), saying where that path is set when the user gave it. */
export function withPathSetting(e: PrismError): PrismError {
  const path = e.details['path'];
  if (typeof path !== 'string' || e.details['errno'] === undefined || e.details['setting'] !== undefined) return e;
  const p = namedPathOf(path);
  if (!p) return e;
  return new PrismError(
    e.code,
    `${e.message} The ${p.role}'s path is ${p.path}, set by ${p.setting}.`,
    { ...e.details, role: p.role, setting: p.setting },
    { cause: e.cause },
  );
}
