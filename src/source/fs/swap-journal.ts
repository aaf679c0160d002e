import { closeSync, existsSync, fsyncSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { replacePrivateFile } from '../../core/private-files.js';
import { isRestoreWorkName } from '../../core/reserved-names.js';
import { PrismError, isPrismError } from '../../errors/index.js';
import { lstatBelow, renameBelow } from './path-below.js';

/**
 * Swapping a restored tree into place. The restore writes into a staging directory inside the
 * target; the swap is a list of renames on one filesystem, recorded in a journal first, so a
 * crash at any moment leaves a state that `recoverSwap` completes: before the swap starts the
 * old data is untouched (the staging directory is dropped); once it has started, the remaining
 * renames are made (the staging tree was complete and verified before the first rename).
 * The journal, staging and trash are top-level names starting with `.prism-restore`, which no
 * restored entry may have, and no rename follows a symlink below the target.
 */
export interface SwapJournal {
  backup: string;
  /** Relative to the target. */
  staging: string;
  trash: string;
  /** Renames [from, to], relative to the target, in order. */
  steps: Array<[string, string]>;
  /** Steps completed. */
  done: number;
  state: 'staging' | 'swapping';
}

export const JOURNAL = '.prism-restore.journal';

export function journalPath(target: string): string {
  return join(target, JOURNAL);
}

/**
 * The journal of an interrupted restore, if any. One that prism could not have written (renames
 * out of the target, onto its own working names, or of a `protect`ed name) is refused whole:
 * running part of it could do harm.
 */
export function readJournal(target: string, protect: readonly string[] = []): SwapJournal | undefined {
  const p = journalPath(target);
  if (!existsSync(p)) return undefined;
  let j: SwapJournal;
  try {
    j = JSON.parse(readFileSync(p, 'utf8')) as SwapJournal;
  } catch (e) {
    throw invalid(p, `it cannot be read: ${(e as Error).message}`);
  }
  const problem = journalProblem(j, protect);
  if (problem) throw invalid(p, problem);
  return j;
}

function invalid(p: string, problem: string): PrismError {
  return new PrismError(
    'RESTORE_RECOVERY_FAILED',
    `The journal of an interrupted restore, ${p}, cannot be run safely: ${problem} (an older prism or a hand edit wrote it). Refusing to run it; compare the data directory with logs/backup-restore.log, then delete the journal and the .prism-restore-* folders it names.`,
    { journal: p },
  );
}

/** Why `j` is not a journal that a restore writes, or undefined. */
function journalProblem(j: SwapJournal, protect: readonly string[]): string | undefined {
  if (typeof j !== 'object' || j === null || typeof j.backup !== 'string' || !Array.isArray(j.steps)) return 'it is not a journal';
  if (j.state !== 'staging' && j.state !== 'swapping') return `unknown state ${JSON.stringify(j.state)}`;
  if (!Number.isInteger(j.done) || j.done < 0 || j.done > j.steps.length) return `step count ${JSON.stringify(j.done)} is out of range`;
  for (const dir of [j.staging, j.trash]) {
    if (typeof dir !== 'string' || dir.includes('/') || !isRestoreWorkName(dir) || dir.startsWith(JOURNAL))
      return `${JSON.stringify(dir)} is not a staging folder name`;
  }
  if (j.staging === j.trash) return 'staging and trash are the same folder';
  const data = (p: string): boolean => {
    const parts = p.split('/');
    return parts.every((s) => s.length > 0 && s !== '.' && s !== '..') && !isRestoreWorkName(parts[0]!) && !protect.includes(parts[0]!);
  };
  for (const step of j.steps) {
    if (!Array.isArray(step) || step.length !== 2 || typeof step[0] !== 'string' || typeof step[1] !== 'string') return 'a step is not a rename';
    const [from, to] = step;
    const ok = (data(from) && (to === `${j.trash}/${from}` || to === `${j.staging}/${from}`)) || (data(to) && from === `${j.staging}/${to}`);
    if (!ok)
      return `the rename ${JSON.stringify(from)} → ${JSON.stringify(to)} is not one a restore makes${protect.some((n) => from.split('/')[0] === n || to.split('/')[0] === n) ? ` (${protect.join(', ')} are never touched)` : ''}`;
  }
  return undefined;
}

export function writeJournal(target: string, j: SwapJournal): void {
  replacePrivateFile(journalPath(target), JSON.stringify(j));
  syncFile(target);
}

function syncFile(p: string): void {
  const fd = openSync(p, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function move(target: string, from: string, to: string): void {
  if (lstatBelow(target, from) === undefined) return; // done before a crash (or nothing to move)
  renameBelow(target, from, to);
}

/** Makes the remaining renames, journaling each; `onStep` sees each one (for the log). */
export function runSwap(target: string, j: SwapJournal, onStep: (from: string, to: string) => void = () => {}): void {
  j.state = 'swapping';
  writeJournal(target, j);
  while (j.done < j.steps.length) {
    const [from, to] = j.steps[j.done]!;
    move(target, from, to);
    onStep(from, to);
    j.done++;
    writeJournal(target, j);
  }
  syncFile(target);
}

/**
 * Undoes the renames made so far (newest first): the target is as it was before the swap. The
 * step in flight is undone too if it happened (a rename whose journal update was not written).
 */
export function rollbackSwap(target: string, j: SwapJournal, onStep: (from: string, to: string) => void = () => {}): void {
  for (let i = Math.min(j.done, j.steps.length - 1); i >= 0; i--) {
    const [from, to] = j.steps[i]!;
    move(target, to, from);
    onStep(to, from);
    j.done = i;
    writeJournal(target, j);
  }
  j.state = 'staging';
  writeJournal(target, j);
}

/** Removes the staging and trash directories and the journal. */
export function finishSwap(target: string, j: SwapJournal): void {
  rmSync(join(target, j.trash), { recursive: true, force: true });
  rmSync(join(target, j.staging), { recursive: true, force: true });
  rmSync(journalPath(target), { force: true });
}

/**
 * After a crash: finishes a swap that had started ('completed'). A restore interrupted while
 * still staging left the old data untouched; its staging area is kept for a re-run of the same
 * restore to resume ('staging'). `protect`: top-level names no rename may touch (prism's own
 * files in the live data directory). A swap that cannot be completed is RESTORE_RECOVERY_FAILED,
 * naming the cause; the journal stays, so that a later run completes it once the cause is gone.
 */
export function recoverSwap(target: string, protect: readonly string[] = []): 'none' | 'completed' | 'staging' {
  const j = readJournal(target, protect);
  if (!j) return 'none';
  if (j.state === 'swapping') {
    try {
      runSwap(target, j);
      finishSwap(target, j);
    } catch (e) {
      const cause = isPrismError(e) || e instanceof Error ? e.message : String(e);
      throw new PrismError(
        'RESTORE_RECOVERY_FAILED',
        `An interrupted restore of ${j.backup} into ${target} could not be completed (rename ${j.done + 1} of ${j.steps.length}): ${cause}`,
        { journal: journalPath(target), backup: j.backup, done: j.done, steps: j.steps.length },
        { cause: e },
      );
    }
    return 'completed';
  }
  return 'staging';
}
