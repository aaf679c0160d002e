import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FixedClock } from '../../core/clock.js';
import { appContext, json, prism, sandbox, type Sandbox } from '../../testing/fixtures.js';
import type { Manifest } from '../../repo/index.js';
import { openRepository } from '../context.js';
import { backupListSignature } from './backup-list-signature.js';

describe('backupListSignature', () => {
  let sb: Sandbox;
  let first: Manifest;

  before(() => {
    sb = sandbox();
    first = json<Manifest>(prism(['backup', 'create', '--type', 'full', '--no-progress', '--json'], sb.env));
  });
  after(() => sb.cleanup());

  it('is "" without a repository', async () => {
    const empty = sandbox();
    try {
      assert.equal(await backupListSignature(appContext(empty))(), '');
    } finally {
      empty.cleanup();
    }
  });

  // a clock well after every change: the folder's version is trusted, so an unchanged folder is not listed again
  for (const [what, clock] of [
    ['the folder settled', new FixedClock(new Date(Date.now() + 3_600_000))],
    ['the folder changed just now', new FixedClock(new Date(Date.now() - 3_600_000))],
  ] as const) {
    it(`changes when a backup appears, has its manifest rewritten or goes, and only then (${what})`, async () => {
      const ctx = appContext(sb, {}, clock);
      const repo = await openRepository(ctx);
      const signature = backupListSignature(ctx);
      const before = await signature();
      assert.match(before, /^[0-9a-f]{64}$/);
      assert.equal(await signature(), before);
      const added: Manifest = { ...first, id: `${first.id}-copy`, comment: null };
      await repo.saveManifest(added);
      const withAdded = await signature();
      assert.notEqual(withAdded, before);
      assert.equal(await signature(), withAdded);
      await repo.saveManifest({ ...added, comment: 'a longer manifest than before' });
      const rewritten = await signature();
      assert.notEqual(rewritten, withAdded);
      await repo.deleteManifest(added.id);
      assert.equal(await signature(), before);
    });
  }
});
