#!/usr/bin/env node
// bench/s3-bucket.mjs — the S3 chores of bench/remote.sh, untimed: create a bucket, sum the
// sizes of its objects (the repository bytes of a tool that keeps its repository there),
// delete a bucket with everything in it, and send a known number of requests (to check that
// the gateway counts them exactly).
//
//   node bench/s3-bucket.mjs create BUCKET
//   node bench/s3-bucket.mjs size BUCKET [PREFIX]     prints "<bytes>\t<objects>"
//   node bench/s3-bucket.mjs delete BUCKET
//   node bench/s3-bucket.mjs probe BUCKET N           N PutObject, then N HeadObject of missing
//                                                     objects (answered 404), nothing else
//
// Endpoint from S3_ENDPOINT, credentials and region from AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY / AWS_REGION. Path-style addressing (the gateway has no DNS names for
// buckets); checksums only when an operation requires them, as the gateway does not know the
// SDK's default CRC32 trailers.
import {
  S3Client,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';

const [cmd, bucket, arg] = process.argv.slice(2);
const endpoint = process.env.S3_ENDPOINT;
if (!cmd || !bucket || !endpoint) {
  console.error('usage: S3_ENDPOINT=http://host:port node bench/s3-bucket.mjs create|size|delete|probe BUCKET [PREFIX|N]');
  process.exit(2);
}
const s3 = new S3Client({
  endpoint,
  region: process.env.AWS_REGION ?? 'us-east-1',
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});

async function* objects(prefix) {
  let token;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    yield* page.Contents ?? [];
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

switch (cmd) {
  case 'create':
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    break;
  case 'size': {
    let bytes = 0,
      n = 0;
    for await (const o of objects(arg || undefined)) {
      bytes += o.Size ?? 0;
      n++;
    }
    console.log(`${bytes}\t${n}`);
    break;
  }
  case 'delete': {
    let batch = [];
    const flush = async () => {
      if (batch.length) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }));
      batch = [];
    };
    for await (const o of objects()) {
      batch.push({ Key: o.Key });
      if (batch.length === 1000) await flush();
    }
    await flush();
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    break;
  }
  case 'probe': {
    const n = Number(arg);
    if (!Number.isInteger(n) || n < 1) throw new Error(`probe: N must be a positive integer, got '${arg}'`);
    for (let i = 0; i < n; i++) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `count-check/${i}`, Body: `object ${i}\n` }));
    for (let i = 0; i < n; i++) {
      const missing = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `count-check/missing-${i}` })).then(
        () => false,
        (e) => e?.$metadata?.httpStatusCode === 404,
      );
      if (!missing) throw new Error(`probe: count-check/missing-${i} was not answered 404`);
    }
    break;
  }
  default:
    console.error(`s3-bucket.mjs: unknown command '${cmd}' (create, size, delete, probe)`);
    process.exit(2);
}
s3.destroy();
