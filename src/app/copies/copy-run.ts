import type { CopyTarget } from '../../config/index.js';
import { asPrismError } from '../../errors/index.js';
import { isFutureDated } from '../../policy/future-dated.js';
import { applyRetentionByHost } from '../../policy/retention.js';
import { loadAll } from '../backups/list-backups.js';
import { openRepository, type AppContext } from '../context.js';
import type { CleanupReport } from '../maintenance/retention.js';
import { copyBackups, selectBackups, type CopyOptions, type CopyReport } from './copy-backups.js';
import { copyContext } from './copy-context.js';
import { endOf, wantedInCopy } from './copy-wanted.js';
import { recordCopyRun } from './copy-state.js';

export interface CopyRunReport extends CopyReport {
  /** The copy's newest backup after the run, as far as this and earlier recorded runs tell (null: none). */
  latest: { id: string; at: string } | null;
}

/**
 * copyBackups, with its outcome recorded in state/copy-NAME.json when `target` is one of
 * backup.copies (a success with the copy's newest backup, a failure with its error), so that
 * health and alerts know how the copy fares without reaching its store.
 */
export async function copyAndRecord(ctx: AppContext, target: CopyTarget, opts: CopyOptions = {}): Promise<CopyRunReport> {
  const configured = ctx.config.copies.some((c) => c.name === target.name && c.location === target.location);
  const record = (run: Parameters<typeof recordCopyRun>[2]) => (configured ? recordCopyRun(ctx.config.home, target, run) : undefined);
  try {
    const all = opts.manifests ?? (await loadAll(await openRepository(ctx), ctx));
    const report = await copyBackups(ctx, target, { ...opts, manifests: all });
    const skipped = new Set(report.skipped.map((s) => s.id));
    const now = ctx.clock.now();
    // a backup dated in the future copied along is not the copy's newest: it would hide its lag
    const held = selectBackups(all, opts.ids, opts.withParents ?? true).filter((m) => !skipped.has(m.id) && !isFutureDated(m, now));
    const newest = held.sort((a, b) => Date.parse(endOf(a)) - Date.parse(endOf(b))).at(-1);
    const latest = newest ? { id: newest.id, at: endOf(newest) } : null;
    const at = now.toISOString();
    const state = record({ ok: true, at, latest, copied: report.copied.length, bytes: report.bytes_copied });
    return { ...report, latest: state?.latest ?? latest };
  } catch (e) {
    const err = asPrismError(e, `copying to ${target.name}`);
    // a stop of the service is not a failure of the copy
    if (err.code !== 'INTERRUPTED') record({ ok: false, at: ctx.clock.now().toISOString(), error: { code: err.id, message: err.message } });
    throw e;
  }
}

export interface CopyJobReport extends CopyRunReport {
  /** Backups the copy's retention removed from it afterwards, and the bytes that freed. */
  removed: string[];
  freed_bytes: number;
}

/**
 * What the service does for a copy: copies the backups the copy is to hold (wantedInCopy, each on
 * its own: their parents stay behind where the copy's retention dropped them), then applies the
 * copy's retention to the copy (`prism backup cleanup --repo NAME`) when it removes something there.
 */
export async function copyJob(ctx: AppContext, target: CopyTarget, opts: { signal?: AbortSignal } = {}): Promise<CopyJobReport> {
  const all = await loadAll(await openRepository(ctx), ctx);
  const wanted = wantedInCopy(all, target, ctx.clock.now()).map((m) => m.id);
  // nothing to hold (no genuine completed full backup yet: retention keeps the newest one): the archives and what there is
  const report = await copyAndRecord(ctx, target, {
    manifests: all,
    ...(wanted.length > 0 ? { ids: wanted, withParents: false } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const cleanup = await cleanupCopy(ctx, target);
  return { ...report, removed: cleanup?.removed ?? [], freed_bytes: cleanup?.prune.freedBytes ?? 0 };
}

/** The copy's own retention, applied as the primary's scheduled cleanup is; undefined when it keeps everything there (no prune is run). */
async function cleanupCopy(ctx: AppContext, target: CopyTarget): Promise<CleanupReport | undefined> {
  const cctx = copyContext(ctx, target);
  const { cleanupBackups, retentionPolicy } = await import('../maintenance/retention.js');
  const held = await loadAll(await openRepository(cctx), cctx);
  if (applyRetentionByHost(held, retentionPolicy(cctx), ctx.clock.now()).every((d) => d.keep)) return undefined;
  return cleanupBackups(cctx);
}
