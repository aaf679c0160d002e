import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { sshKeyPair } from '../../testing/ssh-key-pair.js';
import { checkHostKey, fingerprint, globMatch, hashedHostField, hostKeyAlgorithms, hostsMatch, parseKnownHosts } from './known-hosts.js';

/** A public key line's parts (type, base64 blob) and its wire-format blob. */
function newKey(type: 'ed25519' | 'ecdsa' | 'rsa'): { line: string; blob: Buffer } {
  const [kind, b64] = sshKeyPair(type).public.split(' ');
  return { line: `${kind} ${b64}`, blob: Buffer.from(b64!, 'base64') };
}

const ed = newKey('ed25519');
const ec = newKey('ecdsa');
const rsa = newKey('rsa');
const other = newKey('ed25519');

describe('known_hosts', () => {
  it('globs: * any run, ? one character, anchored at both ends', () => {
    assert.ok(globMatch('backup.example.com', '*.example.com'));
    assert.ok(globMatch('[10.0.0.5]:2222', '[10.0.0.?]:2222'));
    assert.ok(!globMatch('[10.0.0.15]:2222', '[10.0.0.?]:2222'));
    assert.ok(globMatch('anything', '*'));
    assert.ok(!globMatch('example.com.evil', '*.example.com'));
    assert.ok(globMatch('a.b.c', 'a*c'));
    assert.ok(!globMatch('ab', 'a?b'));
  });

  it('matches plain hosts on port 22 and [host]:port on others, case-insensitively', () => {
    assert.ok(hostsMatch('backup.example.com', 'Backup.Example.COM', 22));
    assert.ok(!hostsMatch('backup.example.com', 'backup.example.com', 2222), 'a plain name is port 22 only');
    assert.ok(hostsMatch('[backup.example.com]:2222', 'backup.example.com', 2222));
    assert.ok(!hostsMatch('[backup.example.com]:2222', 'backup.example.com', 22));
    assert.ok(hostsMatch('[127.0.0.1]:2222,other', '127.0.0.1', 2222), 'comma lists');
    assert.ok(hostsMatch('other,127.0.0.1', '127.0.0.1', 22));
    assert.ok(hostsMatch('[::1]:2222', '::1', 2222), 'IPv6 in brackets');
  });

  it('a negated pattern vetoes a positive match, and alone matches nothing', () => {
    assert.ok(hostsMatch('*.example.com,!evil.example.com', 'good.example.com', 22));
    assert.ok(!hostsMatch('*.example.com,!evil.example.com', 'evil.example.com', 22));
    assert.ok(!hostsMatch('!evil.example.com', 'good.example.com', 22));
  });

  it('hashed entries match by HMAC-SHA1 of the host as ssh writes it, port included', () => {
    const salt = createHash('sha1').update('salt').digest();
    assert.ok(hostsMatch(hashedHostField('backup.example.com', 22, salt), 'backup.example.com', 22));
    assert.ok(hostsMatch(hashedHostField('127.0.0.1', 2222, salt), '127.0.0.1', 2222));
    assert.ok(!hostsMatch(hashedHostField('127.0.0.1', 2222, salt), '127.0.0.1', 22));
    assert.ok(!hostsMatch(hashedHostField('127.0.0.1', 22, salt), '127.0.0.2', 22));
    assert.ok(!hostsMatch('|1|bm90IGJhc2U2NA|', '127.0.0.1', 22), 'a damaged hashed entry matches nothing');
  });

  it('entries hashed by ssh-keygen -H match, and the fingerprint is the one ssh-keygen -l prints (fixed vectors)', () => {
    const blob = 'AAAAC3NzaC1lZDI1NTE5AAAAIO5uXXKftaXcU90CVtyYFOBAmOxuQjjn4zcy70NCkdeY';
    const text = [
      `|1|Xd25pcTybDyRUrlSw5Bi1E7qBJ0=|0j8ZvIrwVuykKBX5H2EDq6nUaOQ= ssh-ed25519 ${blob}`, // localhost
      `|1|A+TRD4NYgvGWM6Qiz/PTFKtj+2A=|PyIN/X3JZjtVsMb30Vr24ydjAGw= ssh-ed25519 ${blob}`, // [127.0.0.1]:2222
    ].join('\n');
    const entries = parseKnownHosts(text, 'kh');
    const key = Buffer.from(blob, 'base64');
    assert.equal(checkHostKey(entries, 'localhost', 22, key).result, 'known');
    assert.equal(checkHostKey(entries, '127.0.0.1', 2222, key).result, 'known');
    assert.equal(checkHostKey(entries, '127.0.0.1', 22, key).result, 'unknown');
    assert.equal(checkHostKey(entries, 'localhost', 2222, key).result, 'unknown');
    assert.equal(fingerprint(key), 'SHA256:PuOp9bPzPbngr7WUU2OXN+rlkM+XaY2PSmmuMGfohq0');
  });

  it('parses ed25519, ecdsa and rsa lines, skips comments, damaged lines and @cert-authority', () => {
    const text = [
      '# a comment',
      '',
      `host-a ${ed.line} comment with spaces`,
      `[host-b]:2222 ${ec.line}`,
      `host-c ${rsa.line}`,
      `host-d ssh-ed25519 !!notbase64`,
      `host-e ssh-rsa ${ed.line.split(' ')[1]}`, // blob names another type
      `@cert-authority *.example.com ${ed.line}`,
      `@revoked * ${other.line}`,
    ].join('\n');
    const entries = parseKnownHosts(text, 'kh');
    assert.deepEqual(
      entries.map((e) => [e.hosts, e.keyType, e.marker, e.source]),
      [
        ['host-a', 'ssh-ed25519', undefined, 'kh:3'],
        ['[host-b]:2222', 'ecdsa-sha2-nistp256', undefined, 'kh:4'],
        ['host-c', 'ssh-rsa', undefined, 'kh:5'],
        ['*', 'ssh-ed25519', 'revoked', 'kh:9'],
      ],
    );
    assert.ok(entries[0]!.key.equals(ed.blob));
  });

  it('verdicts: known, unknown, mismatch with the expected keys, revoked even when also listed', () => {
    const entries = parseKnownHosts(
      [`[127.0.0.1]:2222 ${ed.line}`, `[127.0.0.1]:2222 ${rsa.line}`, `@revoked * ${other.line}`, `127.0.0.1 ${other.line}`].join('\n'),
      'kh',
    );
    assert.equal(checkHostKey(entries, '127.0.0.1', 2222, ed.blob).result, 'known');
    assert.equal(checkHostKey(entries, '127.0.0.1', 2222, rsa.blob).result, 'known');
    const mismatch = checkHostKey(entries, '127.0.0.1', 2222, ec.blob);
    assert.equal(mismatch.result, 'mismatch');
    assert.deepEqual(mismatch.result === 'mismatch' && mismatch.expected.map((e) => e.keyType), ['ssh-ed25519', 'ssh-rsa']);
    assert.equal(checkHostKey(entries, '127.0.0.2', 2222, ed.blob).result, 'unknown', 'a host with no entry');
    assert.equal(checkHostKey(entries, '127.0.0.1', 22, other.blob).result, 'revoked', 'listed for the host, but revoked for all');
    assert.equal(checkHostKey(entries, '10.1.1.1', 22, other.blob).result, 'revoked');
  });

  it('fingerprints as OpenSSH prints them', () => {
    const fp = fingerprint(ed.blob);
    assert.match(fp, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(fp, `SHA256:${createHash('sha256').update(ed.blob).digest('base64').replace(/=+$/, '')}`);
  });

  it('asks for the host key types known_hosts holds for the host first', () => {
    const entries = parseKnownHosts(`h ${rsa.line}\n@revoked h ${ed.line}`, 'kh');
    assert.deepEqual(hostKeyAlgorithms(entries).slice(0, 3), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    assert.equal(hostKeyAlgorithms([])[0], 'ssh-ed25519');
    assert.equal(hostKeyAlgorithms(parseKnownHosts(`h ${ec.line}`, 'kh'))[0], 'ecdsa-sha2-nistp256');
  });
});
