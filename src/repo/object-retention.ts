import type { Backend, ObjectLock, ObjectVersion, Retaining } from '../backend/backend.js';
import { retainingOf } from '../backend/retaining.js';
import { fetchInOrder } from '../core/in-order.js';
import { PrismError, isRetained, retainedUntil } from '../errors/index.js';
import { RETENTION_STATE } from './layout.js';
import { backendOf, type Repository } from './repository.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** How far the clocks of the hosts and the store may disagree. */
const SKEW_MS = 60 * 60 * 1000;
/** Retention calls at once (one small request each). */
const AT_ONCE = 16;

/**
 * state/retention.json. `until`: retain-until dates prism set (extensions) or learned (a refused
 * delete), by date, for most objects share the date of the maintenance that extended them.
 * `left`: manifests and records that cleanup or an expiry removed but the store still keeps
 * (dated where known): they are never extended again, or they would never go. (Packs and index
 * files prune leaves are found unneeded afresh by each prune: one may be needed again.)
 */
interface RetentionFile {
  version: 1;
  until: Record<string, string[]>;
  left: Record<string, string[]>;
}

/** What maintenance did about retention (object lock), for prune's report. */
export interface RetentionReport {
  mode: ObjectLock['mode'];
  days: number;
  /** Objects prune would delete whose retention has not passed: left for a later prune. */
  retained: number;
  retained_bytes: number;
  /** When the first and the last of them can go (null: none, or only legal holds). */
  retained_until_first: string | null;
  retained_until_last: string | null;
  /** Objects still needed whose retention was extended (a dry run: would be), and to when. */
  extended: number;
  extended_until: string | null;
  /** Earlier versions (records written again, state files) removed once their retention had passed. */
  old_versions_removed: number;
}

/**
 * Retention as maintenance keeps it, on a repository whose store holds objects under retention
 * (S3 Object Lock, backup.object_lock). Under the exclusive lock, prune opens it, deletes through
 * it (what is still retained is left for a later prune, not an error), then extends the retention
 * of every object still needed whose retention ends within half the period, to a full period from
 * now: live data stays locked as long as maintenance runs more often than every half period.
 *
 * Retain-until dates cost a request per object to ask (GetObjectRetention), so they are
 * estimated instead: the later of what state/retention.json says prism set or learned, and the
 * version's write time plus the period (each write carries that retention). One listing of all
 * versions (ListObjectVersions, 1000 a request) gives the write times; it also finds delete
 * markers, which prism never writes there: objects hidden by someone else stop prune
 * (OBJECTS_HIDDEN). An estimate that is wrong costs no data: a delete of an object whose
 * retention holds is refused by the store (and its date learned), and an extension early is
 * harmless.
 */
export class ObjectRetention {
  /** What this prune left: not needed, but kept by its retention (or by an index file left so). */
  private readonly left = new Map<string, { until: number | undefined; size: number }>();
  private readonly deleted = new Set<string>();
  private extended = 0;
  private extendedTo: Date | undefined;
  private oldVersionsRemoved = 0;

  private constructor(
    private readonly backend: Backend,
    readonly store: Retaining,
    private readonly now: Date,
    /** name → the current version (not a delete marker), from the listing. */
    private readonly current: Map<string, ObjectVersion>,
    private readonly older: ObjectVersion[],
    private readonly until: Map<string, number>,
    private readonly wanted: Map<string, number | undefined>,
  ) {}

  get lock(): ObjectLock {
    return this.store.objectLock;
  }

  private get periodMs(): number {
    return this.lock.days * DAY_MS;
  }

  /** The retention state of `repo`, or undefined when its store keeps no retention. Stops with OBJECTS_HIDDEN when delete markers hide objects. */
  static async open(repo: Repository, now: Date): Promise<ObjectRetention | undefined> {
    const backend = backendOf(repo);
    const store = retainingOf(backend);
    if (!store) return undefined;
    const versions = await store.listVersions('');
    const current = new Map<string, ObjectVersion>();
    const older: ObjectVersion[] = [];
    const hidden: string[] = [];
    for (const v of versions) {
      if (v.latest && v.deleteMarker) {
        if (!v.name.startsWith('locks/')) hidden.push(v.name);
      } else if (v.latest) current.set(v.name, v);
      else older.push(v);
    }
    if (hidden.length > 0) throw hiddenObjects(repo.location, hidden);
    const file = await loadFile(backend);
    // no date prism sets lies beyond a period from now: a later one is not believed (the file is
    // in the bucket, writable by whoever holds its credentials), so it cannot stop an extension
    const latest = now.getTime() + store.objectLock.days * DAY_MS + SKEW_MS;
    const believed = (dates: Map<string, number>): Map<string, number> => new Map([...dates].filter(([, t]) => t <= latest));
    const r = new ObjectRetention(backend, store, now, current, older, believed(datesOf(file.until)), believed(datesOf(file.left)));
    for (const [name, until] of repo.retainedDeletes) r.wanted.set(name, until?.getTime());
    return r;
  }

  /** The estimated retain-until of the current version of `name` (ms; 0 when unknown to the listing). */
  private estimate(name: string): number {
    const v = this.current.get(name);
    const written = v ? v.modified.getTime() + this.periodMs : 0;
    return Math.max(written, this.until.get(name) ?? 0, this.wanted.get(name) ?? 0);
  }

  /** When `name` can go, if its retention has not passed yet. */
  heldUntil(name: string): Date | undefined {
    const t = this.estimate(name);
    return t > this.now.getTime() ? new Date(t) : undefined;
  }

  /**
   * Deletes `name` unless its retention holds (then it is left, counted and reported, and a later
   * prune deletes it). True if it is gone.
   */
  async delete(name: string, size = this.current.get(name)?.size ?? 0): Promise<boolean> {
    if (this.heldUntil(name)) {
      const until = await this.dateOf(name);
      if (until === undefined || until > this.now.getTime()) {
        this.leave(name, until, size);
        return false;
      }
    }
    try {
      await this.backend.delete(name);
    } catch (e) {
      if (!isRetained(e)) throw e;
      const until = retainedUntil(e)?.getTime();
      if (until !== undefined) this.until.set(name, until);
      this.leave(name, until, size);
      return false;
    }
    this.deleted.add(name);
    return true;
  }

  /**
   * The date an object prune would leave can go. Where the estimate is all prism knows, the
   * store is asked (GetObjectRetention, once: the date is kept in state/retention.json): an object
   * written with another retention (a crashed run of another configuration) has another date.
   */
  private async dateOf(name: string): Promise<number | undefined> {
    const estimate = this.estimate(name);
    if ((this.until.get(name) ?? 0) >= estimate) return estimate;
    const asked = (await this.store.retentionOf(name))?.getTime() ?? 0;
    this.until.set(name, asked);
    return asked;
  }

  /** Leaves `name`, whose retention holds, for a later prune (a dry run's account of what it would leave). */
  async keep(name: string, size = this.current.get(name)?.size ?? 0): Promise<void> {
    this.leave(name, await this.dateOf(name), size);
  }

  /** Leaves `name` for a later prune: it is not needed, but kept (by its retention, or because an index file left by its retention names it). */
  leave(name: string, until: number | undefined, size = this.current.get(name)?.size ?? 0): void {
    this.left.set(name, { until, size });
  }

  /** The stored size of an object the listing showed (0 for one it did not). */
  sizeOf(name: string): number {
    return this.current.get(name)?.size ?? 0;
  }

  /** When a name this prune left can go (undefined: not known, or a legal hold). */
  leftUntil(name: string): number | undefined {
    return this.left.get(name)?.until;
  }

  /** The names left so far under a folder ('index/'). */
  leftUnder(prefix: string): string[] {
    return [...this.left.keys()].filter((n) => n.startsWith(prefix));
  }

  /**
   * Extends the retention of every object still needed (what the listing showed, less what was
   * deleted or left, the locks and prism's own state of it) whose retention ends within half the
   * period, to a full period from now. A dry run only counts them.
   */
  async extendLive(dryRun: boolean): Promise<void> {
    const horizon = this.now.getTime() + this.periodMs / 2;
    const to = new Date(this.now.getTime() + this.periodMs);
    const due: string[] = [];
    for (const name of this.current.keys()) {
      if (name.startsWith('locks/') || name === RETENTION_STATE || this.deleted.has(name) || this.left.has(name) || this.wanted.has(name)) continue;
      if (this.estimate(name) < horizon) due.push(name);
    }
    this.extended = due.length;
    this.extendedTo = due.length > 0 ? to : undefined;
    if (dryRun) return;
    await fetchInOrder(due, AT_ONCE, async (name) => {
      await this.store.extendRetention(name, to);
      this.until.set(name, to.getTime());
    });
  }

  /** Removes earlier versions (of records written again, of the state files) whose retention has passed, and delete markers no longer on top. */
  async removeOldVersions(dryRun: boolean): Promise<void> {
    const due = this.older.filter((v) => v.deleteMarker || Math.max(v.modified.getTime() + this.periodMs, this.until.get(v.name) ?? 0) <= this.now.getTime());
    if (dryRun) {
      this.oldVersionsRemoved = due.length;
      return;
    }
    await fetchInOrder(due, AT_ONCE, async (v) => {
      try {
        await this.store.deleteVersion(v.name, v.versionId);
        this.oldVersionsRemoved++;
      } catch (e) {
        if (!isRetained(e)) throw e;
      }
    });
  }

  /** Writes state/retention.json: the dates of the objects that are still there, and what is left to delete. */
  async save(): Promise<void> {
    const until = new Map<string, number>();
    for (const [name, t] of this.until) if (this.current.has(name) && !this.deleted.has(name) && t > this.now.getTime()) until.set(name, t);
    const left = new Map<string, number | undefined>();
    for (const [name, t] of this.wanted) if (this.current.has(name) && !this.deleted.has(name)) left.set(name, t);
    const file: RetentionFile = { version: 1, until: byDate(until), left: byDate(left) };
    await this.backend.put(RETENTION_STATE, Buffer.from(JSON.stringify(file) + '\n'));
  }

  report(): RetentionReport {
    const dates = [...this.left.values()].map((l) => l.until).filter((t): t is number => t !== undefined);
    const iso = (t: number | undefined): string | null => (t === undefined ? null : new Date(t).toISOString());
    return {
      mode: this.lock.mode,
      days: this.lock.days,
      retained: this.left.size,
      retained_bytes: [...this.left.values()].reduce((sum, l) => sum + l.size, 0),
      retained_until_first: iso(dates.length ? Math.min(...dates) : undefined),
      retained_until_last: iso(dates.length ? Math.max(...dates) : undefined),
      extended: this.extended,
      extended_until: this.extendedTo?.toISOString() ?? null,
      old_versions_removed: this.oldVersionsRemoved,
    };
  }
}

function hiddenObjects(location: string, names: string[]): PrismError {
  const shown = names.slice(0, 10).join(', ');
  return new PrismError(
    'OBJECTS_HIDDEN',
    `${names.length} object(s) of the repository at ${location} are hidden by delete markers that prism did not write (${shown}${names.length > 10 ? ', …' : ''}): someone deleted them with credentials of this bucket. Their data is still kept. Prune stopped so that it removes nothing on the strength of a hidden backup: run \`prism backup repair undelete\`, then \`prism backup verify --all\`.`,
    { location, hidden: names.length, objects: names.slice(0, 100) },
  );
}

async function loadFile(backend: Backend): Promise<RetentionFile> {
  const empty: RetentionFile = { version: 1, until: {}, left: {} };
  let raw: Buffer;
  try {
    raw = await backend.get(RETENTION_STATE);
  } catch (e) {
    if ((e as { kind?: string }).kind === 'not-found') return empty;
    throw e;
  }
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as Partial<RetentionFile>;
    // a state file that does not read costs requests, never data: the dates are estimated afresh
    return { version: 1, until: isDated(parsed.until) ? parsed.until : {}, left: isDated(parsed.left) ? parsed.left : {} };
  } catch {
    return empty;
  }
}

function isDated(x: unknown): x is Record<string, string[]> {
  return typeof x === 'object' && x !== null && Object.values(x).every((v) => Array.isArray(v) && v.every((n) => typeof n === 'string'));
}

/** name → date (ms), from the file's date → names ('' for no date: a legal hold). */
function datesOf(grouped: Record<string, string[]>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [date, names] of Object.entries(grouped)) {
    const t = date === '' ? 0 : Date.parse(date);
    if (!Number.isFinite(t)) continue;
    for (const n of names) out.set(n, Math.max(out.get(n) ?? 0, t));
  }
  return out;
}

function byDate(dates: Map<string, number | undefined>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, t] of [...dates].sort(([a], [b]) => (a < b ? -1 : 1))) (out[t === undefined || t === 0 ? '' : new Date(t).toISOString()] ??= []).push(name);
  return out;
}
