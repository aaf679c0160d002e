import assert from 'node:assert/strict';
import { openRepo } from './damage.js';
import { hashTree, readBackTree, type Sandbox } from './fixtures.js';

/** Every file of the backup read back from the repository equals the source, except the paths in `skip`. */
export async function assertBackupMatches(sb: Sandbox, tree: string, skip: readonly string[] = []): Promise<void> {
  const back = await readBackTree(await openRepo(sb), tree);
  const files = new Map([...back].filter(([p, v]) => v.sha256 !== undefined && !skip.includes(p)).map(([p, v]) => [p, v.sha256!]));
  const source = hashTree(sb.home);
  for (const p of skip) source.delete(p);
  assert.deepEqual(files, source);
}
