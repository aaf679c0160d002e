import type { Repository } from '../../../repo/index.js';
import { readStream } from '../blob-store.js';
import { listRestorePointRecords, type BaseRecord, type RestorePointRecord, type WalRecord } from './pg-records.js';
import { archiveTimelines, timelineOfFile, timelineStart } from './pg-timelines.js';

/** The content of every archived timeline history file, by timeline. */
export async function readHistories(repo: Repository, wal: WalRecord[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const w of wal) {
    if (!/^[0-9A-F]{8}\.history$/.test(w.name)) continue;
    const parts: Buffer[] = [];
    for await (const chunk of readStream(repo, w.content, w.sha256)) parts.push(chunk);
    out.set(parseInt(w.name.slice(0, 8), 16), Buffer.concat(parts).toString('utf8'));
  }
  return out;
}

export interface TimelineSummary {
  timeline: number;
  /** The timeline it left and the LSN where (from its history file); null for timeline 1 or without one. */
  parent: number | null;
  switch_lsn: string | null;
  /** Whether its `.history` file is archived. */
  history: boolean;
  /** Segments archived on it: how many, the first and the last (by name). */
  segments: number;
  first_segment: string | null;
  last_segment: string | null;
  /** When its newest file was archived. */
  last_archived_at: string | null;
}

export const formatLsn = (lsn: bigint): string => `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;

/** The timelines of the archive (every one a history file, a WAL file or a base backup names), oldest first. */
export async function timelineSummaries(repo: Repository, wal: WalRecord[], bases: BaseRecord[]): Promise<TimelineSummary[]> {
  const histories = await readHistories(repo, wal);
  const tls = archiveTimelines(wal, histories, bases);
  return [...tls.values()]
    .sort((a, b) => a.tli - b.tli)
    .map((t) => {
      // WAL records come sorted by name: within a timeline, segment order
      const own = wal.filter((w) => /^[0-9A-F]{24}$/.test(w.name) && timelineOfFile(w.name) === t.tli);
      const parent = t.parents.at(-1);
      const newest = wal
        .filter((w) => timelineOfFile(w.name) === t.tli)
        .reduce<string | null>((m, w) => (m === null || w.archived_at > m ? w.archived_at : m), null);
      return {
        timeline: t.tli,
        parent: parent?.tli ?? null,
        switch_lsn: parent ? formatLsn(timelineStart(t)) : null,
        history: histories.has(t.tli),
        segments: own.length,
        first_segment: own[0]?.name ?? null,
        last_segment: own.at(-1)?.name ?? null,
        last_archived_at: newest,
      };
    });
}

/** The restore points recorded, oldest first, without what only matters inside (format, system identifier). */
export async function restorePointSummaries(repo: Repository): Promise<Array<Omit<RestorePointRecord, 'format' | 'system_identifier'>>> {
  return (await listRestorePointRecords(repo)).map(({ name, lsn, timeline, created_at }) => ({ name, lsn, timeline, created_at }));
}
