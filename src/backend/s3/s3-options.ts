import { stallMilliseconds } from '../stall-setting.js';
import { PrismError } from '../../errors/index.js';
import type { ObjectLock } from '../backend.js';
import type { Location } from '../location.js';

export type S3Location = Extract<Location, { kind: 's3' }>;

/** What the S3 client and backend are built from: the location and the environment, read once. */
export interface S3Options {
  endpoint: string | undefined;
  bucket: string;
  prefix: string;
  region: string;
  forcePathStyle: boolean;
  /** The storage class of packs (`data/`); undefined: the bucket's default (STANDARD). */
  packStorageClass: string | undefined;
  /** A request that makes no progress for this long is aborted (and reported as transient). */
  stallMs: number;
  /** The retention every object but the locks is written with (backup.object_lock); undefined: none. */
  objectLock: ObjectLock | undefined;
}

/** Classes whose objects cannot be read without a restore request first: packs must be readable at once. */
const ARCHIVE_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

function invalid(variable: string, value: string, why: string): PrismError {
  return new PrismError('CONFIG_INVALID', `${variable}=${value} is not understood: ${why}.`, { variable, value });
}

function pathStyleFrom(env: NodeJS.ProcessEnv, endpoint: string | undefined): boolean {
  const raw = env.PRISM_S3_PATH_STYLE;
  // an endpoint of its own is MinIO, Ceph RGW, Garage…: they serve buckets as paths unless set
  // up with wildcard DNS; AWS itself wants virtual-hosted names (path style is deprecated there)
  if (raw === undefined || raw.trim() === '') return endpoint !== undefined;
  const v = raw.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw invalid('PRISM_S3_PATH_STYLE', raw, 'write true (https://host/bucket/key) or false (https://bucket.host/key)');
}

function storageClassFrom(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.PRISM_S3_STORAGE_CLASS;
  if (raw === undefined || raw.trim() === '') return undefined;
  const v = raw.trim().toUpperCase();
  if (!/^[A-Z0-9_]+$/.test(v)) throw invalid('PRISM_S3_STORAGE_CLASS', raw, 'write a storage class name such as STANDARD_IA');
  if (ARCHIVE_CLASSES.has(v)) {
    throw invalid(
      'PRISM_S3_STORAGE_CLASS',
      raw,
      `objects in ${v} must be restored before each read, and prism reads packs to restore, check and prune: use GLACIER_IR or STANDARD_IA`,
    );
  }
  return v;
}

export function readS3Options(loc: S3Location, env: NodeJS.ProcessEnv, objectLock?: ObjectLock): S3Options {
  return {
    objectLock,
    endpoint: loc.endpoint,
    bucket: loc.bucket,
    prefix: loc.prefix,
    region: env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || 'us-east-1',
    forcePathStyle: pathStyleFrom(env, loc.endpoint),
    packStorageClass: storageClassFrom(env),
    stallMs: stallMilliseconds(env),
  };
}
