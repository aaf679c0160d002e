import * as v from 'valibot';
import { ObjectNotFoundError } from '../backend/backend.js';
import { PrismError } from '../errors/index.js';
import type { Repository } from '../repo/index.js';

/** A JSON record of the repository (pg/, mysql/) checked against its schema; damage is REPO_CORRUPT naming the object. */
export function parseRecord<T>(schema: v.GenericSchema<unknown, T>, raw: Buffer, name: string): T {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new PrismError('REPO_CORRUPT', `${name} is not valid JSON.`, { object: name });
  }
  const r = v.safeParse(schema, json);
  if (!r.success) throw new PrismError('REPO_CORRUPT', `${name} is damaged: ${v.getDotPath(r.issues[0]) ?? '(root)'}: ${r.issues[0].message}.`, { object: name });
  return r.output;
}

/** Every record under `dir` that parses; a record that does not is passed to `onDamaged` and left out. */
export async function scanRecords<T>(repo: Repository, dir: string, schema: v.GenericSchema<unknown, T>, onDamaged: (name: string, e: PrismError) => void): Promise<T[]> {
  const out: T[] = [];
  for (const n of await repo.backend.list(dir)) {
    if (!n.endsWith('.json')) continue;
    try {
      out.push(parseRecord(schema, await repo.backend.get(n), n));
    } catch (e) {
      if (!(e instanceof PrismError)) throw e;
      onDamaged(n, e);
    }
  }
  return out;
}

/** The object's bytes, or undefined when the repository has no such object. */
export async function getOptional(repo: Repository, name: string): Promise<Buffer | undefined> {
  try {
    return await repo.backend.get(name);
  } catch (e) {
    if (e instanceof ObjectNotFoundError) return undefined;
    throw e;
  }
}
