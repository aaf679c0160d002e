import type { SingleBar } from 'cli-progress';
import { formatBytes } from '../core/format.js';
import type { ProgressListener } from '../core/progress.js';

/** A progress bar on stderr when it is a terminal; otherwise no output (and cli-progress is not loaded). */
export async function progressBar(enabled: boolean): Promise<ProgressListener> {
  if (!enabled || !process.stderr.isTTY) return () => {};
  const { default: cliProgress } = await import('cli-progress');
  let bar: SingleBar | undefined;
  let files = 0;
  let bytes = 0;
  return (e) => {
    switch (e.kind) {
      case 'start':
        if (e.totalBytes === 0) return;
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: '{bar} {percentage}% | {done}/{size} | {files}/{totalFiles} files | ETA {eta_formatted}',
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(e.totalBytes, 0, { done: formatBytes(0), size: formatBytes(e.totalBytes), files: 0, totalFiles: e.totalFiles });
        break;
      case 'advance':
        files += e.files;
        bytes += e.bytes;
        bar?.update(bytes, { done: formatBytes(bytes), files });
        break;
      case 'finish':
        bar?.stop();
        bar = undefined;
        break;
      default:
        break;
    }
  };
}
