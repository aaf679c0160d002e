/** Names of the objects a repository holds (see docs/repository-format.md). */
/** The newest format this prism reads: 1 (unencrypted), 2 (encrypted). */
export const FORMAT_VERSION = 2;
/** The format of new unencrypted repositories (older prism versions read it). */
export const PLAIN_FORMAT_VERSION = 1;
export const REPO_CONFIG = 'config.json';

/** The last part of an object's name under data/: the pack's id where the object is one of ours. */
export const packIdOf = (name: string): string => name.slice(name.lastIndexOf('/') + 1);
export const packName = (idHex: string): string => `data/${idHex.slice(0, 2)}/${idHex}`;
export const indexName = (idHex: string): string => `index/${idHex}`;
export const snapshotName = (backupId: string): string => `snapshots/${backupId}.json`;
export const lockName = (lockId: string): string => `locks/${lockId}.json`;
/** A copy of a blob found damaged: `damaged/<blob id>.<pack id>.json`. */
/** Key files (`keys/<key id>.json`), each wrapping a master key under a password. */
export const KEYS_DIR = 'keys';
export const keyFileName = (keyId: string): string => `${KEYS_DIR}/${keyId}.json`;
/** Keyrings (`keyring/<generation, 10 digits>`): the secrets of each master-key generation. */
export const KEYRING_DIR = 'keyring';
export const keyringName = (generation: number): string => `${KEYRING_DIR}/${String(generation).padStart(10, '0')}`;
export const damagedName = (blobHex: string, packHex: string): string => `damaged/${blobHex}.${packHex}.json`;

export const PACK_MAGIC = Buffer.from('PRISMPK1', 'latin1');
export const PACK_END_MAGIC = Buffer.from('PRISMEND', 'latin1');
export const INDEX_MAGIC = Buffer.from('PRISMIX1', 'latin1');

/** Target pack size: a pack is closed once it reaches this many bytes. */
export const PACK_TARGET_BYTES = 16 * 1024 * 1024;
/** Small blobs are gathered into one compression frame up to this many plaintext bytes. */
export const FRAME_TARGET_BYTES = 1024 * 1024;
/** Blobs at least this large get a frame of their own. */
export const FRAME_SOLO_BYTES = 512 * 1024;

/** JSON records kept beside the backups: PostgreSQL WAL files and base backups, MySQL binary logs. */
export const WAL_RECORDS = 'pg/wal';
export const BASE_RECORDS = 'pg/base';
export const BINLOG_RECORDS = 'mysql/binlog';
/** MariaDB physical base backups (mariabackup): `mysql/base/<id>.json`. */
export const MYSQL_BASE_RECORDS = 'mysql/base';
export const mysqlBaseRecordName = (id: string): string => `${MYSQL_BASE_RECORDS}/${id}.json`;
/** PostgreSQL restore points (`prism pg restore-point`): `pg/restore-point/<timeline><LSN, 16 hex digits>.json`. */
export const RESTORE_POINT_RECORDS = 'pg/restore-point';
export const restorePointRecordName = (key: string): string => `${RESTORE_POINT_RECORDS}/${key}.json`;
export const walRecordName = (file: string): string => `${WAL_RECORDS}/${file}.json`;
export const baseRecordName = (id: string): string => `${BASE_RECORDS}/${id}.json`;
/** The binary log records of one database: `mysql/binlog/<database, URI-encoded>`. */
export const binlogRecordDir = (db: string): string => `${BINLOG_RECORDS}/${encodeURIComponent(db)}`;
export const binlogRecordName = (db: string, file: string): string => `${binlogRecordDir(db)}/${file}.json`;
/** Where background verification keeps, per pack, when it was first seen and last read in full. */
export const VERIFY_STATE = 'state/verify.json';
/** Under object lock: the retain-until dates prism set or learned, and what it wants gone (object-retention.ts). */
export const RETENTION_STATE = 'state/retention.json';
