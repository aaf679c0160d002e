import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { sshKeyPair } from '../../testing/ssh-key-pair.js';
import type { Backend } from '../backend.js';
import { hostTag } from '../host-tag.js';
import { RetryingBackend } from '../retrying-backend.js';
import { FixedClock } from '../../core/clock.js';
import { FaultyBackend } from '../../testing/faulty-backend.js';
import { isStoreError, ObjectNotFoundError, StoreError } from '../store-error.js';
import { backendConformance } from '../../testing/backend-conformance.js';
import { freePort } from '../../testing/free-port.js';
import { testServers, uniqueName } from '../../testing/test-servers.js';
import { fingerprint, hashedHostField, parseKnownHosts, entriesFor } from './known-hosts.js';
import { openSftpBackend } from './index.js';
import { TcpProxy } from './test-proxy.js';

const ep = testServers().sftp;
const scratch = mkdtempSync(join(tmpdir(), 'prism-sftp-test-'));
/** A HOME without keys or known_hosts: every test says what it uses. */
const emptyHome = join(scratch, 'home');
mkdirSync(emptyHome);
/** The folder under the login's home holding every test's repository. */
const base = uniqueName('prism-sftp-backend');
let serial = 0;
const freshPath = (): string => `${base}/t${++serial}`;
const onServer = (...parts: string[]): string => join(ep.home, ...parts);

/** The server's own host keys (from the endpoint's known_hosts). */
const serverKeys = entriesFor(parseKnownHosts(readFileSync(ep.knownHostsFile, 'utf8'), ep.knownHostsFile), ep.host, ep.port);
assert.ok(serverKeys.length > 0, `${ep.knownHostsFile} lists no key for [${ep.host}]:${ep.port}`);
const serverFingerprints = serverKeys.map((e) => fingerprint(e.key));
const keyLines = (hostField: string): string => serverKeys.map((e) => `${hostField} ${e.keyType} ${e.key.toString('base64')}`).join('\n') + '\n';

const envFor = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  HOME: emptyHome,
  USER: 'nobody-in-particular',
  PRISM_SFTP_KEY: ep.keyFile,
  PRISM_SFTP_KNOWN_HOSTS: ep.knownHostsFile,
  PRISM_STORE_STALL_SECONDS: '10',
  ...extra,
});

const opened: Backend[] = [];
function sftp(opts: { path?: string; env?: NodeJS.ProcessEnv; port?: number; user?: string } = {}): Backend {
  const b = openSftpBackend(
    { kind: 'sftp', user: opts.user ?? ep.user, host: ep.host, port: opts.port ?? ep.port, path: opts.path ?? freshPath() },
    envFor(opts.env),
  );
  opened.push(b);
  return b;
}

function file(name: string, text: string, mode = 0o600): string {
  const p = join(scratch, name);
  writeFileSync(p, text, { mode });
  return p;
}

/** Asserts a StoreError of `kind` whose message matches every pattern; returns it. */
async function rejectsWith(p: Promise<unknown>, kind: StoreError['kind'], ...patterns: RegExp[]): Promise<StoreError> {
  let caught: unknown;
  await assert.rejects(p, (e: unknown) => {
    caught = e;
    return true;
  });
  assert.ok(isStoreError(caught, kind), `expected a ${kind} StoreError, got ${String(caught)} ${(caught as Error)?.stack ?? ''}`);
  for (const re of patterns) assert.match(caught.message, re);
  return caught;
}

after(async () => {
  for (const b of opened) await b.close?.();
  rmSync(onServer(base), { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

backendConformance('sftp', { make: async () => sftp() });

describe('sftp backend on the loopback sshd', () => {
  it('writes files 0600 in folders 0700, byte-exact as the server stores them', async () => {
    const path = freshPath();
    const b = sftp({ path });
    const a = randomBytes(300_000);
    const c = randomBytes(70_000);
    await b.put('snapshots/x.json', [a.subarray(0, 1000), a.subarray(1000)]);
    assert.equal(await b.putIfAbsent('locks/l.json', c), true);
    const w = b.openAtomic('data');
    w.write(a);
    w.write(c);
    await w.commit('data/ab/abcd');
    const check = (rel: string, want: Buffer): void => {
      const p = onServer(path, rel);
      assert.ok(readFileSync(p).equals(want), rel);
      assert.equal(statSync(p).mode & 0o777, 0o600, `${rel} mode`);
    };
    check('snapshots/x.json', a);
    check('locks/l.json', c);
    check('data/ab/abcd', Buffer.concat([a, c]));
    for (const dir of ['', 'snapshots', 'locks', 'data', 'data/ab'])
      assert.equal(statSync(onServer(path, dir)).mode & 0o777, 0o700, `folder ${dir || '(root)'}`);
    for (const dir of ['snapshots', 'locks', 'data/ab'])
      assert.deepEqual(
        readdirSync(onServer(path, dir)).filter((n) => n.startsWith('.tmp-')),
        [],
        `no temp left in ${dir}`,
      );
  });

  it('takes an absolute path as well as one relative to the home', async () => {
    const path = freshPath();
    const b = sftp({ path: onServer(path) });
    await b.put('config.json', Buffer.from('{}'));
    assert.equal(readFileSync(onServer(path, 'config.json'), 'utf8'), '{}');
    assert.deepEqual(await sftp({ path }).list(''), [{ name: 'config.json', size: 2 }]);
    // no user in the location: USER's
    const b2 = openSftpBackend({ kind: 'sftp', user: undefined, host: ep.host, port: ep.port, path }, envFor({ USER: ep.user }));
    opened.push(b2);
    assert.equal(b2.location, `sftp://${ep.user}@${ep.host}:${ep.port}/~/${path}`);
    assert.deepEqual(await b2.get('config.json'), Buffer.from('{}'));
  });

  it('putIfAbsent onto an existing object is false; an answer lost after the link is recognised by the retry layer', async () => {
    const b = sftp();
    const body = Buffer.from('{"pid":1}');
    assert.equal(await b.putIfAbsent('locks/backup.json', body), true);
    assert.equal(await b.putIfAbsent('locks/backup.json', body), false, 'link(2) semantics: the name exists');
    assert.equal(await b.putIfAbsent('locks/backup.json', Buffer.from('{"pid":2}')), false);
    assert.deepEqual(await b.get('locks/backup.json'), body);
    // the link made, the reply lost: the next try finds our own bytes there
    const lost = new RetryingBackend(new FaultyBackend(b, [{ op: 'putIfAbsent', fault: { kind: 'lost-answer' } }]), new FixedClock(new Date()));
    assert.equal(await lost.putIfAbsent('locks/exclusive.json', body), true);
    assert.deepEqual(await b.get('locks/exclusive.json'), body);
  });

  it('a folder the login may not write: permanent, naming permission', async () => {
    const path = freshPath();
    mkdirSync(onServer(path), { recursive: true, mode: 0o755 }); // root's, not the login's
    chmodSync(onServer(path), 0o755);
    const b = sftp({ path: `${path}/repo` });
    await rejectsWith(b.put('config.json', Buffer.from('{}')), 'permanent', /permission denied/i);
  });

  it('an unknown host key is refused with its fingerprint and the ssh-keyscan line to add it', async () => {
    const kh = file('kh-unknown', `[${ep.host}]:${ep.port + 1} ${serverKeys[0]!.keyType} ${serverKeys[0]!.key.toString('base64')}\n`);
    const e = await rejectsWith(
      sftp({ env: { PRISM_SFTP_KNOWN_HOSTS: kh } }).list(''),
      'permanent',
      new RegExp(`host key of ${ep.host}:${ep.port} is not in ${kh}`),
      /ssh-keyscan -p/,
    );
    assert.ok(
      serverFingerprints.some((fp) => e.message.includes(`fingerprint is ${fp}`)),
      `${e.message} names none of ${serverFingerprints.join(', ')}`,
    );
    // a missing known_hosts file named explicitly is an error too (never trust on first use)
    await rejectsWith(sftp({ env: { PRISM_SFTP_KNOWN_HOSTS: join(scratch, 'none') } }).list(''), 'permanent', /known_hosts file/);
    // with no PRISM_SFTP_KNOWN_HOSTS and an empty ~/.ssh: unknown as well, naming ~/.ssh/known_hosts
    await rejectsWith(sftp({ env: { PRISM_SFTP_KNOWN_HOSTS: '' } }).list(''), 'permanent', new RegExp(`not in ${emptyHome}/\\.ssh/known_hosts`));
  });

  it('a mismatched host key is refused as a possible man-in-the-middle, with both fingerprints', async () => {
    const other = sshKeyPair('ed25519').public.split(' ');
    const kh = file('kh-mismatch', `[${ep.host}]:${ep.port} ${other[0]} ${other[1]}\n`);
    const e = await rejectsWith(sftp({ env: { PRISM_SFTP_KNOWN_HOSTS: kh } }).list(''), 'permanent', /possible man-in-the-middle/, /ssh-keygen -R/);
    assert.ok(e.message.includes(fingerprint(Buffer.from(other[1]!, 'base64'))), `expected fingerprint missing: ${e.message}`);
    assert.ok(
      serverFingerprints.some((fp) => e.message.includes(`offered ssh-ed25519 ${fp}`) || e.message.includes(fp)),
      `offered fingerprint missing: ${e.message}`,
    );
  });

  it('hashed known_hosts entries are accepted; a key marked @revoked is refused', async () => {
    const salt = randomBytes(20);
    const hashed = file('kh-hashed', keyLines(hashedHostField(ep.host, ep.port, salt)));
    const b = sftp({ env: { PRISM_SFTP_KNOWN_HOSTS: hashed } });
    await b.put('state/ok', Buffer.from('ok'));
    assert.deepEqual(await b.get('state/ok'), Buffer.from('ok'));
    const revoked = file('kh-revoked', keyLines(`[${ep.host}]:${ep.port}`) + keyLines('@revoked *'));
    await rejectsWith(sftp({ env: { PRISM_SFTP_KNOWN_HOSTS: revoked } }).list(''), 'permanent', /@revoked/);
  });

  it('a key the server does not accept: permanent, naming PRISM_SFTP_KEY and the ssh-agent', async () => {
    const stranger = file('stranger-key', sshKeyPair('ed25519').private);
    await rejectsWith(sftp({ env: { PRISM_SFTP_KEY: stranger } }).list(''), 'permanent', /did not accept the key/, /PRISM_SFTP_KEY/, /ssh-agent/);
    await rejectsWith(sftp({ env: { PRISM_SFTP_KEY: join(scratch, 'no-such-key') } }).list(''), 'permanent', /cannot read the SSH key/);
    await rejectsWith(sftp({ user: 'prism-no-such-user' }).list(''), 'permanent', /did not accept/);
  });

  it('a passphrase-protected key: refused without PRISM_SFTP_KEY_PASSPHRASE, used with it', async () => {
    const locked = join(scratch, 'locked-key');
    copyFileSync(ep.keyFile, locked);
    chmodSync(locked, 0o600);
    execFileSync('ssh-keygen', ['-q', '-p', '-a', '4', '-f', locked, '-P', '', '-N', 'correct horse']); // few KDF rounds: a fast test
    await rejectsWith(sftp({ env: { PRISM_SFTP_KEY: locked } }).list(''), 'permanent', /PRISM_SFTP_KEY_PASSPHRASE/);
    await rejectsWith(sftp({ env: { PRISM_SFTP_KEY: locked, PRISM_SFTP_KEY_PASSPHRASE: 'wrong' } }).list(''), 'permanent', /check the passphrase/);
    assert.deepEqual(await sftp({ env: { PRISM_SFTP_KEY: locked, PRISM_SFTP_KEY_PASSPHRASE: 'correct horse' } }).list(''), []);
  });

  it('without PRISM_SFTP_KEY: the ssh-agent at SSH_AUTH_SOCK, else ~/.ssh/id_*', async () => {
    const home = join(scratch, 'home-with-key');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    const type = ssh2.utils.parseKey(readFileSync(ep.keyFile)) as ssh2.ParsedKey;
    const name = type.type === 'ssh-ed25519' ? 'id_ed25519' : type.type.startsWith('ecdsa') ? 'id_ecdsa' : 'id_rsa';
    copyFileSync(ep.keyFile, join(home, '.ssh', name));
    chmodSync(join(home, '.ssh', name), 0o600);
    assert.deepEqual(await sftp({ env: { PRISM_SFTP_KEY: '', HOME: home } }).list(''), [], `~/.ssh/${name}`);
    await rejectsWith(sftp({ env: { PRISM_SFTP_KEY: '' } }).list(''), 'permanent', /no SSH key to log in with/);

    const sock = join(scratch, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSock(sock); i++) await new Promise((r) => setTimeout(r, 50));
      const agentEnv = { ...process.env, SSH_AUTH_SOCK: sock };
      await rejectsWith(sftp({ env: { PRISM_SFTP_KEY: '', SSH_AUTH_SOCK: sock } }).list(''), 'permanent', /ssh-agent/);
      execFileSync('ssh-add', ['-q', ep.keyFile], { env: agentEnv, stdio: 'ignore' });
      assert.deepEqual(await sftp({ env: { PRISM_SFTP_KEY: '', SSH_AUTH_SOCK: sock } }).list(''), [], 'the agent key');
    } finally {
      agent.kill();
    }
  });

  it('a closed port is transient', async () => {
    const port = await freePort();
    await rejectsWith(sftp({ port }).list(''), 'transient', new RegExp(`127\\.0\\.0\\.1:${port}`));
  });

  it('a server that accepts and never speaks is transient within the stall timeout; one that hangs up at once too', async () => {
    const held: Socket[] = [];
    const silent = createServer((s) => held.push(s));
    const rude = createServer((s) => s.destroy());
    await Promise.all([silent, rude].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
    try {
      const t0 = Date.now();
      const port = (silent.address() as { port: number }).port;
      await rejectsWith(sftp({ port, env: { PRISM_STORE_STALL_SECONDS: '1' } }).list(''), 'transient', /within 1 s/);
      const took = Date.now() - t0;
      assert.ok(took < 4000, `took ${took} ms`);
      await rejectsWith(sftp({ port: (rude.address() as { port: number }).port }).list(''), 'transient');
    } finally {
      for (const s of held) s.destroy();
      silent.close();
      rude.close();
    }
  });

  it('a connection cut mid-upload: transient, no object, a temp file removeUnfinished removes; the next call reconnects', async () => {
    const proxy = await TcpProxy.start(ep.host, ep.port);
    try {
      const kh = file('kh-proxy', keyLines(`[${ep.host}]:${proxy.port}`));
      const path = freshPath();
      const b = sftp({ path, port: proxy.port, env: { PRISM_SFTP_KNOWN_HOSTS: kh } });
      await b.put('data/00/first', Buffer.from('before the cut'));
      const big = randomBytes(24 * 1024 * 1024);
      const w = b.openAtomic('data');
      w.write(big);
      const at = proxy.sent + 6 * 1024 * 1024;
      proxy.onUpstream = (sent) => {
        if (sent >= at) {
          proxy.onUpstream = undefined;
          proxy.cut();
        }
      };
      await rejectsWith(w.commit('data/ab/abab'), 'transient', /connection/i);
      assert.equal(await b.exists('data/ab/abab'), false, 'a new connection, and no object');
      const temps = readdirSync(onServer(path, 'data', 'ab')).filter((n) => n.startsWith('.tmp-'));
      assert.equal(temps.length, 1, 'the unfinished write is left as a temp file');
      assert.match(temps[0]!, new RegExp(`^\\.tmp-${hostTag()}-${process.pid}-[0-9a-f]{16}$`));
      assert.ok(statSync(onServer(path, 'data', 'ab', temps[0]!)).size < big.length);
      assert.deepEqual(await b.list('data'), [{ name: 'data/00/first', size: 14 }], 'temp files are not listed');
      assert.equal(await b.removeUnfinished('data', 'own'), 1);
      assert.deepEqual(readdirSync(onServer(path, 'data', 'ab')), []);
      await b.put('data/ab/abab', big);
      assert.ok(readFileSync(onServer(path, 'data', 'ab', 'abab')).equals(big));
    } finally {
      await proxy.close();
    }
  });

  it('a connection that stalls mid-upload is given up as transient within the stall timeout', async () => {
    const proxy = await TcpProxy.start(ep.host, ep.port);
    try {
      const kh = file('kh-stall', keyLines(`[${ep.host}]:${proxy.port}`));
      const path = freshPath();
      const b = sftp({ path, port: proxy.port, env: { PRISM_SFTP_KNOWN_HOSTS: kh, PRISM_STORE_STALL_SECONDS: '2' } });
      await b.put('state/first', Buffer.from('x'));
      proxy.onUpstream = (sent) => {
        if (sent > 4 * 1024 * 1024) proxy.stall();
      };
      const t0 = Date.now();
      await rejectsWith(b.put('data/cd/cdcd', randomBytes(16 * 1024 * 1024)), 'transient');
      const took = Date.now() - t0;
      assert.ok(took < 8000, `took ${took} ms`);
      assert.equal(readdirSync(onServer(path, 'data', 'cd')).filter((n) => !n.startsWith('.tmp-')).length, 0, 'no object');
    } finally {
      await proxy.close();
    }
  });

  it("removeUnfinished('own') leaves the temp files of live processes and of other hosts", async () => {
    const path = freshPath();
    const b = sftp({ path });
    await b.put('data/ef/efef', Buffer.from('object'));
    const dir = onServer(path, 'data', 'ef');
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    const names = {
      live: `.tmp-${hostTag()}-1-${randomBytes(8).toString('hex')}`, // pid 1 lives
      dead: `.tmp-${hostTag()}-${dead.pid}-${randomBytes(8).toString('hex')}`,
      mine: `.tmp-${hostTag()}-${process.pid}-${randomBytes(8).toString('hex')}`,
      otherHost: `.tmp-${hostTag() === '00000000' ? '11111111' : '00000000'}-${process.pid}-${randomBytes(8).toString('hex')}`,
      unowned: `.tmp-${randomBytes(8).toString('hex')}`,
    };
    for (const n of Object.values(names)) writeFileSync(join(dir, n), 'partial');
    assert.equal(await b.removeUnfinished('data', 'own'), 2);
    assert.deepEqual(readdirSync(dir).sort(), [names.live, names.otherHost, names.unowned, 'efef'].sort());
    assert.equal(await b.removeUnfinished('', 'all'), 3);
    assert.deepEqual(readdirSync(dir), ['efef']);
  });

  it('missing objects and folders; a range past the end names the object', async () => {
    const b = sftp();
    assert.deepEqual(await b.list('data'), [], 'the repository folder does not exist yet');
    await assert.rejects(b.get('data/00/none'), ObjectNotFoundError);
    await b.put('data/00/some', randomBytes(10));
    await rejectsWith(b.getRange('data/00/some', 5, 6), 'permanent', /data\/00\/some is shorter than asked for \(it ends at byte 10\)/);
  });

  it('16 MiB packs: upload and download rates', async (t) => {
    const b = sftp();
    const pack = randomBytes(16 * 1024 * 1024);
    await b.put('data/warm', Buffer.from('x')); // connect first
    const rounds = 3;
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) {
      const w = b.openAtomic('data');
      for (let off = 0; off < pack.length; off += 256 * 1024) w.write(pack.subarray(off, off + 256 * 1024));
      await w.commit(`data/1${i}/pack`);
    }
    const up = (rounds * 16) / (Number(process.hrtime.bigint() - t0) / 1e9);
    t0 = process.hrtime.bigint();
    const into = { buffer: Buffer.alloc(0) };
    for (let i = 0; i < rounds; i++) assert.ok((await b.get(`data/1${i}/pack`, { into })).equals(pack));
    const down = (rounds * 16) / (Number(process.hrtime.bigint() - t0) / 1e9);
    t.diagnostic(`16 MiB pack: put ${up.toFixed(0)} MiB/s, get ${down.toFixed(0)} MiB/s`);
    assert.ok(up > 5 && down > 5, `put ${up} MiB/s, get ${down} MiB/s`);
  });
});

function existsSock(p: string): boolean {
  try {
    return statSync(p).isSocket();
  } catch {
    return false;
  }
}
