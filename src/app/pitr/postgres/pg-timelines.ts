import { parseLsn, segmentOf } from '../../../source/postgres/pg-wal-name.js';
import type { BaseRecord, WalRecord } from './pg-records.js';

/**
 * The timelines of an archive, from its `.history` files: each names the timelines it descends
 * from and the LSN where it left each of them. A timeline's beginning is when its history file
 * was archived (the server archives it first thing after promotion); its last sign of life is
 * the newest file archived on it.
 */
export interface Timeline {
  tli: number;
  /** Ancestors, oldest first: each parent and the LSN where this line of descent left it. */
  parents: Array<{ tli: number; switchLsn: bigint }>;
  /** Milliseconds: when the timeline began (its history file archived; its first file without one); null for timeline 1. */
  began: number | null;
  /** Milliseconds: the newest file archived on this timeline, null if none. */
  lastArchived: number | null;
}

const MAX_LSN = (1n << 64n) - 1n;

/** `1\t0/3000000\tbefore 2026-…` lines: the parent timelines and their switch points (comments and blank lines skipped). */
export function parseHistory(text: string): Array<{ tli: number; switchLsn: bigint }> {
  const out: Array<{ tli: number; switchLsn: bigint }> = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+([0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8})/.exec(line);
    if (m) out.push({ tli: Number(m[1]), switchLsn: parseLsn(m[2]!) });
  }
  return out;
}

export const timelineOfFile = (name: string): number => parseInt(name.slice(0, 8), 16);

/** Every timeline the archive knows of: those with a history file, WAL files or a base backup. */
export function archiveTimelines(wal: WalRecord[], histories: Map<number, string>, bases: BaseRecord[]): Map<number, Timeline> {
  const out = new Map<number, Timeline>();
  const get = (tli: number): Timeline => {
    let t = out.get(tli);
    if (!t) out.set(tli, (t = { tli, parents: [], began: null, lastArchived: null }));
    return t;
  };
  for (const [tli, text] of histories) get(tli).parents = parseHistory(text);
  for (const w of wal) {
    const tli = timelineOfFile(w.name);
    if (!Number.isFinite(tli)) continue;
    const t = get(tli);
    const at = Date.parse(w.archived_at);
    if (w.name.endsWith('.history')) t.began = at;
    else {
      t.lastArchived = Math.max(t.lastArchived ?? at, at);
      if (tli !== 1 && !histories.has(tli)) t.began = Math.min(t.began ?? at, at);
    }
  }
  for (const b of bases) {
    const t = get(b.timeline);
    if (b.timeline !== 1 && t.began === null) t.began = Date.parse(b.started_at);
  }
  return out;
}

export interface TimelineChoice {
  tli: number;
  warning?: string;
}

/**
 * The timeline that was live at `at`: of the timelines begun by then, the one still archiving
 * at that time (a file archived at or after it); if none was (the archive ends before), or
 * several were (a restored copy archiving beside the original), the one begun last.
 */
export function timelineAt(tls: Map<number, Timeline>, at: number): TimelineChoice {
  const all = [...tls.values()];
  if (all.length === 0) return { tli: 1 };
  const begun = all.filter((t) => (t.began ?? -Infinity) <= at);
  if (begun.length === 0) return { tli: all.sort((x, y) => (x.began ?? -Infinity) - (y.began ?? -Infinity))[0]!.tli };
  const running = begun.filter((t) => t.lastArchived !== null && t.lastArchived >= at);
  if (running.length === 1) return { tli: running[0]!.tli };
  const newest = (ts: Timeline[]) => ts.sort((x, y) => (x.began ?? -Infinity) - (y.began ?? -Infinity) || x.tli - y.tli).at(-1)!;
  if (running.length > 1) {
    const pick = newest(running);
    return {
      tli: pick.tli,
      warning: `Timelines ${running
        .map((t) => t.tli)
        .sort((x, y) => x - y)
        .join(
          ', ',
        )} were all archiving at the target time (a restored copy of the cluster archiving into this repository?); chose ${pick.tli}, the one begun last. Pass --target-timeline to choose another.`,
    };
  }
  return { tli: newest(begun).tli };
}

/** The newest timeline of the archive (what PostgreSQL's recovery_target_timeline = 'latest' finds). */
export function latestTimeline(tls: Map<number, Timeline>): number {
  return Math.max(1, ...tls.keys());
}

/** A line of descent: each timeline with the LSN up to which recovery reads it (the last: to the end). */
export type Lineage = Array<{ tli: number; upto: bigint }>;

export function lineageOf(tls: Map<number, Timeline>, tli: number): Lineage {
  const parents = tls.get(tli)?.parents ?? [];
  return [...parents.map((p) => ({ tli: p.tli, upto: p.switchLsn })), { tli, upto: MAX_LSN }];
}

/** A base backup recovery can start from on this line of descent: taken on it, and done before it left that timeline. */
export function baseOnLineage(b: BaseRecord, line: Lineage): boolean {
  const i = line.findIndex((l) => l.tli === b.timeline);
  if (i < 0) return false;
  return i === line.length - 1 || parseLsn(b.stop_lsn) <= line[i]!.upto;
}

/** The segment file recovery along `line` reads for `lsn` (PostgreSQL reads a segment from the newest timeline that had begun by it). */
export function segmentOnLineage(line: Lineage, lsn: bigint, segmentSize: number): string {
  const seg = (l: bigint) => l / BigInt(segmentSize);
  const entry = line.find((l) => seg(lsn) < seg(l.upto)) ?? line.at(-1)!;
  return segmentOf(entry.tli, lsn, segmentSize);
}

/** The WAL segments of `line` recovery from a base backup starting in segment `fromSegment` (24 hex digits) would read. */
export function segmentsOnLineage(wal: WalRecord[], line: Lineage, fromSegment: string, segmentSize: number): WalRecord[] {
  const from = fromSegment.slice(8);
  const limits = new Map(line.map((l) => [l.tli, l.upto === MAX_LSN ? null : segmentOf(l.tli, l.upto, segmentSize).slice(8)]));
  const begins = new Map(line.map((l, i) => [l.tli, i === 0 ? null : segmentOf(l.tli, line[i - 1]!.upto, segmentSize).slice(8)]));
  return wal
    .filter((w) => {
      if (!/^[0-9A-F]{24}$/.test(w.name)) return false;
      const tli = timelineOfFile(w.name);
      if (!limits.has(tli)) return false;
      const segno = w.name.slice(8);
      const upto = limits.get(tli);
      const begin = begins.get(tli);
      return segno >= from && (upto === null || upto === undefined || segno < upto) && (begin === null || begin === undefined || segno >= begin);
    })
    .sort((x, y) => (x.name.slice(8) < y.name.slice(8) ? -1 : x.name.slice(8) > y.name.slice(8) ? 1 : 0));
}
