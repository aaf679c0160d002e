/**
 * The S3 server of the tests (Ceph RGW on loopback, started by scripts/servers/ceph-rgw.sh, not
 * by the tests), read from the servers' description file, and what the S3 tests do with it:
 * a bucket per test, the SDK's own client to read behind the backend's back, cleanup.
 */
import { randomBytes } from 'node:crypto';
import { testServers } from './test-servers.js';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { setTimeout as sleep } from 'node:timers/promises';

// The tests never ask the EC2 instance metadata service, whatever a test's env leaves out, and
// the SDK's warning about Node 20 would be printed once per test file.
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export interface S3Server {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** The running RGW, or an error that says how to start it (the tests fail, never skip). */
export function s3Server(): S3Server {
  const { endpoint, region, accessKeyId, secretAccessKey } = testServers().s3;
  return { endpoint, region, accessKeyId, secretAccessKey };
}

/**
 * The append-only user of the test server (scripts/servers/ceph-rgw.sh): no rights of its own; a
 * bucket gets a policy that lets it read, list and add (allowAppendOnly).
 */
export function appendOnlyS3Server(): S3Server & { user: string } {
  const s3 = testServers().s3;
  if (!s3.appendOnly) throw new Error('the S3 test server describes no append-only user: run `node scripts/servers.mjs start s3`');
  return {
    endpoint: s3.endpoint,
    region: s3.region,
    accessKeyId: s3.appendOnly.accessKeyId,
    secretAccessKey: s3.appendOnly.secretAccessKey,
    user: s3.appendOnly.user,
  };
}

/**
 * The bucket policy of docs/repositories.md ("Append-only credentials"): the operator (the
 * bucket's owner) may do everything, also to objects the other user wrote; `appendOnlyUser` may
 * list, read and add, and delete under the repository's locks/ only (a lock left behind would
 * block the next run). `prefix`: the repository's prefix in the bucket.
 */
export function appendOnlyPolicy(bucket: string, operator: string, appendOnlyUser: string, prefix = ''): string {
  const user = (name: string): string => `arn:aws:iam:::user/${name}`;
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Operator',
        Effect: 'Allow',
        Principal: { AWS: [user(operator)] },
        Action: ['s3:*'],
        Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
      },
      {
        Sid: 'HostList',
        Effect: 'Allow',
        Principal: { AWS: [user(appendOnlyUser)] },
        Action: ['s3:ListBucket', 's3:ListBucketVersions', 's3:GetBucketLocation'],
        Resource: [`arn:aws:s3:::${bucket}`],
      },
      {
        Sid: 'HostReadAdd',
        Effect: 'Allow',
        Principal: { AWS: [user(appendOnlyUser)] },
        Action: ['s3:GetObject', 's3:PutObject', 's3:PutObjectRetention'],
        Resource: [`arn:aws:s3:::${bucket}/*`],
      },
      {
        // the retention dates prune keeps (object-retention.ts): a host never writes them
        Sid: 'HostNotRetentionState',
        Effect: 'Deny',
        Principal: { AWS: [user(appendOnlyUser)] },
        Action: ['s3:PutObject'],
        Resource: [`arn:aws:s3:::${bucket}/${prefix ? `${prefix}/` : ''}state/retention.json`],
      },
      {
        Sid: 'HostLocks',
        Effect: 'Allow',
        Principal: { AWS: [user(appendOnlyUser)] },
        Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
        Resource: [`arn:aws:s3:::${bucket}/${prefix ? `${prefix}/` : ''}locks/*`],
      },
    ],
  });
}

/** The environment a backend of the test server is opened with (static keys: the credential chain stops there). */
export function s3Env(server: S3Server, more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_REGION: server.region,
    AWS_EC2_METADATA_DISABLED: 'true',
    ...more,
  };
}

/** The SDK's own client, with no part of prism's backend: what the tests read behind its back with. */
export function rawS3Client(server: S3Server, more: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...more,
  });
}

export const uniqueBucketName = (): string => `prism-t-${randomBytes(6).toString('hex')}`;

/** Buckets made for tests, emptied and removed by `cleanup` (the test server keeps objects in memory). */
export class TestBuckets {
  private readonly made: string[] = [];
  readonly client: S3Client;

  constructor(readonly server: S3Server = s3Server()) {
    this.client = rawS3Client(server);
  }

  /** A new bucket; with `objectLock`, one with S3 Object Lock (and so with versions). */
  async create(opts: { objectLock?: boolean } = {}): Promise<string> {
    const bucket = uniqueBucketName();
    await this.client.send(new CreateBucketCommand({ Bucket: bucket, ...(opts.objectLock ? { ObjectLockEnabledForBucket: true } : {}) }));
    this.made.push(bucket);
    return bucket;
  }

  /** Lets the append-only user read, list and add (not delete, but locks) in `bucket` (appendOnlyPolicy). */
  async allowAppendOnly(bucket: string, appendOnlyUser: string, prefix = ''): Promise<void> {
    await this.client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: appendOnlyPolicy(bucket, this.server.accessKeyId, appendOnlyUser, prefix) }));
  }

  /** Every version and delete marker in a bucket, newest first per key. */
  async versions(bucket: string, prefix = ''): Promise<{ key: string; versionId: string; latest: boolean; deleteMarker: boolean }[]> {
    const out: { key: string; versionId: string; latest: boolean; deleteMarker: boolean }[] = [];
    let marker: { KeyMarker?: string; VersionIdMarker?: string } = {};
    for (;;) {
      const page = await this.client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, ...marker }));
      for (const v of page.Versions ?? []) out.push({ key: v.Key!, versionId: v.VersionId!, latest: v.IsLatest ?? false, deleteMarker: false });
      for (const d of page.DeleteMarkers ?? []) out.push({ key: d.Key!, versionId: d.VersionId!, latest: d.IsLatest ?? false, deleteMarker: true });
      if (!page.IsTruncated) break;
      marker = { KeyMarker: page.NextKeyMarker, VersionIdMarker: page.NextVersionIdMarker };
    }
    return out;
  }

  /** Every key in a bucket, with sizes. */
  async keys(bucket: string): Promise<{ key: string; size: number; storageClass: string | undefined }[]> {
    const out: { key: string; size: number; storageClass: string | undefined }[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0, storageClass: o.StorageClass });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async cleanup(): Promise<void> {
    for (const bucket of this.made.splice(0)) {
      // every version (a bucket with Object Lock keeps them): governance retention is bypassed, a
      // compliance one (tests keep it for seconds) is waited out
      const versions = await this.versions(bucket);
      for (let i = 0; i < versions.length; i += 50) {
        await Promise.all(versions.slice(i, i + 50).map((v) => this.deleteVersion(bucket, v.key, v.versionId)));
      }
      await this.client.send(new DeleteBucketCommand({ Bucket: bucket }));
    }
    this.client.destroy();
  }

  private async deleteVersion(bucket: string, key: string, versionId: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId, BypassGovernanceRetention: true }));
        return;
      } catch (e) {
        if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 403 || attempt >= 3) throw e;
        const head = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
        const wait = (head.ObjectLockRetainUntilDate?.getTime() ?? 0) - Date.now();
        if (wait > 120_000) throw e;
        await sleep(Math.max(0, wait) + 1000);
      }
    }
  }
}
