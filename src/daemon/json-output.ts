import { fstatSync } from 'node:fs';
import { systemClock } from '../core/clock.js';
import { ERROR_CODES } from '../errors/index.js';

/** pino's levels, so that these lines read like the logger's own. */
const INFO = 30;
const WARN = 40;
const ERROR = 50;
const FATAL = 60;

/**
 * The service's stdout and stderr when they are a file (logs/service.log under `prism start`, or
 * a redirect): every line written to them (the ready line, an error, a runtime warning) becomes
 * one JSON object, `{"level","time","pid","stream","msg"}`, like the logger's lines in the same
 * file. An uncaught exception is logged the same way (with its stack) before the process exits.
 * On a terminal, a pipe or the journal the output stays text.
 */
export function writeOutputAsJson(): void {
  const streams = [
    { name: 'stdout', stream: process.stdout, fd: 1 },
    { name: 'stderr', stream: process.stderr, fd: 2 },
  ] as const;
  for (const { name, stream, fd } of streams) {
    if (!isFile(fd)) continue;
    const write = stream.write.bind(stream) as (chunk: string) => boolean;
    let pending = '';
    const line = (msg: string, extra: Record<string, unknown> = {}): string => {
      const level = name === 'stdout' ? INFO : /^Error \[/.test(msg) ? ERROR : WARN;
      return JSON.stringify({ level, time: systemClock.now().getTime(), pid: process.pid, stream: name, ...extra, msg }) + '\n';
    };
    stream.write = ((chunk: string | Uint8Array, encoding?: unknown, cb?: unknown): boolean => {
      const done = [encoding, cb].find((a): a is (e?: Error | null) => void => typeof a === 'function');
      pending += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      const text = lines.map((l) => line(l)).join('');
      const ok = text === '' ? true : write(text);
      done?.(null);
      return ok;
    }) as typeof stream.write;
    process.on('exit', () => {
      if (pending !== '') write(line(pending));
      pending = '';
    });
    if (name === 'stderr') {
      process.on('uncaughtException', (e) => {
        write(line(`Error [${ERROR_CODES.INTERNAL.id}] Unexpected error: ${e?.message ?? String(e)}`, { level: FATAL, stack: e?.stack ?? null }));
        process.exit(ERROR_CODES.INTERNAL.exitCode);
      });
    }
  }
}

function isFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}
