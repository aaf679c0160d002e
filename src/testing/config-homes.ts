import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrismError } from '../errors/index.js';
import { tempRootForFile } from './fixtures.js';

/** Fresh PRISM_HOMEs, each optionally with config/backup.json, under a temporary root removed after the file's tests. */
export function configHomes(): (config?: string | object) => string {
  const tempRoot = tempRootForFile();
  let n = 0;
  return (config) => {
    const dir = join(tempRoot(), `home-${n++}`);
    mkdirSync(dir, { recursive: true });
    if (config !== undefined) {
      mkdirSync(join(dir, 'config'));
      writeFileSync(join(dir, 'config', 'backup.json'), typeof config === 'string' ? config : JSON.stringify(config, null, 2));
    }
    return dir;
  };
}

/** Expects CONFIG_INVALID and checks that the message mentions every fragment. */
export function expectConfigInvalid(fn: () => unknown, ...fragments: string[]): PrismError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof PrismError, `expected a PrismError, got ${String(caught)}`);
  assert.equal(caught.code, 'CONFIG_INVALID');
  assert.equal(caught.exitCode, 3);
  for (const f of fragments) assert.ok(caught.message.includes(f), `message ${JSON.stringify(caught.message)} should mention ${JSON.stringify(f)}`);
  return caught;
}
