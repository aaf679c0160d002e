import { spawn } from 'node:child_process';
import { closeSync, readFileSync, statSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidInFile, processAlive, type AppContext } from '../app/index.js';
import { logsDir } from '../config/index.js';
import { ERROR_CODES, PrismError, type ErrorCode } from '../errors/index.js';
import { checkServiceConfig } from './service.js';
import { readServiceState, removeStalePidFile, type ServiceState } from './service-state.js';
import { mkdirPrivate, openPrivate } from '../core/private-files.js';

export interface StartOptions {
  /** The command that runs the service in the foreground, e.g. [node, bin/prism.js, 'start', '--foreground']. */
  command: readonly string[];
  env: NodeJS.ProcessEnv;
  /** How long to wait for the service to report ready. */
  timeoutMs: number;
}

export interface StartResult extends ServiceState {
  /** The pid a stale pid file named (removed before starting), if there was one. */
  stale_pid: number | null;
  log_file: string;
}

export function serviceLogFile(home: string): string {
  return join(logsDir(home), 'service.log');
}

/**
 * `prism start`: runs the service as a detached process (output to logs/service.log), waits
 * until it has written the pid file and its state and (with metrics on) answers /healthz.
 */
export async function startDetached(ctx: AppContext, opts: StartOptions): Promise<StartResult> {
  const home = ctx.config.home;
  checkServiceConfig(ctx);
  const stale = removeStalePidFile(home) ?? null;
  const logFile = serviceLogFile(home);
  mkdirPrivate(logsDir(home));
  const logStart = sizeOf(logFile);
  const fd = openPrivate(logFile, 'a');
  let exitCode: number | null = null;
  const child = spawn(opts.command[0]!, opts.command.slice(1), { detached: true, stdio: ['ignore', fd, fd], env: opts.env });
  closeSync(fd);
  child.on('exit', (code, signal) => (exitCode = code ?? (signal ? 128 : 1)));
  child.on('error', () => (exitCode = ERROR_CODES.SERVICE_START_FAILED.exitCode));
  child.unref();
  const pid = child.pid ?? -1;
  const started = performance.now();
  for (;;) {
    if (exitCode !== null) throw childFailed(exitCode, logFile, logStart);
    const state = readServiceState(home);
    if (pidInFile(home) === pid && state?.pid === pid && state.stopped_at === null && (await answers(state.metrics_address))) {
      return { ...state, stale_pid: stale, log_file: logFile };
    }
    if (performance.now() - started > opts.timeoutMs) {
      if (processAlive(pid)) process.kill(pid, 'SIGTERM');
      throw new PrismError(
        'SERVICE_START_FAILED',
        `The service (pid ${pid}) did not report ready within ${Math.round(opts.timeoutMs / 1000)} s and was stopped; see ${logFile}.`,
        { pid, log: logFile },
      );
    }
    await sleep(50);
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** GET /healthz answers 200 (true when metrics are off: nothing to ask). */
function answers(address: string | null): Promise<boolean> {
  if (!address) return Promise.resolve(true);
  return new Promise((resolve) => {
    const req = get(`http://${address}/healthz`, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

/** The service exited during start-up: its own error (the `Error [CODE] …` line it wrote to the log, as JSON or text), with its code. */
function childFailed(exitCode: number, logFile: string, from: number): PrismError {
  let text = '';
  try {
    text = readFileSync(logFile).subarray(from).toString('utf8');
  } catch {
    // no log to quote
  }
  const line = text
    .split('\n')
    .map(messageOf)
    .findLast((l) => l.startsWith('Error ['));
  const m = line ? /^Error \[([A-Z0-9_]+)\] (.*)$/.exec(line) : null;
  const code = (Object.keys(ERROR_CODES) as ErrorCode[]).find((c) => ERROR_CODES[c].id === m?.[1]);
  if (code && m) return new PrismError(code, `The service did not start: ${m[2]}`, { exit_code: exitCode, log: logFile });
  return new PrismError('SERVICE_START_FAILED', `The service exited during start-up (exit code ${exitCode}); see ${logFile}.`, {
    exit_code: exitCode,
    log: logFile,
  });
}

/** The message of a log line: `msg` of a JSON line, the text of a plain one (written by older versions). */
function messageOf(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const msg = (JSON.parse(line) as { msg?: unknown }).msg;
    return typeof msg === 'string' ? msg : '';
  } catch {
    return '';
  }
}
