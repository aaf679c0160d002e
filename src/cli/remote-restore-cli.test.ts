/**
 * Restores from repositories on remote stores, which fetch what they need pack by pack
 * (repo/planned-reads.ts): the result equals the source on S3, SFTP and Azure, damage in a pack on S3
 * names exactly the damaged files, and refused or cut-off range requests are retried.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ERROR_CODES } from '../errors/index.js';
import type { Manifest } from '../repo/index.js';
import { hashTree, json, prism, prismRun, prngBytes, sandbox, textData, writeDataset, type CliResult, type Sandbox } from '../testing/fixtures.js';
import { remoteRepo, type RemoteKind, type RemoteRepo } from '../testing/remote-repos.js';
import { testServers } from '../testing/test-servers.js';

const MiB = 1024 * 1024;
const SKIP = ['logs', 'temp', 'config', 'run'];

interface Restored {
  problems: Array<{ path: string; code: string }>;
}

/** A source of many small files and a few large ones (over 16 MiB in all: restore workers take part). */
function source(sb: Sandbox): void {
  writeDataset(sb.home, { files: 40 });
  for (let i = 0; i < 3; i++) writeFileSync(join(sb.home, `level-1-hot/big-${i}.bin`), prngBytes(6 * MiB + i * 12345, 30 + i));
  writeFileSync(join(sb.home, 'level-1-hot/notes.txt'), textData(3 * MiB, 5));
}

/** Files whose restored bytes differ from the source's (or that are missing). */
function differing(home: string, target: string): string[] {
  const restored = hashTree(target, SKIP);
  return [...hashTree(home, SKIP)].filter(([path, sum]) => restored.get(path) !== sum).map(([path]) => path);
}

/**
 * A proxy in front of the Ceph gateway that counts range requests for packs (data/) and spoils
 * two of them: the first is answered 503 SlowDown, the second has its answer cut off after 64 KiB
 * (a reset); everything else passes unchanged.
 */
async function packProxy(target: URL): Promise<{ url: string; packRanges: () => number; spoiled: () => number; close(): Promise<void> }> {
  let ranges = 0;
  let spoiled = 0;
  const server = http.createServer((req, res) => {
    const pack = req.method === 'GET' && req.headers.range !== undefined && /\/data\//.test(req.url ?? '');
    if (pack) ranges++;
    if (pack && ranges === 1) {
      spoiled++;
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      });
      return;
    }
    const cut = pack && ranges === 3;
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      if (!cut) return void r.pipe(res);
      spoiled++;
      let sent = 0;
      r.on('data', (b: Buffer) => {
        if (sent >= 64 * 1024) return;
        res.write(b.subarray(0, 64 * 1024 - sent));
        sent += b.length;
        if (sent >= 64 * 1024) {
          r.destroy();
          res.destroy();
        }
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    packRanges: () => ranges,
    spoiled: () => spoiled,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const CASES: Array<{ kind: RemoteKind; encrypted?: true }> = [{ kind: 's3' }, { kind: 'sftp' }, { kind: 'azure' }, { kind: 's3', encrypted: true }];

for (const { kind, encrypted } of CASES) {
  describe(`restore from ${encrypted ? 'an encrypted' : 'a'} repository on ${kind} (CLI)`, () => {
    let sb: Sandbox;
    let remote: RemoteRepo;
    let env: Record<string, string>;
    let m: Manifest;
    const ok = (args: string[], extra: Record<string, string> = {}): CliResult => {
      const r = prism(args, { ...env, ...extra });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      return r;
    };

    before(async () => {
      sb = sandbox();
      remote = await remoteRepo(kind, `restore-${kind}${encrypted ? '-enc' : ''}`);
      env = { ...sb.env, ...remote.env, PRISM_BACKUP_PATH: remote.location, PRISM_BACKUP_CONCURRENCY: '2', PRISM_STORE_RETRY_SECONDS: '20' };
      if (encrypted) {
        const password = join(sb.root, 'password');
        writeFileSync(password, 'correct horse battery staple\n', { mode: 0o600 });
        env = { ...env, PRISM_PASSWORD_FILE: password, PRISM_KDF_MINIMUM: '1' };
        ok(['init', '--encrypt']);
      }
      source(sb);
      m = json<Manifest>(ok(['backup', 'create', '--type', 'full', '--json']));
    });
    after(async () => {
      await remote?.cleanup();
      sb?.cleanup();
    });

    it('restores every file byte for byte, on one thread and on two', () => {
      for (const threads of ['1', '2']) {
        const target = join(sb.root, `restored-${threads}`);
        ok(['backup', 'restore', m.id, '--target', target], { PRISM_BACKUP_CONCURRENCY: threads });
        assert.deepEqual(differing(sb.home, target), [], `${threads} thread(s)`);
      }
    });

    it('restores only the selected files', () => {
      const target = join(sb.root, 'restored-some');
      ok(['backup', 'restore', m.id, '--target', target, '--include', 'level-1-hot/big-1.bin']);
      const restored = hashTree(target, SKIP);
      assert.deepEqual([...restored.keys()], ['level-1-hot/big-1.bin']);
      assert.equal(restored.get('level-1-hot/big-1.bin'), hashTree(sb.home, SKIP).get('level-1-hot/big-1.bin'));
    });

    if (kind !== 's3') return;

    if (!encrypted)
      it('range requests refused (503) or cut off are retried: the restore is whole, a few requests per pack', async () => {
        const proxy = await packProxy(new URL(testServers().s3.endpoint));
        try {
          const packs = (await (await remote.raw()).list('data')).length;
          const target = join(sb.root, 'restored-flaky');
          const viaProxy = remote.location.replace(testServers().s3.endpoint, proxy.url);
          const r = await prismRun(['backup', 'restore', m.id, '--target', target], { ...env, PRISM_BACKUP_PATH: viaProxy });
          assert.equal(r.code, 0, r.stdout + r.stderr);
          assert.equal(proxy.spoiled(), 2);
          assert.deepEqual(differing(sb.home, target), []);
          // half a pack per request at most, split where a thread's share of the files ends: not a request per frame
          assert.ok(proxy.packRanges() <= 2 * packs + 2 + 4, `${proxy.packRanges()} range requests for ${packs} packs`);
        } finally {
          await proxy.close();
        }
      });

    it('a byte flipped in a pack: the restore names exactly the files it damaged and restores the rest', async () => {
      const raw = await remote.raw();
      const packs = (await raw.list('data')).sort((a, b) => b.size - a.size);
      const victim = packs[0]!;
      const bytes = await raw.get(victim.name);
      bytes[Math.floor(bytes.length / 2)] ^= 0x40;
      await raw.put(victim.name, bytes);
      const target = join(sb.root, 'restored-damaged');
      const r = prism(['backup', 'restore', m.id, '--target', target, '--json'], env);
      assert.notEqual(r.code, 0, r.stdout);
      const named = json<Restored>(r)
        .problems.map((p) => {
          assert.equal(p.code, ERROR_CODES.CHECKSUM_MISMATCH.id, JSON.stringify(p));
          return p.path;
        })
        .sort();
      assert.ok(named.length > 0);
      // what was named is what differs; everything else is whole
      const bad = differing(sb.home, target).sort();
      assert.deepEqual(bad, named);
    });
  });
}
