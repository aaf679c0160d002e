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

/** Where a timeline begins: the LSN where it left its parent (0 for one without a history file). */
export const timelineStart = (t: Timeline): bigint => t.parents.at(-1)?.switchLsn ?? 0n;

/** The segment number (the file name's last 16 hex digits as one number) of a 24-hex-digit segment name. */
const segmentNumber = (name: string, segmentSize: number): bigint =>
  BigInt(`0x${name.slice(8, 16)}`) * (0x100000000n / BigInt(segmentSize)) + BigInt(`0x${name.slice(16, 24)}`);

/** Per timeline, the highest segment number archived on it (whole segments only: a `.partial` file ends at the switch). */
export function lastSegments(wal: WalRecord[], segmentSize: number): Map<number, bigint> {
  const out = new Map<number, bigint>();
  for (const w of wal) {
    if (!/^[0-9A-F]{24}$/.test(w.name)) continue;
    const tli = timelineOfFile(w.name);
    const n = segmentNumber(w.name, segmentSize);
    if (n > (out.get(tli) ?? -1n)) out.set(tli, n);
  }
  return out;
}

export interface TargetTimelineChoice {
  tli: number;
  /** Whether the archive left one timeline only (else: the newest of `candidates`, with a warning). */
  unambiguous: boolean;
  candidates: number[];
  warning?: string;
}

const pickNewest = (candidates: number[], what: string, why: string): TargetTimelineChoice => {
  const sorted = [...candidates].sort((a, b) => a - b);
  const tli = sorted.at(-1)!;
  if (sorted.length === 1) return { tli, unambiguous: true, candidates: sorted };
  return {
    tli,
    unambiguous: false,
    candidates: sorted,
    warning: `${what} may be on timelines ${sorted.join(', ')} (${why}): recovery follows ${tli}, the newest. For another, pass --target-timeline N.`,
  };
};

/**
 * The timeline that holds WAL location `target`. WAL below a timeline's switch point is its
 * parent's (the part of the fork they share), so only the timelines begun at or before the LSN
 * can hold it: one such timeline is the answer. Of several, recovery can reach the LSN from the
 * archive only on those that archived its segment: one of them is the answer, with a warning
 * when another timeline that has not archived that far was still archiving after it began (the
 * LSN may be in that one's WAL, not archived yet). Several (a timeline and one that left it
 * before the LSN both went on past it): the newest of them, with a warning.
 */
export function timelineOfLsn(tls: Map<number, Timeline>, wal: WalRecord[], target: string, segmentSize: number): TargetTimelineChoice {
  const lsn = parseLsn(target);
  const begun = [...tls.values()].filter((t) => timelineStart(t) <= lsn);
  if (begun.length <= 1) return { tli: begun[0]?.tli ?? 1, unambiguous: true, candidates: begun.map((t) => t.tli) };
  const last = lastSegments(wal, segmentSize);
  const seg = lsn / BigInt(segmentSize);
  const reached = begun.filter((t) => (last.get(t.tli) ?? -1n) >= seg);
  const shown = `LSN ${target.toUpperCase()}`;
  if (reached.length === 0)
    return pickNewest(
      begun.map((t) => t.tli),
      shown,
      'none of them has archived its segment yet',
    );
  if (reached.length > 1)
    return pickNewest(
      reached.map((t) => t.tli),
      shown,
      'each has archived its segment: one left the other before it, and both went on',
    );
  const r = reached[0]!;
  const since = r.began ?? -Infinity;
  const alive = begun.filter((t) => t !== r && Math.max(t.lastArchived ?? -Infinity, t.began ?? -Infinity) >= since).map((t) => t.tli);
  if (alive.length === 0) return { tli: r.tli, unambiguous: true, candidates: [r.tli] };
  return {
    tli: r.tli,
    unambiguous: false,
    candidates: [r.tli, ...alive].sort((a, b) => a - b),
    warning: `${shown} is on timeline ${r.tli}, the only one that has archived its segment; timeline${alive.length > 1 ? 's' : ''} ${alive.join(', ')} went on archiving after ${r.tli} began and may hold it in WAL not archived yet. For ${alive.length > 1 ? 'one of those' : 'that one'}, archive it (SELECT pg_switch_wal() there) and pass --target-timeline N.`,
  };
}

/** 64 bits: a 32-bit id gets the epoch of `ref` (an epoch-qualified id the server recorded). */
export function fullXid(xid: string, ref: bigint): bigint {
  const x = BigInt(xid);
  return x >= 1n << 32n ? x : ((ref >> 32n) << 32n) | x;
}

/**
 * The timeline a transaction's commit can be on. Transaction ids go on from the same counter
 * on both sides of a fork, so an id is in general ambiguous; but a base backup taken on an
 * ancestor of timeline T, ending before T left that line, that recorded a next transaction id
 * above `xid` shows the id was used before T began: its commit is on the parent's side (before
 * the switch point, which the parent has as well, or after it, on the parent only), never on T
 * or its descendants. One timeline left: that one; several: the newest, with a warning.
 */
export function timelineOfXid(tls: Map<number, Timeline>, bases: BaseRecord[], xid: string): TargetTimelineChoice {
  const all = [...tls.keys()];
  if (all.length <= 1) return { tli: all[0] ?? 1, unambiguous: true, candidates: all };
  const known = bases.filter((b) => b.next_xid !== undefined);
  const usedBefore = (t: number) => {
    const line = lineageOf(tls, t);
    return known.some((b) => b.timeline !== t && baseOnLineage(b, line) && fullXid(xid, BigInt(b.next_xid!)) < BigInt(b.next_xid!));
  };
  const left = all.filter((t) => !usedBefore(t));
  return pickNewest(
    left.length > 0 ? left : all,
    `Transaction ${xid}`,
    'transaction ids go on from the same counter on both sides of a fork, and no base backup shows this one was used before they parted',
  );
}
