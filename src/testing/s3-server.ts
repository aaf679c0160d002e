/**
 * The S3 server of the tests (Ceph RGW on loopback, started by scripts/servers/ceph-rgw.sh, not
 * by the tests), read from the servers' description file, and what the S3 tests do with it:
 * a bucket per test, the SDK's own client to read behind the backend's back, cleanup.
 */
import { randomBytes } from 'node:crypto';
import { testServers } from './test-servers.js';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

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

  async create(): Promise<string> {
    const bucket = uniqueBucketName();
    await this.client.send(new CreateBucketCommand({ Bucket: bucket }));
    this.made.push(bucket);
    return bucket;
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
      const keys = await this.keys(bucket);
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map(({ key }) => this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))));
      }
      await this.client.send(new DeleteBucketCommand({ Bucket: bucket }));
    }
    this.client.destroy();
  }
}
