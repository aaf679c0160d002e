/** Names of the objects a repository holds (see docs/repository-format.md). */
export const FORMAT_VERSION = 1;
export const REPO_CONFIG = 'config.json';

export const packName = (idHex: string): string => `data/${idHex.slice(0, 2)}/${idHex}`;
export const indexName = (idHex: string): string => `index/${idHex}`;
export const snapshotName = (backupId: string): string => `snapshots/${backupId}.json`;
export const lockName = (lockId: string): string => `locks/${lockId}.json`;
/** A copy of a blob found damaged: `damaged/<blob id>.<pack id>.json`. */
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
