export { BLOB_TYPE, storedShare, type BlobLocation, type BlobType, type IndexedBlob } from './blob-entry.js';
export { BlobIndex, IdSetView, type SharedIdSet } from './blob-index.js';
export { FORMAT_VERSION, PACK_TARGET_BYTES } from './layout.js';
export { RepositoryLock, backupLockHeld, isStale, type LockInfo, type LockKind } from './lock.js';
export { dbRecordSchema, emptyStats, manifestSchema, rootTrees, type DbRecord, type Manifest, type ManifestStats } from './manifest.js';
export { PackWriter } from './pack-writer.js';
export type { RepoConfig } from './repo-config.js';
export { Repository } from './repository.js';
export { encodeTree, type NodeType, type Tree, type TreeNode } from './tree.js';
