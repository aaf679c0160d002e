import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPrismError } from '../../errors/index.js';
import { credentialSource, instanceMetadataAllowed, looksLikeEc2 } from './credential-source.js';
import { readS3Options, type S3Location } from './s3-options.js';
import { Slabs, uploadBody } from './s3-body.js';

const minio: S3Location = { kind: 's3', endpoint: 'http://127.0.0.1:9000', bucket: 'backups', prefix: 'host-a' };
const aws: S3Location = { kind: 's3', endpoint: undefined, bucket: 'backups', prefix: '' };

const configInvalid = (...words: RegExp[]) => {
  return (e: unknown): boolean => {
    assert.ok(isPrismError(e) && e.code === 'CONFIG_INVALID', String(e));
    for (const w of words) assert.match(e.message, w);
    return true;
  };
};

describe('S3 options from the environment', () => {
  it('path style: on for an endpoint of its own, off for AWS, PRISM_S3_PATH_STYLE decides when set', () => {
    assert.equal(readS3Options(minio, {}).forcePathStyle, true);
    assert.equal(readS3Options(aws, {}).forcePathStyle, false);
    assert.equal(readS3Options(minio, { PRISM_S3_PATH_STYLE: 'false' }).forcePathStyle, false);
    assert.equal(readS3Options(aws, { PRISM_S3_PATH_STYLE: 'TRUE' }).forcePathStyle, true);
    assert.throws(() => readS3Options(aws, { PRISM_S3_PATH_STYLE: 'yes' }), configInvalid(/PRISM_S3_PATH_STYLE=yes/, /true/));
  });

  it('region from AWS_REGION, then AWS_DEFAULT_REGION, else us-east-1', () => {
    assert.equal(readS3Options(aws, {}).region, 'us-east-1');
    assert.equal(readS3Options(aws, { AWS_DEFAULT_REGION: 'eu-west-3' }).region, 'eu-west-3');
    assert.equal(readS3Options(aws, { AWS_DEFAULT_REGION: 'eu-west-3', AWS_REGION: 'ap-south-1' }).region, 'ap-south-1');
  });

  it('the pack storage class; archive classes that need a restore before a read are refused', () => {
    assert.equal(readS3Options(aws, {}).packStorageClass, undefined);
    assert.equal(readS3Options(aws, { PRISM_S3_STORAGE_CLASS: ' standard_ia ' }).packStorageClass, 'STANDARD_IA');
    assert.throws(() => readS3Options(aws, { PRISM_S3_STORAGE_CLASS: 'DEEP_ARCHIVE' }), configInvalid(/restored before each read/, /GLACIER_IR/));
    assert.throws(() => readS3Options(aws, { PRISM_S3_STORAGE_CLASS: 'cold storage' }), configInvalid(/PRISM_S3_STORAGE_CLASS/));
  });

  it('PRISM_STORE_STALL_SECONDS: 60 s unless set; a non-number or 0 is refused', () => {
    assert.equal(readS3Options(aws, {}).stallMs, 60_000);
    assert.equal(readS3Options(aws, { PRISM_STORE_STALL_SECONDS: '2.5' }).stallMs, 2500);
    assert.throws(() => readS3Options(aws, { PRISM_STORE_STALL_SECONDS: '0' }), configInvalid(/PRISM_STORE_STALL_SECONDS=0/));
    assert.throws(() => readS3Options(aws, { PRISM_STORE_STALL_SECONDS: 'a minute' }), configInvalid(/seconds/));
  });
});

describe('S3 credentials: where they come from', () => {
  const notEc2 = (): undefined => undefined;
  const nitro = (f: string): string | undefined => (f.endsWith('sys_vendor') ? 'Amazon EC2\n' : undefined);
  const xen = (f: string): string | undefined => (f === '/sys/hypervisor/uuid' ? 'ec2e1916-9099-7caf-fd21-012345abcdef\n' : undefined);

  it('static keys from the environment stop the chain (with a session token when given)', () => {
    assert.deepEqual(credentialSource({ AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't', AWS_PROFILE: 'p' }, nitro), {
      kind: 'static',
      accessKeyId: 'AKID',
      secretAccessKey: 's',
      sessionToken: 't',
    });
  });

  it('without keys, the profile chain; the instance metadata service only on an EC2 host or when asked for', () => {
    assert.deepEqual(credentialSource({ AWS_PROFILE: 'backup' }, notEc2), { kind: 'chain', profile: 'backup', instanceMetadata: false });
    assert.deepEqual(credentialSource({}, nitro), { kind: 'chain', profile: undefined, instanceMetadata: true });
    assert.equal(looksLikeEc2(xen), true);
    assert.equal(
      looksLikeEc2((f) => (f.endsWith('sys_vendor') ? 'QEMU\n' : undefined)),
      false,
    );
    assert.equal(instanceMetadataAllowed({ AWS_EC2_METADATA_DISABLED: 'true' }, nitro), false, 'disabled wins on EC2 too');
    assert.equal(instanceMetadataAllowed({ AWS_EC2_METADATA_DISABLED: 'false' }, notEc2), true, 'asked for explicitly');
    assert.equal(instanceMetadataAllowed({ AWS_EC2_METADATA_DISABLED: '1' }, nitro), false, 'as the SDK reads it: anything but false disables');
  });
});

describe('S3 upload bodies', () => {
  it('slabs keep the bytes of every write (copied), in order, without one concatenated buffer', () => {
    const slabs = new Slabs();
    const chunk = Buffer.alloc(300_000);
    const expected: Buffer[] = [];
    for (let i = 0; i < 10; i++) {
      chunk.fill(i);
      slabs.write(chunk);
      expected.push(Buffer.from(chunk));
    }
    assert.equal(slabs.bytes, 3_000_000);
    const parts = slabs.parts();
    assert.equal(parts.length, 3, '1 MiB slabs');
    assert.deepEqual(Buffer.concat(parts), Buffer.concat(expected));
  });

  it('the SHA-256 and length cover every part; one part is sent as it is, several as a stream', async () => {
    const one = uploadBody(Buffer.from('abc'));
    assert.equal(one.sha256, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.ok(Buffer.isBuffer(one.body()));
    const many = uploadBody([Buffer.from('a'), new Uint8Array(0), Buffer.from('bc')]);
    assert.equal(many.sha256, one.sha256);
    assert.equal(many.length, 3);
    const chunks: Buffer[] = [];
    for await (const c of many.body() as AsyncIterable<Buffer>) chunks.push(c);
    assert.equal(Buffer.concat(chunks).toString(), 'abc');
    assert.equal(uploadBody([]).length, 0);
  });
});
