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
  /** --clean (whole database only): remove what the target has and the backup lacks; see CleanSpec. */
  clean?: CleanSpec | undefined;
  /** --without-foreign-keys: the tables created are created without their foreign keys. */
  withoutForeignKeys?: boolean | undefined;
}

/**
 * What `--clean` removes: the tables (PostgreSQL also views, materialized views, free-standing
 * sequences, types, domains, functions, procedures and aggregates; MySQL/MariaDB also views and
 * sequences) of the target that the backup does not have, in the schemas the backup holds
 * (PostgreSQL). Never prism's own `_prism_safety_…` objects, nor what an extension owns, nor a
 * table `keep` holds back (one the database's include_tables/exclude_tables leave out of its backups).
 */
export interface CleanSpec {
  keep: (table: string) => boolean;
}

/** Something the target has and the backup lacks. */
export interface CleanItem {
  kind: 'table' | 'view' | 'materialized view' | 'sequence' | 'foreign table' | 'type' | 'domain' | 'function' | 'procedure' | 'aggregate';
  /** PostgreSQL: schema.name (a routine with its argument types); MySQL: the name. */
  name: string;
}

/** What --clean did: each object removed, where it was set aside, and how to put it back. */
export interface CleanOutcome {
  /** Each with `safety`: where it now is (PostgreSQL: the schema _prism_safety_<stamp>_<schema>; MySQL: the table or view renamed _prism_safety_<stamp>_<name>), or null when dropped (--no-safety-copy). */
  removed: Array<CleanItem & { safety: string | null }>;
  /** Foreign keys between what was set aside and what stays, dropped with it (one would tie the tables kept to a safety copy). */
  foreign_keys_dropped: string[];
  /** The statements that put everything back (undoing the restore runs them, in order). */
  undo: string[];
  /** The statements that remove the safety copies for good. */
  drop_safety: string[];
}

/** Restored tables, and what --clean removed. */
export interface RestoreResult {
  tables: TableOutcome[];
  clean?: CleanOutcome;
}

/** A foreign key of a table in the backup's schema: the table it references. */
export interface ForeignKeyRef {
  table: string;
  constraint: string;
  references: string;
}

export interface TablePlan {
  name: string;
  /** replace: the table exists and is overwritten; create: it is missing and is created. */
  action: 'replace' | 'create';
  current_rows: number | null;
  backup_rows: number;
  /** --with-dependencies: the tables whose foreign keys brought this one along. */
  referenced_by?: string[];
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
