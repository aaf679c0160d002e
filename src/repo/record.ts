import * as v from 'valibot';
import { PrismError } from '../errors/index.js';

/** A JSON record of the repository (pg/, mysql/) checked against its schema; damage is REPO_CORRUPT naming the object. */
export function parseRecord<T>(schema: v.GenericSchema<unknown, T>, raw: Buffer, name: string): T {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new PrismError('REPO_CORRUPT', `${name} is not valid JSON.`, { object: name });
  }
  const r = v.safeParse(schema, json);
  if (!r.success)
    throw new PrismError('REPO_CORRUPT', `${name} is damaged: ${v.getDotPath(r.issues[0]) ?? '(root)'}: ${r.issues[0].message}.`, { object: name });
  return r.output;
}
