import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hostKey, hostTag, hostTagOf } from './host-tag.js';
import { LocalBackend } from './local-backend.js';

const root = mkdtempSync(join(tmpdir(), 'prism-host-tag-'));
after(() => rmSync(root, { recursive: true, force: true }));
const MACHINE_ID = '0123456789abcdef0123456789abcdef';
const sha256Tag = (host: string) => createHash('sha256').update(host).digest('hex').slice(0, 8);

describe('the host tag of temporary names', () => {
  it('is keyed: the same for one key and host name, another for another host name or key, and not the hash of the host name', () => {
    const key = Buffer.from(MACHINE_ID);
    assert.match(hostTagOf(key, 'db-prod-01'), /^[0-9a-f]{8}$/);
    assert.equal(hostTagOf(key, 'db-prod-01'), hostTagOf(Buffer.from(MACHINE_ID), 'db-prod-01'));
    assert.notEqual(hostTagOf(key, 'db-prod-01'), hostTagOf(key, 'db-prod-02'));
    assert.notEqual(hostTagOf(key, 'db-prod-01'), hostTagOf(Buffer.from('fedcba9876543210fedcba9876543210'), 'db-prod-01'));
    assert.notEqual(hostTagOf(key, 'db-prod-01'), sha256Tag('db-prod-01'));
  });

  it('the key: the machine id, else a key file made once in the state directory, else the boot id', () => {
    const dir = mkdtempSync(join(root, 'k-'));
    const machineId = join(dir, 'machine-id');
    writeFileSync(machineId, `${MACHINE_ID}\n`);
    const missing = join(dir, 'none');
    const state = join(dir, 'state', 'prism');
    assert.equal(hostKey({ machineIdFiles: [missing, machineId], stateDir: state }).toString(), MACHINE_ID);
    assert.throws(() => statSync(state), /ENOENT/, 'nothing is made while there is a machine id');

    // an empty or uninitialised machine id does not count
    writeFileSync(machineId, 'uninitialized\n');
    const made = hostKey({ machineIdFiles: [machineId], stateDir: state }).toString();
    assert.match(made, /^[0-9a-f]{64}$/);
    assert.equal(statSync(join(state, 'host-key')).mode & 0o777, 0o600);
    assert.equal(hostKey({ machineIdFiles: [missing], stateDir: state }).toString(), made, 'kept: the same key the next time');

    const bootId = join(dir, 'boot_id');
    writeFileSync(bootId, '4f3c2a10-1b2c-4d5e-8f90-a1b2c3d4e5f6\n');
    const nowhere = join(machineId, 'state'); // under a file: cannot be made
    assert.equal(hostKey({ machineIdFiles: [missing], stateDir: nowhere, bootIdFile: bootId }).toString(), '4f3c2a10-1b2c-4d5e-8f90-a1b2c3d4e5f6');
    assert.equal(hostKey({ machineIdFiles: [missing], stateDir: nowhere, bootIdFile: missing }).length, 0);
  });

  it('the names a backend writes carry the keyed tag of this host, not a hash of its name', () => {
    const dir = mkdtempSync(join(root, 'repo-'));
    const write = new LocalBackend(dir).openAtomic('data');
    write.write(Buffer.from('x'));
    const [name] = readdirSync(join(dir, 'data'));
    void write.abort();
    const tag = name!.split('-')[1]!;
    assert.equal(tag, hostTag());
    assert.equal(tag, hostTagOf(hostKey(), hostname()));
    assert.notEqual(tag, sha256Tag(hostname()));
  });
});
