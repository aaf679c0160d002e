import * as v from 'valibot';
import { isPrismError } from '../../errors/index.js';
import type { PackReadTimes } from '../../policy/verify-rotation.js';
import { VERIFY_STATE, type Repository } from '../../repo/index.js';

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
  let parsed: VerifyStateFile | undefined;
  try {
    parsed = (await repo.loadRecord(VERIFY_STATE, v.unknown())) as VerifyStateFile | undefined;
  } catch (e) {
    if (isPrismError(e) && e.code === 'REPO_CORRUPT') return { packs: {}, corrupted_checked: [] };
    throw e;
  }
  if (parsed?.version !== 1 || typeof parsed.packs !== 'object' || parsed.packs === null) return { packs: {}, corrupted_checked: [] };
  const packs: Record<string, PackReadTimes> = {};
  for (const [p, t] of Object.entries(parsed.packs)) if (/^[0-9a-f]{64}$/.test(p) && typeof t?.first_seen === 'string') packs[p] = t;
  const checked = Array.isArray(parsed.corrupted_checked) ? parsed.corrupted_checked.filter((x) => typeof x === 'string') : [];
  return { packs, corrupted_checked: checked };
}

/** Replaces the state file atomically. */
export async function saveVerifyState(repo: Repository, state: VerifyState): Promise<void> {
  const body: VerifyStateFile = { version: 1, ...state };
  await repo.saveRecord(VERIFY_STATE, body, 1);
}
