import * as v from 'valibot';
import { PrismError } from '../errors/index.js';

/**
 * A JSON record of the repository (a manifest, pg/, mysql/) checked against its schema; damage is
 * REPO_CORRUPT naming the object (`label` in messages, by default its name).
 */
export function parseRecord<T>(schema: v.GenericSchema<unknown, T>, raw: Buffer, name: string, label = name): T {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new PrismError('REPO_CORRUPT', `${label} is not valid JSON.`, { object: name });
  }
  const r = v.safeParse(schema, json);
  if (!r.success)
    throw new PrismError('REPO_CORRUPT', `${label} is damaged: ${v.getDotPath(r.issues[0]) ?? '(root)'}: ${r.issues[0].message}.`, { object: name });
  return r.output;
}
