/** A path a restore could not write, and why. */
export interface RestoreProblem {
  path: string;
  code: string;
  message: string;
}

/** What one thread of a restore wrote. */
export interface FilesOutcome {
  files: number;
  bytes: number;
  skipped: number;
  problems: RestoreProblem[];
}
