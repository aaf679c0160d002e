import { SOP_ALERT_RULES, type AlertRecords, type VerifyEvent } from '../../policy/alert-rules.js';
import { storageSpace, type Manifest } from '../../repo/index.js';
import { usedPercent } from '../backups/backup-stats.js';
import { openRepository, type AppContext } from '../context.js';
import { readDrills } from '../integrity/drill-history.js';
import { eventsFile } from './events.js';
import { fixForErrorId } from '../backups/failures.js';
import { readJsonLines } from '../json-lines.js';
import { loadAll, sharedManifestCache } from '../backups/list-backups.js';
import { isPrismError, type ErrorCode } from '../../errors/index.js';
import { copyAlertRecords } from '../copies/copy-status.js';

export interface GatheredRecords {
  records: AlertRecords;
  /** The manifests, oldest first (an empty list while there is no repository). */
  manifests: Manifest[];
  disk: { free: number; total: number; used_percent: number } | null;
}

/** Errors of opening an encrypted repository: no password, a source that gives none, a wrong or retired one. */
const KEY_ERRORS = new Set<ErrorCode>(['PASSWORD_MISSING', 'PASSWORD_SOURCE', 'WRONG_PASSWORD', 'KEY_REFUSED']);

/** The SOP rules with prism's fixes for error codes. */
export const ALERT_RULES = { ...SOP_ALERT_RULES, fixForCode: fixForErrorId };

/**
 * What the alert rules and health indicators read: the manifests (a missing repository has
 * none), the repository disk's use, verify events of logs/events.log, logs/drills.log, and of
 * each copy its state file (no copy's store is reached).
 */
export async function gatherRecords(ctx: AppContext, opts: { cached?: boolean } = {}): Promise<GatheredRecords> {
  let access: { code: string; message: string } | null = null;
  const repo = await openRepository(ctx).catch((e) => {
    if (e?.code === 'REPO_NOT_FOUND') return undefined;
    // an encrypted repository the password does not open is an alert of its own (the service's backups fail on it too)
    if (isPrismError(e) && KEY_ERRORS.has(e.code)) {
      access = { code: e.id, message: e.message };
      return undefined;
    }
    throw e;
  });
  const damaged: string[] = [];
  const manifests = repo ? await loadAll(repo, ctx, (name) => damaged.push(name), opts.cached ? sharedManifestCache(ctx) : undefined) : [];
  const space = await storageSpace(ctx.config.storagePath);
  const disk = space ? { ...space, used_percent: usedPercent(space) } : null;
  const home = ctx.config.home;
  const checks = readJsonLines<VerifyEvent>(eventsFile(home)).filter((e) => e.event === 'verify.failed' || e.event === 'verify.ok');
  // the checks of this repository only: a copy's are recorded with its name
  const verifyEvents = checks.filter((e) => e.repository === ctx.copy);
  return {
    manifests,
    disk,
    records: {
      backups: manifests,
      verifyEvents,
      damagedManifests: damaged,
      drills: readDrills(home),
      storageUsedPercent: disk?.used_percent ?? null,
      repositoryAccess: access,
      copies: ctx.config.copies.length > 0 ? copyAlertRecords(ctx, manifests, checks) : [],
    },
  };
}
