import { displayName, displayText } from '../core/byte-names.js';
import { ERROR_CODES, asPrismError, type ErrorCode } from '../errors/index.js';
import { withPathSetting } from './named-paths.js';

/**
 * Everything the CLI prints goes through here (stdout for results, stderr for the rest). Text that
 * came from data (file names, comments, messages quoting them) may hold terminal control
 * sequences: every control character but newline and tab is printed escaped, so nothing printed
 * can clear the screen, move the cursor or retitle the terminal.
 */
export function out(line = ''): void {
  process.stdout.write(displayText(line) + '\n');
}

export function err(line = ''): void {
  process.stderr.write(displayText(line) + '\n');
}

/** Exact JSON (JSON.parse gives back the same strings), with DEL, C1 controls and line separators as \u escapes. */
export function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** A plain aligned table; every cell is data, shown with core/byte-names' displayName (one line, escaped). */
export function table(headers: string[], cells: string[][]): string {
  const rows = cells.map((r) => r.map(displayName));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Prints an error with its code and fix; returns the exit code. `context`: what was being done, for a system error (`running \`prism backup list\``). */
export function reportError(e: unknown, json: boolean, verbose: boolean, context?: string): number {
  const pe = withPathSetting(asPrismError(e, context));
  if (json) {
    process.stdout.write(JSON.stringify({ error: pe.toJSON() }, null, 2) + '\n');
  } else {
    printErrorLines(pe.id, pe.message, pe.fix);
    if (verbose && pe.code === 'INTERNAL' && (pe.cause as Error)?.stack) err((pe.cause as Error).stack);
  }
  return pe.exitCode;
}

/**
 * The end of a command whose report (printed already) says it failed: `Error [id] message` and the
 * fix on stderr, but not with --json (the report says it); returns the exit code.
 */
export function reportFailure(code: ErrorCode, message: string, json: boolean | undefined, fix: string = ERROR_CODES[code].fix): number {
  if (!json) printErrorLines(ERROR_CODES[code].id, message, fix);
  return ERROR_CODES[code].exitCode;
}

function printErrorLines(id: string, message: string, fix: string): void {
  err(`Error [${id}] ${message}`);
  err(`  Fix: ${fix}`);
}
