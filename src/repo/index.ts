export { BLOB_TYPE, storedShare, type BlobLocation, type BlobType, type IndexedBlob } from './blob-entry.js';
export { BlobIndex, IdSetView, type SharedIdSet } from './blob-index.js';
export {
  BASE_RECORDS,
  BINLOG_RECORDS,
  FORMAT_VERSION,
  MYSQL_BASE_RECORDS,
  PACK_TARGET_BYTES,
  RESTORE_POINT_RECORDS,
  VERIFY_STATE,
  WAL_RECORDS,
  baseRecordName,
  binlogRecordDir,
  binlogRecordName,
  mysqlBaseRecordName,
  restorePointRecordName,
  walRecordName,
} from './layout.js';
export { isRemoteLocation, localObjectPresent, openBackend, repositoryBytes, storageSpace, type StoreOptions } from './open-backend.js';
export { PackUploadBackend } from './pack-upload-port.js';
export { RepositoryLock, backupLockHeld, isStale, type LockInfo, type LockKind } from './lock.js';
export { dbRecordSchema, emptyStats, manifestSchema, rootTrees, type DbRecord, type Manifest, type ManifestStats } from './manifest.js';
export { PackWriter } from './pack-writer.js';
export { Crypt, type CryptSecrets } from './crypt.js';
export { FrameDecoder, FrameReuse } from './frame-decoder.js';
export { PLAN_BUDGET_BYTES, PlannedReads, type PlanOptions } from './planned-reads.js';
export type { Unlocked } from './keyring.js';
export {
  addKeyFile,
  listKeyFiles,
  openWithMaster,
  removeKeyFile,
  repositoryKind,
  type ExportedKey,
  type KeyList,
  type KeyListing,
  type KeyState,
} from './key-files.js';
export type { KeyCache, ManifestCache, OpenOptions, SharedIndex } from './repository.js';
export type { RepoConfig } from './repo-config.js';
export { Repository } from './repository.js';
export { copyPack, copyRecord, objectNames, openCopy, openOwnKeyCopy, resealPacks } from './copy-objects.js';
export type { ReadBuffer } from '../backend/backend.js';
export { encodeTree, type NodeType, type Tree, type TreeNode } from './tree.js';
export { supersedeBlobs } from './index-rewrite.js';
export { checkPack, type PackDamage } from './pack-check.js';
export { rebuildIndex, type IndexRebuild } from './index-rebuild.js';
export { undeleteObjects, type UndeleteReport } from './undelete.js';
export type { RetentionReport } from './object-retention.js';
