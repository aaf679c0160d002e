import { ObjectNotFoundError } from '../../backend/index.js';
import type { PackReadTimes } from '../../policy/verify-rotation.js';
import type { Repository } from '../../repo/index.js';

/** Where background verification keeps, per pack, when it was first seen and last read in full. */
export const VERIFY_STATE = 'state/verify.json';

export interface VerifyState {
  packs: Record<string, PackReadTimes>;
  /** Backups marked corrupted whose data a background run has read whole since (the others are read whole next). */
  corrupted_checked: string[];
}

interface VerifyStateFile extends VerifyState {
  version: 1;
}

/** The state; a missing or unreadable file means none (every pack is then due one period from now). */
export async function loadVerifyState(repo: Repository): Promise<VerifyState> {
  let raw: Buffer;
  try {
    raw = await repo.backend.get(VERIFY_STATE);
  } catch (e) {
    if (e instanceof ObjectNotFoundError) return { packs: {}, corrupted_checked: [] };
    throw e;
  }
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as VerifyStateFile;
    if (parsed?.version !== 1 || typeof parsed.packs !== 'object' || parsed.packs === null) return { packs: {}, corrupted_checked: [] };
    const packs: Record<string, PackReadTimes> = {};
    for (const [p, t] of Object.entries(parsed.packs)) if (/^[0-9a-f]{64}$/.test(p) && typeof t?.first_seen === 'string') packs[p] = t;
    const checked = Array.isArray(parsed.corrupted_checked) ? parsed.corrupted_checked.filter((x) => typeof x === 'string') : [];
    return { packs, corrupted_checked: checked };
  } catch {
    return { packs: {}, corrupted_checked: [] };
  }
}

/** Replaces the state file atomically. */
export async function saveVerifyState(repo: Repository, state: VerifyState): Promise<void> {
  const body: VerifyStateFile = { version: 1, ...state };
  await repo.backend.put(VERIFY_STATE, Buffer.from(JSON.stringify(body, null, 1) + '\n'));
}
