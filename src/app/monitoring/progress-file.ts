import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../core/clock.js';
import { PRIVATE_DIR_MODE, writePrivateFile } from '../../core/private-files.js';
import { processAlive } from '../../core/process-alive.js';
import type { ProgressEvent, ProgressListener } from '../../core/progress.js';

export type ProgressKind = 'backup' | 'restore' | 'copy' | 'verify';
const KINDS: readonly string[] = ['backup', 'restore', 'copy', 'verify'];

/** `$PRISM_HOME/run/progress/<pid>.json`: what a long job of a live process has done so far (the dashboard shows it). */
export interface ProgressRecord {
  pid: number;
  job: string;
  kind: ProgressKind;
  started_at: string;
  bytes_done: number;
  bytes_total: number | null;
  files_done: number;
  files_total: number | null;
  rate_bytes_per_s: number;
  eta_seconds: number | null;
  updated_at: string;
}

/** At most one write a second (the first and the last are always written). */
export const PROGRESS_WRITE_INTERVAL_MS = 1000;

export function progressDir(home: string): string {
  return join(home, 'run', 'progress');
}

/** Creates run/progress inside an existing PRISM_HOME (never PRISM_HOME itself: a job without one creates nothing). */
function ensureProgressDir(home: string): void {
  for (const dir of [join(home, 'run'), progressDir(home)]) {
    try {
      mkdirSync(dir, { mode: PRIVATE_DIR_MODE });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** `<pid>.json`, or `<pid>-<n>.json` for a second job of the same process (a restore's safety backup). */
const FILE_NAME = /^(\d{1,10})(?:-(\d{1,6}))?\.json$/;
/** Slots of this process in use: the first job writes `<pid>.json`. */
const slotsInUse = new Set<number>();

/** Writes the progress of one job to its file; a failed write never fails the job. */
export class ProgressFile {
  readonly file: string;
  private readonly slot: number;
  private readonly record: ProgressRecord;
  private readonly startedMs: number;
  private lastWriteMs = -Infinity;
  private closed = false;

  constructor(
    private readonly home: string,
    private readonly clock: Clock,
    kind: ProgressKind,
    job: string,
    pid: number = process.pid,
  ) {
    let slot = 0;
    while (slotsInUse.has(slot)) slot++;
    slotsInUse.add(slot);
    this.slot = slot;
    this.file = join(progressDir(home), slot === 0 ? `${pid}.json` : `${pid}-${slot}.json`);
    const now = clock.now();
    this.startedMs = now.getTime();
    this.record = {
      pid,
      job,
      kind,
      started_at: now.toISOString(),
      bytes_done: 0,
      bytes_total: null,
      files_done: 0,
      files_total: null,
      rate_bytes_per_s: 0,
      eta_seconds: null,
      updated_at: now.toISOString(),
    };
    this.write(true);
  }

  /** Takes one progress event; the file is rewritten when a second has passed since the last write (or at start and finish). */
  readonly update = (e: ProgressEvent): void => {
    if (this.closed) return;
    const r = this.record;
    switch (e.kind) {
      case 'scan':
        r.files_total = null;
        r.bytes_total = null;
        break;
      case 'start':
        r.files_total = e.totalFiles;
        r.bytes_total = e.totalBytes;
        r.files_done = 0;
        r.bytes_done = 0;
        break;
      case 'advance':
        r.files_done += e.files;
        r.bytes_done += e.bytes;
        break;
      case 'finish':
        if (r.bytes_total !== null) r.bytes_done = Math.max(r.bytes_done, r.bytes_total);
        if (r.files_total !== null) r.files_done = Math.max(r.files_done, r.files_total);
        break;
    }
    this.write(e.kind === 'start' || e.kind === 'finish');
  };

  /** Removes the file (the job has ended, well or not). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    slotsInUse.delete(this.slot);
    rmSync(this.file, { force: true });
    rmSync(`${this.file}.tmp`, { force: true });
  }

  private write(force: boolean): void {
    const now = this.clock.now();
    const nowMs = now.getTime();
    if (!force && nowMs - this.lastWriteMs < PROGRESS_WRITE_INTERVAL_MS) return;
    const r = this.record;
    const seconds = (nowMs - this.startedMs) / 1000;
    r.rate_bytes_per_s = seconds > 0 ? Math.round(r.bytes_done / seconds) : 0;
    r.eta_seconds = r.bytes_total !== null && r.rate_bytes_per_s > 0 ? Math.max(0, Math.ceil((r.bytes_total - r.bytes_done) / r.rate_bytes_per_s)) : null;
    r.updated_at = now.toISOString();
    try {
      ensureProgressDir(this.home);
      const tmp = `${this.file}.tmp`;
      writePrivateFile(tmp, JSON.stringify(r) + '\n');
      renameSync(tmp, this.file);
      this.lastWriteMs = nowMs;
    } catch {
      // progress is for display: a full disk or a read-only home must not stop the job
    }
  }
}

/**
 * Runs `work` with a progress listener that feeds both `inner` (e.g. the CLI's bar) and the
 * job's progress file; the file is removed when `work` ends, also when it fails.
 */
export async function withProgressFile<T>(
  ctx: { readonly config: { readonly home: string }; readonly clock: Clock },
  kind: ProgressKind,
  job: string,
  inner: ProgressListener | undefined,
  work: (onProgress: ProgressListener) => Promise<T>,
): Promise<T> {
  const file = new ProgressFile(ctx.config.home, ctx.clock, kind, job);
  try {
    return await work((e) => {
      file.update(e);
      inner?.(e);
    });
  } finally {
    file.close();
  }
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0;
}

function isTime(x: unknown): x is string {
  return typeof x === 'string' && x.length <= 40 && !Number.isNaN(Date.parse(x));
}

/** The record in `raw` if it is a well-formed one of `pid`, else undefined. */
export function parseProgressRecord(raw: string, pid: number): ProgressRecord | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const ok =
    v.pid === pid &&
    typeof v.job === 'string' &&
    v.job.length <= 200 &&
    KINDS.includes(v.kind as string) &&
    isTime(v.started_at) &&
    isTime(v.updated_at) &&
    isCount(v.bytes_done) &&
    isCount(v.files_done) &&
    isCount(v.rate_bytes_per_s) &&
    (v.bytes_total === null || isCount(v.bytes_total)) &&
    (v.files_total === null || isCount(v.files_total)) &&
    (v.eta_seconds === null || isCount(v.eta_seconds));
  if (!ok) return undefined;
  return {
    pid,
    job: v.job as string,
    kind: v.kind as ProgressKind,
    started_at: v.started_at as string,
    bytes_done: v.bytes_done as number,
    bytes_total: v.bytes_total as number | null,
    files_done: v.files_done as number,
    files_total: v.files_total as number | null,
    rate_bytes_per_s: v.rate_bytes_per_s as number,
    eta_seconds: v.eta_seconds as number | null,
    updated_at: v.updated_at as string,
  };
}

/**
 * The jobs running now, oldest first: the progress files of live processes. A file of a dead
 * process (killed before it could remove it) is removed; a malformed one is left out.
 */
export function readProgressFiles(home: string, alive: (pid: number) => boolean = processAlive): ProgressRecord[] {
  const dir = progressDir(home);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: ProgressRecord[] = [];
  for (const name of names) {
    const m = FILE_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    const file = join(dir, name);
    if (pid <= 0 || !alive(pid)) {
      rmSync(file, { force: true });
      rmSync(`${file}.tmp`, { force: true });
      continue;
    }
    let raw: string;
    try {
      raw = readFileSync(file, 'utf8');
    } catch {
      continue; // removed as it was read: the job has ended
    }
    if (raw.length > 64 * 1024) continue;
    const r = parseProgressRecord(raw, pid);
    if (r) out.push(r);
  }
  return out.sort((a, b) => (a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : a.pid - b.pid));
}
