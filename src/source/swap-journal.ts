import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Swapping a restored tree into place. The restore writes into a staging directory inside the
 * target; the swap is a list of renames on one filesystem, recorded in a journal first, so a
 * crash at any moment leaves a state that `recoverSwap` completes: before the swap starts the
 * old data is untouched (the staging directory is dropped); once it has started, the remaining
 * renames are made (the staging tree was complete and verified before the first rename).
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

export function readJournal(target: string): SwapJournal | undefined {
  const p = journalPath(target);
  if (!existsSync(p)) return undefined;
  return JSON.parse(readFileSync(p, 'utf8')) as SwapJournal;
}

export function writeJournal(target: string, j: SwapJournal): void {
  const p = journalPath(target);
  const tmp = `${p}.tmp`;
  writeFileSync(tmp, JSON.stringify(j));
  syncFile(tmp);
  renameSync(tmp, p);
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
  const src = join(target, from);
  const dst = join(target, to);
  if (!existsSync(src)) return; // done before a crash (or nothing to move)
  mkdirSync(dirname(dst), { recursive: true });
  renameSync(src, dst);
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
 * restore to resume ('staging').
 */
export function recoverSwap(target: string): 'none' | 'completed' | 'staging' {
  const j = readJournal(target);
  if (!j) return 'none';
  if (j.state === 'swapping') {
    runSwap(target, j);
    finishSwap(target, j);
    return 'completed';
  }
  return 'staging';
}
