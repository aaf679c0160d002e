/**
 * The S3 client as prism uses it, and the SDK commands: this module loads the AWS SDK (some
 * 200 ms), so the backend imports it on its first call only, never for a local repository.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { credentialSource } from './credential-source.js';
import { credentialProvider } from './s3-credentials.js';
import type { S3Options } from './s3-options.js';
import { COUNT_REQUESTS, countRequests, type RequestCounter } from './request-counter.js';

export {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  DeleteObjectCommand,
  S3Client,
  ListObjectVersionsCommand,
  PutObjectRetentionCommand,
  GetObjectRetentionCommand,
  GetObjectLockConfigurationCommand,
} from '@aws-sdk/client-s3';

/** Sockets per store: enough for prism's upload and read threads, few enough not to hit a store's per-client limits. */
const MAX_SOCKETS = 16;

/** The SDK logs some failures with console.warn unless given a logger: prism reports them as StoreErrors instead. */
const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

export function createS3Client(opts: S3Options, env: NodeJS.ProcessEnv, counter: RequestCounter): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: MAX_SOCKETS };
  const client = new S3Client({
    region: opts.region,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    forcePathStyle: opts.forcePathStyle,
    credentials: credentialProvider(credentialSource(env), env),
    // RetryingBackend retries every store the same way; the SDK's own retries would multiply them
    maxAttempts: 1,
    // no CRC trailers (aws-chunked bodies): Ceph RGW answers 411 to them, older MinIO and others
    // refuse them; the payload's SHA-256 is signed instead (s3-body.ts), which every store checks
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // `auto` may ask the instance metadata service for the region; legacy asks nothing
    defaultsMode: 'legacy',
    // a round trip per upload to learn what an error answer would say anyway (and the SDK opens a
    // connection without keep-alive for each such request)
    expectContinueHeader: false,
    logger: silent,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: opts.stallMs,
      // the socket's idle time: a request (or a body being read) that moves no byte for stallMs
      // fails; the handler's requestTimeout would bound a whole 16 MiB transfer instead
      socketTimeout: opts.stallMs,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
      logger: silent, // its warning of queued requests: prism queues them on purpose (MAX_SOCKETS)
    }),
  });
  client.middlewareStack.add(countRequests(counter) as never, COUNT_REQUESTS);
  return client;
}
