/** The contract of the engine restorers (postgres-restore, mysql-restore) with the app layer. */
import type { Readable } from 'node:stream';
import { SAFETY_PREFIX } from './db-dump.js';

export interface RestoreTableInput {
  /** PostgreSQL: schema.table; MySQL: table. */
  name: string;
  rows: number;
  /** SHA-256 (hex) of the table's data as backed up: known once `open()`'s stream has been read to its end. */
  sha256(): string;
  columns?: readonly string[] | undefined;
  /** The stored data, streamed from the repository (re-hashed chunk by chunk). */
  open(): Readable;
}

export interface RestoreInput {
  tables: RestoreTableInput[];
  /** Schema texts by part: PostgreSQL pre-data / post-data, MySQL schema. */
  schema: Record<string, string>;
  /** PostgreSQL sequence values at the backup. */
  sequences?: ReadonlyArray<SequenceValue & { table: string | null }> | undefined;
  /** Every table of the backed-up database is restored (so a target without any of them gets the whole schema). */
  wholeDatabase: boolean;
  /** Keep a copy of each table before it is overwritten (named _prism_safety_<stamp>_<table>, or _<stamp>_<n>_<table> when that is taken). */
  safetyCopies: boolean;
  stamp: string;
  log: (event: string, fields: Record<string, unknown>) => void;
}

export interface TablePlan {
  name: string;
  /** replace: the table exists and is overwritten; create: it is missing and is created. */
  action: 'replace' | 'create';
  current_rows: number | null;
  backup_rows: number;
}

export interface TableOutcome {
  name: string;
  action: 'replace' | 'create';
  safety_copy: string | null;
  rows_expected: number;
  rows_restored: number;
  sha256_expected: string;
  sha256_restored: string;
  ok: boolean;
  /** PostgreSQL, a replaced table: the values its sequences had before the restore set them, which undoing the restore puts back. */
  sequences_before?: SequenceValue[];
}

export interface SequenceValue {
  name: string;
  value: string;
  is_called: boolean;
}

/** _prism_safety_<stamp>_<table>, cut to the engine's identifier length. */
export function safetyName(stamp: string, table: string, maxBytes: number): string {
  let name = `${SAFETY_PREFIX}${stamp}_${table}`;
  while (Buffer.byteLength(name) > maxBytes) name = name.slice(0, -1);
  return name;
}

/**
 * The first safety copy name not `taken`: _prism_safety_<stamp>_<table>, then
 * _prism_safety_<stamp>_2_<table>, _3_ … (restores within one second share the stamp, and two
 * long table names can be cut to the same name). The number goes before the table, so cutting
 * the name to the identifier length never removes it.
 */
export async function freeSafetyName(stamp: string, table: string, maxBytes: number, taken: (name: string) => Promise<boolean>): Promise<string> {
  for (let n = 1; ; n++) {
    const name = safetyName(n === 1 ? stamp : `${stamp}_${n}`, table, maxBytes);
    if (!(await taken(name))) return name;
  }
}

/** Compares what was restored (read back from the database) with the backup (数据校验). */
export function outcome(t: RestoreTableInput, action: TableOutcome['action'], safety: string | null, rows: number, sha256: string): TableOutcome {
  const expected = t.sha256();
  return {
    name: t.name,
    action,
    safety_copy: safety,
    rows_expected: t.rows,
    rows_restored: rows,
    sha256_expected: expected,
    sha256_restored: sha256,
    ok: rows === t.rows && sha256 === expected,
  };
}
