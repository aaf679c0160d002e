import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { PrismError, type ErrorCode } from '../../errors/index.js';

export interface ToolRun {
  /** The error code of every failure (the tool missing, failing, or the input failing). */
  code: ErrorCode;
  /** What the run does, for the message: "Unpacking the base backup into /x". */
  what: string;
  /** The message when the tool is not installed. */
  missing: string;
  /** Bytes fed to the tool's standard input (it gets none otherwise). */
  input?: AsyncIterable<Buffer>;
}

/**
 * Runs an external tool to its end, feeding it `input` with back-pressure; rejects with the
 * last lines of its standard error. A tool that stops early ends the feeding (its exit code
 * tells why); an input that fails stops the tool.
 */
export function runTool(cmd: string, args: readonly string[], run: ToolRun): Promise<void> {
  const input = run.input;
  const child = spawn(cmd, args, { stdio: [input ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-16 * 1024);
  });
  const closed = new Promise<number>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(new PrismError(run.code, e.code === 'ENOENT' ? run.missing : `Cannot run ${cmd}: ${e.message}.`, { tool: cmd })),
    );
    child.on('close', (c) => resolve(c ?? 1));
  });
  const fed = (async () => {
    if (!input || !child.stdin) return;
    child.stdin.on('error', () => {}); // EPIPE when the tool stops early: its exit code tells
    try {
      for await (const chunk of input) {
        if (!child.stdin.write(chunk)) await Promise.race([new Promise((r) => child.stdin!.once('drain', r)), closed]);
        if (child.exitCode !== null) break;
      }
    } catch (e) {
      child.kill('SIGTERM');
      throw e;
    } finally {
      child.stdin.end();
    }
  })();
  return Promise.all([fed, closed]).then(([, code]) => {
    if (code !== 0) {
      const lines = stderr.trim().split('\n').slice(-4).join(' ').trim();
      throw new PrismError(run.code, `${run.what} failed (${cmd} exited with ${code}): ${lines || 'no message'}`, { tool: cmd });
    }
  });
}

/**
 * The data directory a physical restore writes whole: a new one (created with `mode`), or an
 * existing empty directory; anything else is refused, `why` saying what needs the empty one.
 */
export function prepareEmptyDir(dir: string, mode: number, why: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new PrismError('INVALID_ARGUMENT', `--data-dir ${dir} exists and is not a directory.`, { path: dir });
    if (readdirSync(dir).length > 0) throw new PrismError('INVALID_ARGUMENT', `--data-dir ${dir} is not empty; ${why}.`, { path: dir });
  } else mkdirSync(dir, { recursive: true, mode });
}
