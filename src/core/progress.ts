/** Progress events emitted by long operations; cli renders them, tests count them. */
export type ProgressEvent =
  | { kind: 'scan'; files: number; bytes: number }
  | { kind: 'start'; totalFiles: number; totalBytes: number }
  | { kind: 'advance'; files: number; bytes: number }
  | { kind: 'finish' };

export type ProgressListener = (e: ProgressEvent) => void;

export const noProgress: ProgressListener = () => {};
