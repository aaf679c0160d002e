import { ObjectNotFoundError } from '../backend/backend.js';
import type { PackReadTimes } from '../policy/verify-rotation.js';
import type { Repository } from '../repo/index.js';

/** Where background verification keeps, per pack, when it was first seen and last read in full. */
export const VERIFY_STATE = 'state/verify.json';

interface VerifyStateFile {
  version: 1;
  packs: Record<string, PackReadTimes>;
}

/** The read times; a missing or unreadable file means none (every pack is then due one period from now). */
export async function loadVerifyState(repo: Repository): Promise<{ packs: Record<string, PackReadTimes>; damaged: boolean }> {
  let raw: Buffer;
  try {
    raw = await repo.backend.get(VERIFY_STATE);
  } catch (e) {
    if (e instanceof ObjectNotFoundError) return { packs: {}, damaged: false };
    throw e;
  }
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as VerifyStateFile;
    if (parsed?.version !== 1 || typeof parsed.packs !== 'object' || parsed.packs === null) return { packs: {}, damaged: true };
    const packs: Record<string, PackReadTimes> = {};
    for (const [p, t] of Object.entries(parsed.packs)) if (/^[0-9a-f]{64}$/.test(p) && typeof t?.first_seen === 'string') packs[p] = t;
    return { packs, damaged: false };
  } catch {
    return { packs: {}, damaged: true };
  }
}

/** Replaces the state file atomically. */
export async function saveVerifyState(repo: Repository, packs: Record<string, PackReadTimes>): Promise<void> {
  const body: VerifyStateFile = { version: 1, packs };
  await repo.backend.put(VERIFY_STATE, Buffer.from(JSON.stringify(body, null, 1) + '\n'));
}
