import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ForwardingBackend } from '../backend/forwarding-backend.js';
import { LocalBackend } from '../backend/local-backend.js';
import { StoreError } from '../backend/store-error.js';
import { namesOf } from '../backend/backend.js';
import { FixedClock } from '../core/clock.js';
import { PrismError } from '../errors/index.js';
import { LOCK_STALE_MS, RepositoryLock, backupLockHeld, backupLockName, isStale, type LockInfo, type LockKind } from './lock.js';
import { FaultyBackend } from '../testing/faulty-backend.js';
import { tempRootForFile } from '../testing/fixtures.js';

/** Above the Linux pid limit (2^22), so no such process can exist. */
const DEAD_PID = 2 ** 22 + 12345;
const OTHER_HOST = 'some-other-host.example';
const START = new Date('2026-02-07T02:00:00.000Z');

const tempRoot = tempRootForFile();

/** A fake clock that lets work started meanwhile (a holder letting go) finish before its next sleep returns. */
class TestClock extends FixedClock {
  private pending: Promise<unknown> = Promise.resolve();
  meanwhile(work: Promise<unknown>): void {
    this.pending = work;
  }
  override async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    await this.pending;
    await super.sleep(ms, signal);
  }
}

let n = 0;
function fresh(): { backend: LocalBackend; clock: TestClock; dir: string } {
  const dir = path.join(tempRoot(), `repo-${n++}`);
  fs.mkdirSync(dir);
  return { backend: new LocalBackend(dir), clock: new TestClock(START), dir };
}

function acquire(
  backend: LocalBackend,
  clock: FixedClock,
  kind: LockKind,
  command: string,
  extra: { waitMs?: number; onWait?: (h: LockInfo) => void; backupHost?: string } = {},
): Promise<RepositoryLock> {
  return RepositoryLock.acquire(backend, { kind, command, clock, ...extra });
}

/** Expects REPO_LOCKED and checks the message names the holder. */
async function expectLocked(p: Promise<unknown>, holder: { pid: number; command: string; host?: string }): Promise<PrismError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof PrismError, `expected REPO_LOCKED, got ${String(caught)}`);
  assert.equal(caught.code, 'REPO_LOCKED');
  assert.ok(caught.message.includes(`pid ${holder.pid}`), `message names the pid: ${caught.message}`);
  assert.ok(caught.message.includes(holder.command), `message names the command: ${caught.message}`);
  if (holder.host) assert.ok(caught.message.includes(holder.host), `message names the host: ${caught.message}`);
  return caught;
}

function writeLockFile(dir: string, name: string, info: LockInfo): void {
  fs.mkdirSync(path.join(dir, 'locks'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'locks', name), JSON.stringify(info));
}

function lockInfo(over: Partial<LockInfo>): LockInfo {
  return {
    kind: 'backup',
    pid: DEAD_PID,
    host: os.hostname(),
    command: 'prism backup create --type full',
    created: START.toISOString(),
    refreshed: START.toISOString(),
    ...over,
  };
}

describe('RepositoryLock', () => {
  it('two shared locks coexist and are removed on release', async () => {
    const { backend, clock } = fresh();
    const a = await acquire(backend, clock, 'shared', 'prism backup list');
    const b = await acquire(backend, clock, 'shared', 'prism backup info x');
    const names = namesOf(await backend.list('locks'));
    assert.equal(names.length, 2);
    assert.ok(
      names.every((name) => /^locks\/shared-[0-9a-f]{24}\.json$/.test(name)),
      names.join(', '),
    );
    await a.release();
    assert.equal(namesOf(await backend.list('locks')).length, 1);
    await b.release();
    assert.deepEqual(namesOf(await backend.list('locks')), []);
  });

  it('a shared lock costs three requests on a quiet repository: write, one listing, delete', async () => {
    const { backend, clock } = fresh();
    const counted = new FaultyBackend(backend);
    const lock = await RepositoryLock.acquire(counted, { kind: 'shared', command: 'prism backup list', clock });
    await lock.release();
    assert.deepEqual(
      counted.calls.map((c) => c.replace(/shared-[0-9a-f]{24}/, 'shared-X')),
      ['put locks/shared-X.json', 'list locks', 'delete locks/shared-X.json'],
    );
  });

  it('a backup lock released soon after it was written is not read back: five requests on a quiet repository', async () => {
    const { backend, clock } = fresh();
    const counted = new FaultyBackend(backend);
    const lock = await RepositoryLock.acquire(counted, { kind: 'backup', command: 'prism backup create', clock, backupHost: 'h1' });
    clock.advance(LOCK_STALE_MS / 3 - 1000);
    await lock.release();
    assert.deepEqual(
      counted.calls.map((c) => c.replace(/shared-[0-9a-f]{24}/, 'shared-X')),
      ['putIfAbsent locks/backup-h1.json', 'put locks/shared-X.json', 'list locks', 'delete locks/backup-h1.json', 'delete locks/shared-X.json'],
    );
  });

  it('a backup lock not written for a third of LOCK_STALE_MS is read back before its release: one another process took over stays', async () => {
    const { backend, clock, dir } = fresh();
    const lock = await acquire(backend, clock, 'backup', 'prism backup create', { backupHost: 'h2' });
    clock.advance(LOCK_STALE_MS / 3 + 1000);
    // a host whose clock runs ahead judged it stale and took it
    const taker = lockInfo({ host: OTHER_HOST, pid: 4242, command: 'prism backup create (other)' });
    writeLockFile(dir, 'backup-h2.json', taker);
    await lock.release();
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'locks', 'backup-h2.json'), 'utf8')), taker);
  });

  it('a shared lock still sees an exclusive lock that the listing shows, and tidies stale shared locks from it', async () => {
    const { backend, clock, dir } = fresh();
    writeLockFile(dir, 'shared-000000000000000000000001.json', lockInfo({ kind: 'shared' }));
    const ex = await acquire(backend, clock, 'exclusive', 'prism backup prune');
    await expectLocked(acquire(backend, clock, 'shared', 'prism backup list'), { pid: process.pid, command: 'prism backup prune' });
    await ex.release();
    const lock = await acquire(backend, clock, 'shared', 'prism backup list');
    await lock.release();
    assert.deepEqual(namesOf(await backend.list('locks')), [], 'the dead process’s shared lock was tidied');
  });

  it('writes who holds the lock into the lock file', async () => {
    const { backend, clock } = fresh();
    const lock = await acquire(backend, clock, 'backup', 'prism backup create --type full');
    const info = JSON.parse((await backend.get(backupLockName(os.hostname()))).toString()) as LockInfo;
    assert.equal(info.kind, 'backup');
    assert.equal(info.pid, process.pid);
    assert.equal(info.host, os.hostname());
    assert.equal(info.command, 'prism backup create --type full');
    assert.equal(info.created, START.toISOString());
    assert.equal(info.refreshed, START.toISOString());
    // a backup lock is the single backup file plus a shared lock
    const names = namesOf(await backend.list('locks'));
    assert.equal(names.length, 2);
    assert.ok(names.includes(backupLockName(os.hostname())));
    await lock.release();
    assert.deepEqual(namesOf(await backend.list('locks')), []);
  });

  it('a second backup lock fails with REPO_LOCKED naming the holder', async () => {
    const { backend, clock } = fresh();
    const first = await acquire(backend, clock, 'backup', 'prism backup create --type full');
    const e = await expectLocked(acquire(backend, clock, 'backup', 'prism backup create --type incremental'), {
      pid: process.pid,
      command: 'prism backup create --type full',
      host: os.hostname(),
    });
    assert.equal((e.details.holder as LockInfo).pid, process.pid);
    assert.equal(e.exitCode, 6);
    // the failed attempt left nothing of its own
    assert.equal(namesOf(await backend.list('locks')).length, 2);
    // shared locks (readers) still coexist with the backup
    const reader = await acquire(backend, clock, 'shared', 'prism backup list');
    await reader.release();
    await first.release();
  });

  it('exclusive conflicts with shared, in both directions', async () => {
    const { backend, clock } = fresh();
    const shared = await acquire(backend, clock, 'shared', 'prism backup verify');
    await expectLocked(acquire(backend, clock, 'exclusive', 'prism backup cleanup'), { pid: process.pid, command: 'prism backup verify' });
    assert.equal(await backend.exists('locks/exclusive.json'), false, 'a failed exclusive attempt removes its file');
    await shared.release();

    const exclusive = await acquire(backend, clock, 'exclusive', 'prism backup cleanup');
    await expectLocked(acquire(backend, clock, 'shared', 'prism backup list'), { pid: process.pid, command: 'prism backup cleanup' });
    await expectLocked(acquire(backend, clock, 'backup', 'prism backup create'), { pid: process.pid, command: 'prism backup cleanup' });
    await expectLocked(acquire(backend, clock, 'exclusive', 'prism backup delete x'), { pid: process.pid, command: 'prism backup cleanup' });
    assert.deepEqual(namesOf(await backend.list('locks')), ['locks/exclusive.json'], 'failed attempts leave no files');
    await exclusive.release();
    assert.deepEqual(namesOf(await backend.list('locks')), []);
  });

  it('exclusive conflicts with a running backup', async () => {
    const { backend, clock } = fresh();
    const backup = await acquire(backend, clock, 'backup', 'prism backup create --type full');
    await expectLocked(acquire(backend, clock, 'exclusive', 'prism backup cleanup'), { pid: process.pid, command: 'prism backup create --type full' });
    await backup.release();
    const ex = await acquire(backend, clock, 'exclusive', 'prism backup cleanup');
    await ex.release();
  });

  it('can be taken again after release; release twice is harmless', async () => {
    const { backend, clock } = fresh();
    for (const kind of ['backup', 'exclusive', 'backup'] as const) {
      const lock = await acquire(backend, clock, kind, `round ${kind}`);
      await lock.release();
      await lock.release();
      assert.deepEqual(namesOf(await backend.list('locks')), []);
    }
  });

  it('removes a stale backup lock of a dead process on this host', async () => {
    const { backend, clock, dir } = fresh();
    writeLockFile(dir, backupLockName(os.hostname()).slice('locks/'.length), lockInfo({ pid: DEAD_PID }));
    assert.equal(await backupLockHeld(backend, clock, os.hostname()), false);
    assert.equal(await backend.exists(backupLockName(os.hostname())), false, 'backupLockHeld removed the stale file');

    writeLockFile(dir, backupLockName(os.hostname()).slice('locks/'.length), lockInfo({ pid: DEAD_PID }));
    const lock = await acquire(backend, clock, 'backup', 'prism backup create --type full');
    const info = JSON.parse((await backend.get(backupLockName(os.hostname()))).toString()) as LockInfo;
    assert.equal(info.pid, process.pid, 'the lock file is now ours');
    await lock.release();
  });

  it('removes stale shared and exclusive locks of dead processes', async () => {
    const { backend, clock, dir } = fresh();
    writeLockFile(dir, 'shared-000000000000000000000000.json', lockInfo({ kind: 'shared', command: 'prism backup list' }));
    const ex = await acquire(backend, clock, 'exclusive', 'prism backup cleanup');
    assert.deepEqual(namesOf(await backend.list('locks')), ['locks/exclusive.json'], 'the dead shared lock was removed');
    await ex.release();

    writeLockFile(dir, 'exclusive.json', lockInfo({ kind: 'exclusive', command: 'prism backup cleanup' }));
    const sh = await acquire(backend, clock, 'shared', 'prism backup list');
    assert.equal(await backend.exists('locks/exclusive.json'), false, 'the dead exclusive lock was removed');
    await sh.release();

    // a shared locker tidies the shared locks of killed processes too, and leaves live ones alone
    writeLockFile(dir, 'shared-111111111111111111111111.json', lockInfo({ kind: 'shared', command: 'prism backup create' }));
    const live = await acquire(backend, clock, 'shared', 'prism backup verify');
    const other = await acquire(backend, clock, 'backup', 'prism backup create');
    assert.equal(await backend.exists('locks/shared-111111111111111111111111.json'), false, 'the dead shared lock was removed');
    assert.equal(namesOf(await backend.list('locks')).filter((n) => n.startsWith('locks/shared-')).length, 2, 'both live shared locks stay');
    await other.release();
    await live.release();
    assert.deepEqual(namesOf(await backend.list('locks')), []);
  });

  it('honours a lock of another host until it is older than LOCK_STALE_MS', async () => {
    const { backend, clock, dir } = fresh();
    writeLockFile(dir, 'exclusive.json', lockInfo({ kind: 'exclusive', host: OTHER_HOST, pid: 4242, command: 'prism backup cleanup' }));
    await expectLocked(acquire(backend, clock, 'shared', 'prism backup list'), { pid: 4242, command: 'prism backup cleanup', host: OTHER_HOST });
    clock.advance(LOCK_STALE_MS);
    await expectLocked(acquire(backend, clock, 'shared', 'prism backup list'), { pid: 4242, command: 'prism backup cleanup' });
    assert.equal(await backend.exists('locks/exclusive.json'), true);
    clock.advance(1);
    const lock = await acquire(backend, clock, 'shared', 'prism backup list');
    assert.equal(await backend.exists('locks/exclusive.json'), false, 'the stale lock was removed');
    await lock.release();
  });

  it('counts staleness from `refreshed`, not `created`', async () => {
    const { backend, clock, dir } = fresh();
    const old = new Date(START.getTime() - 10 * LOCK_STALE_MS).toISOString();
    writeLockFile(
      dir,
      backupLockName(os.hostname()).slice('locks/'.length),
      lockInfo({ host: OTHER_HOST, pid: 7, created: old, refreshed: START.toISOString() }),
    );
    await expectLocked(acquire(backend, clock, 'backup', 'prism backup create'), { pid: 7, command: 'prism backup create --type full' });
    assert.equal(await backupLockHeld(backend, clock, os.hostname()), true);
    clock.advance(LOCK_STALE_MS + 1);
    assert.equal(await backupLockHeld(backend, clock, os.hostname()), false);
  });

  it('backups of two hosts hold their locks at once; a second backup of one host waits', async () => {
    const { backend, clock } = fresh();
    const a = await acquire(backend, clock, 'backup', 'prism backup create', { backupHost: 'gw-a' });
    const b = await acquire(backend, clock, 'backup', 'prism backup create', { backupHost: 'gw-b' });
    assert.equal(await backupLockHeld(backend, clock, 'gw-a'), true);
    assert.equal(await backupLockHeld(backend, clock, 'gw-b'), true);
    assert.equal(await backupLockHeld(backend, clock, 'gw-c'), false);
    await expectLocked(acquire(backend, clock, 'backup', 'prism backup create', { backupHost: 'gw-a' }), { pid: process.pid, command: 'prism backup create' });
    // prune waits for both
    await expectLocked(acquire(backend, clock, 'exclusive', 'prism backup cleanup'), { pid: process.pid, command: 'prism backup create' });
    await a.release();
    await b.release();
    assert.deepEqual(namesOf(await backend.list('locks')), []);
  });

  it('waits for a conflicting lock when waitMs > 0 and calls onWait once', async () => {
    const { backend, clock } = fresh();
    const first = await acquire(backend, clock, 'backup', 'prism backup create --type full');
    const seen: LockInfo[] = [];
    // the holder finishes while the second process waits
    const second = await acquire(backend, clock, 'backup', 'prism backup create --type incremental', {
      waitMs: 30_000,
      onWait: (h) => {
        seen.push(h);
        clock.meanwhile(first.release());
      },
    });
    assert.equal(seen.length, 1, 'onWait is called once');
    assert.ok(clock.now() > START, 'the wait passed on the injected clock');
    assert.equal(seen[0]!.pid, process.pid);
    assert.equal(seen[0]!.command, 'prism backup create --type full');
    const info = JSON.parse((await backend.get(backupLockName(os.hostname()))).toString()) as LockInfo;
    assert.equal(info.command, 'prism backup create --type incremental');
    await second.release();
    assert.deepEqual(namesOf(await backend.list('locks')), []);
  });

  it('exclusive waits for shared locks to go away', async () => {
    const { backend, clock } = fresh();
    const reader = await acquire(backend, clock, 'shared', 'prism backup verify');
    let waited = 0;
    const ex = await acquire(backend, clock, 'exclusive', 'prism backup cleanup', {
      waitMs: 30_000,
      onWait: (h) => {
        waited++;
        assert.equal(h.command, 'prism backup verify');
        clock.meanwhile(reader.release());
      },
    });
    assert.equal(waited, 1);
    assert.ok(clock.now() > START, 'the wait passed on the injected clock');
    assert.deepEqual(namesOf(await backend.list('locks')), ['locks/exclusive.json']);
    await ex.release();
  });

  it('gives up with REPO_LOCKED when the wait runs out', async () => {
    const { backend, clock } = fresh();
    const first = await acquire(backend, clock, 'exclusive', 'prism backup cleanup');
    let waited = 0;
    await expectLocked(acquire(backend, clock, 'shared', 'prism backup list', { waitMs: 300, onWait: () => waited++ }), {
      pid: process.pid,
      command: 'prism backup cleanup',
    });
    assert.equal(waited, 1);
    assert.deepEqual(namesOf(await backend.list('locks')), ['locks/exclusive.json']);
    await first.release();
  });
});

/** A store whose credentials may add but not delete (an Azure SAS without d): deletes are refused as the stores refuse them. */
class NoDelete extends ForwardingBackend {
  override async delete(name: string): Promise<void> {
    throw new StoreError('permanent', this.location, `the credentials may not delete ${name}`, { objectName: name, denied: true });
  }
}

describe('RepositoryLock with credentials that may not delete', () => {
  it('releases by emptying the files; the next run takes them over; a live holder still excludes', async () => {
    const { backend: local, clock, dir } = fresh();
    const backend = new NoDelete(local);
    const first = await acquire(backend as unknown as LocalBackend, clock, 'backup', 'prism backup create --type full', { backupHost: 'h1' });
    await first.release();
    const files = fs.readdirSync(path.join(dir, 'locks')).sort();
    assert.deepEqual(
      files.map((f) => [f.replace(/^shared-.*/, 'shared-*'), fs.statSync(path.join(dir, 'locks', f)).size]),
      [
        ['backup-h1.json', 0],
        ['shared-*', 0],
      ],
    );
    assert.equal(await backupLockHeld(backend, clock, 'h1'), false, 'an emptied lock holds nothing');

    const second = await acquire(backend as unknown as LocalBackend, clock, 'backup', 'prism backup create --type incremental', { backupHost: 'h1' });
    assert.equal(await backupLockHeld(backend, clock, 'h1'), true);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'locks', 'backup-h1.json'), 'utf8')).command, 'prism backup create --type incremental');
    await expectLocked(acquire(backend as unknown as LocalBackend, clock, 'backup', 'prism backup create', { backupHost: 'h1' }), {
      pid: process.pid,
      command: 'prism backup create --type incremental',
    });
    await expectLocked(acquire(backend as unknown as LocalBackend, clock, 'exclusive', 'prism backup prune'), {
      pid: process.pid,
      command: 'prism backup create --type incremental',
    });
    await second.release();
    // released shared locks left behind hold nothing: an exclusive locker goes ahead
    const prune = await acquire(backend as unknown as LocalBackend, clock, 'exclusive', 'prism backup prune');
    await prune.release();
    assert.equal(fs.statSync(path.join(dir, 'locks', 'exclusive.json')).size, 0);
    // whoever may delete tidies them
    const tidy = await acquire(local, clock, 'exclusive', 'prism backup prune');
    await tidy.release();
    assert.deepEqual(
      fs.readdirSync(path.join(dir, 'locks')).filter((f) => f.startsWith('shared-') || f === 'exclusive.json'),
      [],
    );
  });

  it('a stale lock of a dead process that cannot be removed is taken over', async () => {
    const { backend: local, clock, dir } = fresh();
    writeLockFile(dir, 'backup-h2.json', lockInfo({ pid: DEAD_PID }));
    const lock = await acquire(new NoDelete(local) as unknown as LocalBackend, clock, 'backup', 'prism backup create', { backupHost: 'h2' });
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'locks', 'backup-h2.json'), 'utf8')).pid, process.pid);
    await lock.release();
  });
});

describe('RepositoryLock waits on its clock', () => {
  it('gives up when the wait has passed on the injected clock, whatever the real time', { timeout: 20_000 }, async () => {
    const { backend, clock } = fresh();
    const first = await acquire(backend, clock, 'backup', 'prism backup create --type full');
    const waitMs = 60_000; // under LOCK_STALE_MS: the holder stays live all along
    await expectLocked(acquire(backend, clock, 'backup', 'prism backup create --type incremental', { waitMs }), {
      pid: process.pid,
      command: 'prism backup create --type full',
    });
    const waited = clock.now().getTime() - START.getTime();
    assert.ok(waited >= waitMs && waited < waitMs + 500, `waited ${waited} ms on the clock`);
    assert.deepEqual(namesOf(await backend.list('locks')).length, 2, 'the holder keeps its lock');
    await first.release();
  });
});

describe('isStale', () => {
  const clock = new FixedClock(START);
  it('a lock of a live process on this host is not stale while it is refreshed', () => {
    assert.equal(isStale(lockInfo({ pid: process.pid, refreshed: clock.now().toISOString() }), clock), false);
  });
  it('a lock on this host not refreshed for LOCK_STALE_MS is stale even if its pid is alive (pid reuse)', () => {
    assert.equal(isStale(lockInfo({ pid: process.pid, refreshed: new Date(0).toISOString() }), clock), true);
  });
  it('a lock with an unreadable refresh time is stale', () => {
    assert.equal(isStale(lockInfo({ pid: process.pid, refreshed: 'garbage' }), clock), true);
  });
  it('a lock of a dead process on this host is stale at once', () => {
    assert.equal(isStale(lockInfo({ pid: DEAD_PID }), clock), true);
  });
  it('a lock of another host goes stale after LOCK_STALE_MS without refresh', () => {
    const refreshed = START.toISOString();
    assert.equal(isStale(lockInfo({ host: OTHER_HOST, refreshed }), new FixedClock(new Date(START.getTime() + LOCK_STALE_MS))), false);
    assert.equal(isStale(lockInfo({ host: OTHER_HOST, refreshed }), new FixedClock(new Date(START.getTime() + LOCK_STALE_MS + 1))), true);
    assert.equal(LOCK_STALE_MS, 30 * 60 * 1000);
  });
});
