/**
 * A fresh repository location on each real store of the tests (Ceph RGW, Azurite, sshd), with the
 * environment a prism process needs to reach it: for the CLI tests of every command on every
 * backend, the crash torture and the benchmark.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { rawS3Client, s3Env, s3Server } from './s3-server.js';
import { BlobServiceClient } from '@azure/storage-blob';
import type { Backend } from '../backend/backend.js';
import { closeConnections } from '../core/open-connections.js';
import { openBackend } from '../repo/open-backend.js';
import { testServers, uniqueName, uniqueSftpDir } from './test-servers.js';

export type RemoteKind = 's3' | 'azure' | 'sftp';
export const REMOTE_KINDS: readonly RemoteKind[] = ['s3', 'azure', 'sftp'];

export interface RemoteRepo {
  kind: RemoteKind;
  /** The repository location as a user writes it (PRISM_BACKUP_PATH). */
  location: string;
  /** What a prism process needs in its environment to reach the store (credentials, known_hosts). */
  env: Record<string, string>;
  /** The repository's objects as stored (sealed, if encrypted), for tests that change them behind prism's back. */
  raw(): Promise<Backend>;
  /** Removes the bucket, container or folder. */
  cleanup(): Promise<void>;
}

/** Empties and removes a bucket of the tests. */
export async function removeBucket(client: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) break;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

export async function remoteRepo(kind: RemoteKind, label: string): Promise<RemoteRepo> {
  const servers = testServers();
  let location: string;
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  if (kind === 's3') {
    const bucket = uniqueName(label);
    const client = rawS3Client(s3Server());
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    location = `s3:${servers.s3.endpoint}/${bucket}/repo`;
    env = s3Env(s3Server()) as Record<string, string>;
    cleanup = async () => {
      await removeBucket(client, bucket).catch(() => undefined);
      client.destroy();
    };
  } else if (kind === 'azure') {
    const container = uniqueName(label);
    const service = BlobServiceClient.fromConnectionString(servers.azure.connectionString);
    await service.getContainerClient(container).create();
    location = `azure:${container}:/repo`;
    env = { AZURE_STORAGE_CONNECTION_STRING: servers.azure.connectionString };
    cleanup = async () => {
      await service
        .getContainerClient(container)
        .delete()
        .catch(() => undefined);
    };
  } else {
    const dir = uniqueSftpDir(label, servers);
    location = `sftp://${servers.sftp.user}@${servers.sftp.host}:${servers.sftp.port}${dir}`;
    env = { PRISM_SFTP_KEY: servers.sftp.keyFile, PRISM_SFTP_KNOWN_HOSTS: servers.sftp.knownHostsFile };
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  }
  // the metadata cache of this repository: the test's own, removed with it
  const cacheDir = mkdtempSync(join(tmpdir(), 'prism-cache-'));
  env.PRISM_CACHE_DIR = cacheDir;
  const close = async (): Promise<void> => {
    await closeConnections(); // the raw backend's connection (an SSH session) would keep the test process alive
    await cleanup();
    rmSync(cacheDir, { recursive: true, force: true });
  };
  return { kind, location, env, raw: () => openBackend(location, { ...process.env, ...env }), cleanup: close };
}
